// Kernels as data (after the TF.js WebGPU backend): each kernel declares its WGSL and its
// bindings once; from that list we build an explicit bind group layout, compile the pipeline
// once per (kernel, constants) key, and bind resources by name. A Dispatch is the unit the
// caller records once and replays (a training plan: every step). The per-step parameters live in
// a group of their own, @group(1) @binding(0), with the same layout in every pipeline: a step sets
// that group once, with its slot's dynamic offset, instead of offsetting every dispatch's group 0
// (dynamic offsets cost Dawn's binding and its Vulkan backend host time on each dispatch that has
// them: 1-2 µs per step of the default model, measured when 7 of its 11 dispatches read the step).
import { MlpError } from '../errors.ts';
import { checkWorkgroups } from './limits.ts';

/**
 * How a binding is used. A binding's position in the kernel's list is its @group(0) @binding(i)
 * unless it names its number (see BindingDecl), except the one 'slot' binding, which is
 * @group(1) @binding(0) (declared by step_params.wgsl):
 * - 'read':    var<storage, read>
 * - 'write':   var<storage, read_write>
 * - 'uniform': var<uniform>, fixed for the dispatch's lifetime (shapes, hyperparameters)
 * - 'slot':    var<uniform>, one of many slots of a buffer, picked by a dynamic offset at encode time
 *              (the kernels' per-step parameters: one slot per step of the epoch)
 */
export type BindingKind = 'read' | 'write' | 'uniform' | 'slot';

export interface BindingDecl {
  readonly name: string;
  readonly kind: BindingKind;
  /**
   * Its @binding where that is not its position in the list: for bindings declared by an include
   * that kernels with different lists share (the optimizer's, in its own kernel and in the weight
   * grad's epilogue).
   */
  readonly binding?: number;
}

/** The @group(0) @binding number of the index-th declaration. */
function bindingNumber(decl: BindingDecl, index: number): number {
  return decl.binding ?? index;
}

export interface KernelDef {
  /** Kernel name: labels every GPU object made for it, so Dawn's errors name the kernel. */
  readonly name: string;
  /** WGSL source (a file of shaders/, imported with `?raw`). */
  readonly source: string;
  readonly bindings: readonly BindingDecl[];
  /** WGSL prepended to `source`: shared declarations (structs, functions). */
  readonly includes?: readonly string[];
  readonly entryPoint?: string;
}

export type Constants = Readonly<Record<string, number>>;

export interface CompiledKernel {
  readonly def: KernelDef;
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  /** Group 0's layout (every binding but the 'slot' one). */
  readonly layout: GPUBindGroupLayout;
}

export type Workgroups = readonly [number, number, number];

/** One recorded compute dispatch: everything needed to replay it. */
export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: Workgroups;
  /** Group 1, where the kernel has a 'slot' binding: its ring's bind group, bound with the dynamic offset of the slot being encoded. */
  readonly step: GPUBindGroup | undefined;
}

export class KernelError extends MlpError {
  constructor(message: string, options?: ErrorOptions) {
    super('GPU', message, options);
    this.name = 'KernelError';
  }
}

function layoutEntry(binding: number, kind: BindingKind): GPUBindGroupLayoutEntry {
  const visibility = GPUShaderStage.COMPUTE;
  switch (kind) {
    case 'read':
      return { binding, visibility, buffer: { type: 'read-only-storage' } };
    case 'write':
      return { binding, visibility, buffer: { type: 'storage' } };
    case 'uniform':
      return { binding, visibility, buffer: { type: 'uniform' } };
    case 'slot':
      return { binding, visibility, buffer: { type: 'uniform', hasDynamicOffset: true } };
  }
}

/** Group 1 of every pipeline with a 'slot' binding, and its bind group per ring buffer, for one device. */
interface StepGroups {
  readonly layout: GPUBindGroupLayout;
  readonly groups: WeakMap<GPUBuffer, GPUBindGroup>;
}

const STEP_GROUPS = new WeakMap<GPUDevice, StepGroups>();

/** One layout per device, so that the step group bound for one dispatch serves every pipeline after it. */
function stepGroups(device: GPUDevice): StepGroups {
  let entry = STEP_GROUPS.get(device);
  if (!entry) {
    const layout = device.createBindGroupLayout({ label: 'step params', entries: [layoutEntry(0, 'slot')] });
    entry = { layout, groups: new WeakMap() };
    STEP_GROUPS.set(device, entry);
  }
  return entry;
}

