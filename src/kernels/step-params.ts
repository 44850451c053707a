// Host side of shaders/step_params.wgsl: a ring of StepParams slots, one per step of an epoch (or
// batch of an evaluation pass), written with one queue.writeBuffer. Nothing is rebuilt per step.
import stepParamsWgsl from '../../shaders/step_params.wgsl?raw';
import { UNIFORM_SLOT_BYTES } from '../gpu/program.ts';

export { stepParamsWgsl };

export interface StepParams {
  /** Optimizer step, 1-based, counted across epochs. */
  t: number;
  batchStart: number;
  rows: number;
  record: number;
  lr: number;
  /** Adam's β1 and β2, for the bias corrections 1 − β^t (computed here in f64). */
  beta1?: number;
  beta2?: number;
}

export class StepParamsRing {
  readonly buffer: GPUBuffer;
  private readonly staging: ArrayBuffer;
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;

  constructor(
    private readonly device: GPUDevice,
    readonly slots: number,
    label = 'step params',
  ) {
    const bytes = slots * UNIFORM_SLOT_BYTES;
    this.buffer = device.createBuffer({ label, size: bytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.staging = new ArrayBuffer(bytes);
    this.u32 = new Uint32Array(this.staging);
    this.f32 = new Float32Array(this.staging);
  }

  set(slot: number, p: StepParams): void {
    if (slot < 0 || slot >= this.slots) throw new RangeError(`step slot ${slot} outside 0..${this.slots - 1}`);
    const base = (slot * UNIFORM_SLOT_BYTES) / 4;
    this.u32[base + 0] = p.t;
    this.u32[base + 1] = p.batchStart;
    this.u32[base + 2] = p.rows;
    this.u32[base + 3] = p.record;
    this.f32[base + 4] = p.lr;
    this.f32[base + 5] = 1 / p.rows;
    this.f32[base + 6] = 1 - Math.pow(p.beta1 ?? 0, p.t);
    this.f32[base + 7] = 1 - Math.pow(p.beta2 ?? 0, p.t);
  }

  /** Uploads slots [0, count): one small write per submit. */
  flush(count = this.slots): void {
    this.device.queue.writeBuffer(this.buffer, 0, this.staging, 0, count * UNIFORM_SLOT_BYTES);
  }

  /** Uploads slots [first, first + count). */
  flushRange(first: number, count: number): void {
    this.device.queue.writeBuffer(this.buffer, first * UNIFORM_SLOT_BYTES, this.staging, first * UNIFORM_SLOT_BYTES, count * UNIFORM_SLOT_BYTES);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