/** The bind group of a StepParams ring, bound one slot wide (the dynamic offset picks the slot); made once per buffer. */
function stepBindGroup(device: GPUDevice, ring: GPUBuffer): GPUBindGroup {
  const { layout, groups } = stepGroups(device);
  let group = groups.get(ring);
  if (!group) {
    group = device.createBindGroup({ label: ring.label, layout, entries: [{ binding: 0, resource: { buffer: ring, size: UNIFORM_SLOT_BYTES } }] });
    groups.set(ring, group);
  }
  return group;
}

function constantsKey(constants: Constants): string {
  return Object.keys(constants)
    .sort()
    .map((key) => `${key}=${constants[key]}`)
    .join(',');
}

/** The WGSL a kernel compiles: its includes, then its source. */
function codeOf(def: KernelDef): string {
  return [...(def.includes ?? []), def.source].join('\n');
}

/**
 * Compiles each kernel once per device. Keyed by content, not only by name: a shader module per
 * distinct WGSL text (kernels that share a file and its includes share it), a pipeline per (name,
 * constants, entry point, bindings, WGSL), so two kernels given one name but different code (a
 * generated variant, an edited shader in a long-lived process) never get each other's pipeline.
 */
export class KernelCache {
  private readonly compiled = new Map<string, Promise<CompiledKernel>>();
  private readonly modules = new Map<string, GPUShaderModule>();
  /** Pipelines that have run once (see warm): a driver that compiles at the first dispatch has compiled them. */
  private readonly warmed = new WeakSet<GPUComputePipeline>();
  private warmedCount = 0;

  constructor(readonly device: GPUDevice) {}

  /** Pipelines warmed so far (see warm). */
  get warmedPipelines(): number {
    return this.warmedCount;
  }

  /**
   * Makes every pipeline of `dispatches` ready to run at full speed, and waits until it is. Some
   * drivers compile a pipeline only at its first dispatch (Mesa's lavapipe: 0.3-0.9 s each, inside
   * whatever runs first); so each pipeline not warmed yet is dispatched once here, all in one pass,
   * with zero workgroups (an indirect dispatch: nothing is read or written, and Dawn does not warn),
   * before anything is timed. Elsewhere it costs one small submit. Returns how many were new.
   */
  async warm(dispatches: Iterable<Dispatch>): Promise<number> {
    const fresh = new Map<GPUComputePipeline, Dispatch>();
    for (const d of dispatches) if (!this.warmed.has(d.pipeline) && !fresh.has(d.pipeline)) fresh.set(d.pipeline, d);
    if (fresh.size === 0) return 0;
    // The arguments of an indirect dispatch of [0, 0, 0] workgroups (a new buffer is zeroed).
    const zero = this.device.createBuffer({ label: 'warm-up: zero workgroups', size: 12, usage: GPUBufferUsage.INDIRECT });
    const encoder = this.device.createCommandEncoder({ label: 'warm-up' });
    const pass = encoder.beginComputePass({ label: 'warm-up' });
    for (const d of fresh.values()) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      if (d.step) pass.setBindGroup(1, d.step, [0]);
      pass.dispatchWorkgroupsIndirect(zero, 0);
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    zero.destroy(); // freed once the submitted work is done
    await this.device.queue.onSubmittedWorkDone();
    for (const pipeline of fresh.keys()) this.warmed.add(pipeline);
    this.warmedCount += fresh.size;
    return fresh.size;
  }

  /** Pipelines compiled (or compiling) so far: what a search reports to show pipelines are reused. */
  get size(): number {
    return this.compiled.size;
  }

  /** Shader modules made so far (one per distinct WGSL text). */
  get moduleCount(): number {
    return this.modules.size;
  }

  compile(def: KernelDef, constants: Constants = {}): Promise<CompiledKernel> {
    const suffix = constantsKey(constants);
    const label = suffix ? `${def.name}[${suffix}]` : def.name;
    const code = codeOf(def);
    const key = [label, def.entryPoint ?? 'main', def.bindings.map((b, i) => `${b.name}:${b.kind}@${bindingNumber(b, i)}`).join(','), code].join('\u0000');
    let entry = this.compiled.get(key);
    if (!entry) {
      entry = this.build(def, constants, label, code);
      this.compiled.set(key, entry);
    }
    return entry;
  }

  private module(def: KernelDef, code: string): GPUShaderModule {
    let module = this.modules.get(code);
    if (!module) {
      module = this.device.createShaderModule({ label: def.name, code });
      this.modules.set(code, module);
    }
    return module;
  }

  private async build(def: KernelDef, constants: Constants, label: string, code: string): Promise<CompiledKernel> {
    const module = this.module(def, code);
    const slots = def.bindings.filter((b) => b.kind === 'slot').length;
    if (slots > 1) throw new KernelError(`kernel ${label} declares ${slots} 'slot' bindings; group 1 holds one`);
    const layout = this.device.createBindGroupLayout({
      label,
      entries: def.bindings.flatMap((binding, index) => (binding.kind === 'slot' ? [] : [layoutEntry(bindingNumber(binding, index), binding.kind)])),
    });
    const bindGroupLayouts = slots ? [layout, stepGroups(this.device).layout] : [layout];
    try {
      const pipeline = await this.device.createComputePipelineAsync({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts }),
        compute: { module, entryPoint: def.entryPoint ?? 'main', constants: { ...constants } },
      });
      return { def, label, pipeline, layout };
    } catch (error) {
      const info = await module.getCompilationInfo();
      const messages = info.messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`);
      throw new KernelError(
        `kernel ${label} failed to compile: ${(error as Error).message}` +
          (messages.length ? `\n${messages.join('\n')}` : ''),
      );
    }
  }
}

export type BindingResource = GPUBuffer | GPUBufferBinding;

/** Where a binding starts in its buffer, in bytes (a whole buffer starts at 0). */
export function bindingOffset(resource: BindingResource): number {
  return 'buffer' in resource ? (resource.offset ?? 0) : 0;
}

/** f32 (or u32) elements a binding holds. */
export function bindingElements(resource: BindingResource): number {
  if ('buffer' in resource) return (resource.size ?? resource.buffer.size - (resource.offset ?? 0)) / 4;
  return resource.size / 4;
}

/** Throws unless `resource` holds at least `elements` f32 (or u32). */
export function checkBinding(label: string, name: string, resource: BindingResource, elements: number): void {
  const available = bindingElements(resource);
  if (available < elements) {
    throw new KernelError(`${label}: binding ${name} holds ${available} f32, needs ${elements}`);
  }
}

/** Binds resources by binding name (every declared binding must be given, and nothing else). */
export function bindKernel(
  device: GPUDevice,
  kernel: CompiledKernel,
  resources: Readonly<Record<string, BindingResource>>,
  workgroups: Workgroups,
  label = kernel.label,
): Dispatch {
  const names = kernel.def.bindings.map((b) => b.name);
  const extra = Object.keys(resources).filter((name) => !names.includes(name));
  const missing = names.filter((name) => !(name in resources));
  if (extra.length || missing.length) {
    throw new KernelError(
      `${label}: bindings do not match the kernel's declaration` +
        (missing.length ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length ? `; unknown: ${extra.join(', ')}` : ''),
    );
  }
  checkWorkgroups(device, label, workgroups);
  let step: GPUBindGroup | undefined;
  const entries: GPUBindGroupEntry[] = [];
  kernel.def.bindings.forEach((binding, index) => {
    const resource = resources[binding.name];
    if (binding.kind !== 'slot') {
      entries.push({ binding: bindingNumber(binding, index), resource: resource instanceof GPUBuffer ? { buffer: resource } : resource });
    } else if (resource instanceof GPUBuffer) {
      step = stepBindGroup(device, resource);
    } else {
      throw new KernelError(`${label}: the '${binding.name}' binding takes a whole StepParams ring buffer (a dynamic offset picks its slot)`);
    }
  });
  const bindGroup = device.createBindGroup({ label, layout: kernel.layout, entries });
  return { label, pipeline: kernel.pipeline, bindGroup, workgroups, step };
}

/** Bytes between uniform slots: the minimum uniform dynamic-offset alignment WebGPU guarantees. */
export const UNIFORM_SLOT_BYTES = 256;

const SLOT_OFFSETS: number[][] = [];

/** Encodes recorded dispatches into a pass; `slot` selects the uniform slot their 'slot' binding reads. */
export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[], slot = 0): void {
  // One offsets array per slot, made once: encoding a step allocates nothing.
  const dynamicOffsets = (SLOT_OFFSETS[slot] ??= [slot * UNIFORM_SLOT_BYTES]);
  // Group 1 stays bound across setPipeline (every pipeline's group 1 has the one step layout), so
  // the step's slot is bound once, at its first dispatch that reads it, not at each.
  let step: GPUBindGroup | undefined;
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    if (d.step && d.step !== step) {
      step = d.step;
      pass.setBindGroup(1, step, dynamicOffsets);
    }
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

/**
 * Encodes `dispatches` `repetitions` times in one compute pass (reading uniform slot `slot`) and
 * submits it; the caller waits (onSubmittedWorkDone, or a readback) as it needs.
 */
export function submitDispatches(
  device: GPUDevice,
  dispatches: readonly Dispatch[],
  options: { readonly label?: string; readonly repetitions?: number; readonly slot?: number } = {},
): void {
  const { label = 'dispatches', repetitions = 1, slot = 0 } = options;
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  for (let i = 0; i < repetitions; i++) encodeDispatches(pass, dispatches, slot);
  pass.end();
  device.queue.submit([encoder.finish()]);
}
