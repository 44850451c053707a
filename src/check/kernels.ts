// Every kernel against the CPU reference, on whatever adapter the caller has: what the kernel tests
// (test/kernels/) check in CI, made a function so that `webgpu-mlp check` can run it on a user's own
// driver. Inputs are seeded, sizes awkward (B = 37, IN = 100, OUT = 33: no multiple of any tile;
// IN = 33: W's rows not 16-byte aligned), the tolerances the tests use (./tolerances.ts). Each case
// reports its worst difference beside its tolerance; a case that fails to compile or run reports
// the error. Matrix products run in every variant the device supports, so that a variant that
// computes wrongly on this adapter can be kept from being chosen there (src/tune/).
import { readFloat32, readUint32 } from '../gpu/buffers.ts';
import { submitDispatches, type Dispatch } from '../gpu/program.ts';
import { activationBackward, activationForward } from '../kernels/activation.ts';
import { biasGrad } from '../kernels/bias-grad.ts';
import type { KernelContext } from '../kernels/context.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { gatherBatch } from '../kernels/gather.ts';
import { denseLoss, denseLossStep, denseLossStepFits, LOSS_RECORD_BYTES, lossBatch } from '../kernels/loss.ts';
import { MATMUL_VARIANTS, matmulForward, matmulInputGrad, matmulVariantSupported, matmulWeightGrad, type MatmulVariantName } from '../kernels/matmul.ts';
import { optimizerEpilogue, optimizerUpdate } from '../kernels/optimizer.ts';
import { StepParamsRing } from '../kernels/step-params.ts';
import { OPTIMIZERS, optimizerConfig, optimizerStateSlots } from '../model/optimizer.ts';
import type { ActivationKind } from '../model/spec.ts';
import * as ref from '../reference/index.ts';
import { Random } from '../util/random.ts';
import { measure } from './compare.ts';
import {
  ACTIVATION_BACKWARD,
  columnSumTolerance,
  DROPOUT_SCALED,
  EXACT,
  fusedForwardTolerance,
  fusedInputGradTolerance,
  LOSS_SUM,
  lossGradTolerance,
  matmulTolerance,
  optimizerTolerance,
  STEP_PARAMS,
  TRANSCENDENTAL,
  type Tolerance,
} from './tolerances.ts';

/** One quantity of one case (a kernel's, or a training step's), against the CPU reference. */
export interface KernelCheck {
  /** The kernel family: 'matmul', 'gather', 'loss', 'optimizer', 'dropout', 'bias_grad', 'activation', 'training step'. */
  readonly kernel: string;
  /** A matmul variant ('subgroup', ...), or '' where the kernel has one form. */
  readonly variant: string;
  /** The case: form, shape, options. */
  readonly what: string;
  /** What was compared: 'output', 'db', 'loss sum', 'params', ... */
  readonly quantity: string;
  readonly maxAbsDiff: number;
  /** Worst |diff| / (atol + rtol·|ref|): ≤ 1 passes. */
  readonly worstRatio: number;
  readonly tolerance: Tolerance;
  readonly passed: boolean;
  /** Set when the case could not run (a compile or validation error): it failed. */
  readonly error?: string;
}

type Comparison = readonly [quantity: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance];

/** Runs `dispatches` in one pass (step slot `slot`) and waits for them. */
async function run(device: GPUDevice, dispatches: readonly Dispatch[], slot = 0): Promise<void> {
  submitDispatches(device, dispatches, { label: 'check', slot });
  await device.queue.onSubmittedWorkDone();
}

/** Runs one case inside error scopes (each case frees what it allocated) and turns its comparisons into results. */
export async function checkCase(
  ctx: KernelContext,
  head: { readonly kernel: string; readonly variant?: string; readonly what: string },
  body: () => Promise<readonly Comparison[]>,
): Promise<KernelCheck[]> {
  const base = { kernel: head.kernel, variant: head.variant ?? '', what: head.what };
  const { device } = ctx;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let comparisons: readonly Comparison[] = [];
  let failure: string | undefined;
  try {
    comparisons = await body();
  } catch (error) {
    failure = (error as Error).message;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  failure ??= validation?.message ?? oom?.message;
  if (failure !== undefined) {
    return [{ ...base, quantity: 'output', maxAbsDiff: NaN, worstRatio: Infinity, tolerance: EXACT, passed: false, error: failure.split('\n')[0] }];
  }
  return comparisons.map(([quantity, actual, expected, tolerance]) => {
    const m = measure(actual, expected, tolerance);
    return { ...base, quantity, maxAbsDiff: m.maxAbsDiff, worstRatio: m.worstRatio, tolerance, passed: m.mismatches === 0 };
  });
}

const random = (n: number, label: string, low = -1, high = 1) => new Random(1234, `check ${label}`).fill(n, (rng) => rng.uniform(low, high));
const labels = (n: number, classes: number, label: string) => {
  const rng = new Random(1234, `check labels ${label}`);
  return Uint32Array.from({ length: n }, () => rng.below(classes));
};

/** A StepParams ring of one slot; the arena frees it. */
function stepRing(ctx: KernelContext, params: { t: number; batchStart?: number; rows: number; record?: number; lr?: number; beta1?: number; beta2?: number }): GPUBuffer {
  const ring = new StepParamsRing(ctx.device, 1, 'check step');
  ctx.arena.adopt(ring.buffer);
  ring.set(0, { batchStart: 0, record: 0, lr: 0, ...params });
  ring.flush();
  return ring.buffer;
}

const DROPOUT_T = 5;
const AWKWARD = { B: 37, IN: 100, OUT: 33 };
const UNALIGNED = { B: 37, IN: 33, OUT: 100 };
/** OUT a multiple of 4: the grads read dY as vec4 in the subgroup kernels (AWKWARD's take the scalar path). */
const ALIGNED = { B: 37, IN: 100, OUT: 36 };

/** The three products of a dense layer, with and without fused dropout and bias sums, in one matmul variant. */
export async function checkMatmulVariant(ctx: KernelContext, variant: MatmulVariantName): Promise<KernelCheck[]> {
  const { device, arena } = ctx;
  const results: KernelCheck[] = [];
  const head = (what: string) => ({ kernel: 'matmul', variant, what });
  const shape = (s: { B: number; IN: number; OUT: number }) => `${s.B}x${s.IN}->${s.OUT}`;
  const data = (s: { B: number; IN: number; OUT: number }, activation: ActivationKind) => ({
    x: random(s.B * s.IN, `x ${shape(s)}`),
    w: random(s.OUT * s.IN, `w ${shape(s)}`),
    b: random(s.OUT, `b ${shape(s)}`),
    dy: random(s.B * s.OUT, `dy ${shape(s)}`),
    a: Float32Array.from(ref.activationForward(activation, random(s.B * s.IN, `z ${shape(s)}`))),
  });
  for (const [s, activation, rate] of [[AWKWARD, 'relu', 0], [UNALIGNED, 'tanh', 0], [AWKWARD, 'relu', 0.3]] as const) {
    const { B, IN, OUT } = s;
    const dropout = rate > 0 ? { seed: 7, layer: 1, rate } : undefined;
    results.push(
      ...(await checkCase(ctx, head(`forward ${shape(s)} ${activation}${dropout ? ` + dropout ${rate}` : ''}`), async () => {
        const d = data(s, activation);
        const y = arena.tensor('y', B * OUT * 4);
        const step = dropout ? stepRing(ctx, { t: DROPOUT_T, rows: B }) : undefined;
        const io = { x: arena.tensorWithData('x', d.x), w: arena.tensorWithData('w', d.w), b: arena.tensorWithData('b', d.b), y, step };
        await run(device, await matmulForward(ctx, io, { B, IN, OUT, activation, dropout }, variant));
        let expected = ref.matmulForward(d.x, d.w, d.b, B, IN, OUT, activation);
        if (dropout) expected = ref.dropoutForward(expected, dropout.seed, DROPOUT_T, dropout.layer, rate);
        return [['output', await readFloat32(device, y), expected, dropout ? fusedForwardTolerance(IN, 1 - rate) : matmulTolerance(IN)]];
      })),
    );
  }
  for (const [s, activation, rate] of [[AWKWARD, 'tanh', 0], [AWKWARD, 'sigmoid', 0.3], [ALIGNED, 'relu', 0.3]] as const) {
    const { B, IN, OUT } = s;
    const dropout = rate > 0 ? { seed: 7, layer: 0, rate } : undefined;
    results.push(
      ...(await checkCase(ctx, head(`input grad ${B}x${IN}<-${OUT} ${activation}${dropout ? ` + dropout ${rate}` : ''}`), async () => {
        const d = data(s, activation);
        // With dropout the kernel is given H (what the fused forward of the layer below stores).
        const h = dropout ? Float32Array.from(ref.dropoutForward(d.a, dropout.seed, DROPOUT_T, dropout.layer, rate)) : d.a;
        const dx = arena.tensor('dx', B * IN * 4);
        const step = dropout ? stepRing(ctx, { t: DROPOUT_T, rows: B }) : undefined;
        const io = { dy: arena.tensorWithData('dy', d.dy), w: arena.tensorWithData('w', d.w), a: arena.tensorWithData('a', h), dx, step };
        await run(device, await matmulInputGrad(ctx, io, { B, IN, OUT, activation, dropout }, variant));
        let expected = ref.matmulInputGrad(d.dy, d.w, d.a, B, IN, OUT, activation);
        if (dropout) expected = ref.dropoutBackward(expected, dropout.seed, DROPOUT_T, dropout.layer, rate);
        return [['output', await readFloat32(device, dx), expected, dropout ? fusedInputGradTolerance(OUT, 1 - rate) : matmulTolerance(OUT)]];
      })),
    );
  }
  for (const s of [AWKWARD, ALIGNED]) {
    const { B, IN, OUT } = s;
    results.push(
      ...(await checkCase(ctx, head(`weight grad ${OUT}x${IN} over ${B} + bias`), async () => {
        const d = data(s, 'identity');
        const dw = arena.tensor('dw', OUT * IN * 4);
        const db = arena.tensor('db', OUT * 4);
        await run(device, await matmulWeightGrad(ctx, { dy: arena.tensorWithData('dy', d.dy), x: arena.tensorWithData('x', d.x), dw, db }, { B, IN, OUT }, variant));
        return [
          ['dw', await readFloat32(device, dw), ref.matmulWeightGrad(d.dy, d.x, B, IN, OUT), matmulTolerance(B)],
          ['db', await readFloat32(device, db), ref.biasGrad(d.dy, B, OUT), matmulTolerance(B)],
        ];
      })),
    );
  }
  results.push(...(await checkFusedStep(ctx, variant)));
  return results;
}

/**
 * The weight grad with Adam's step in its epilogue (how GPU adapters train): W and b at unaligned
 * offsets of a flat buffer, stepped from a mid-run state (t = 3), against the reference optimizer
 * applied to the gradients the same variant stores when not fused; everything else must stay as it was.
 */
async function checkFusedStep(ctx: KernelContext, variant: MatmulVariantName): Promise<KernelCheck[]> {
  const { device, arena } = ctx;
  const { B, IN, OUT } = ALIGNED;
  const [weightsAt, biasAt, count] = [70, 70 + OUT * IN + 13, 70 + OUT * IN + 13 + OUT + 29];
  const config = optimizerConfig('adam', { weightDecay: 0.05 });
  return checkCase(ctx, { kernel: 'matmul', variant, what: `weight grad ${OUT}x${IN} over ${B} + bias + adam step` }, async () => {
    const inside = (i: number) => (i >= weightsAt && i < weightsAt + OUT * IN) || (i >= biasAt && i < biasAt + OUT);
    const initial = [random(count, 'fused step params'), ...[0, 1].map((s) => random(count, `fused step state ${s}`).map(Math.abs))];
    const [params, ...state] = initial.map((values, i) => arena.tensorWithData(`fused step ${i}`, values));
    const dy = arena.tensorWithData('dy', random(B * OUT, 'fused step dy'));
    const x = arena.tensorWithData('x', random(B * IN, 'fused step x'));
    const [dw, db] = [arena.tensor('dw', OUT * IN * 4), arena.tensor('db', OUT * 4)];
    const [t, lr] = [3, 0.01];
    const io = { params, state, status: arena.tensor('status', 16), step: stepRing(ctx, { t, rows: B, lr, beta1: config.beta1, beta2: config.beta2 }) };
    const update = { optimizer: optimizerEpilogue(ctx, io, { count, weightsEnd: biasAt, config }), weightsAt, biasAt };
    await run(device, [
      ...(await matmulWeightGrad(ctx, { dy, x, dw, db }, { B, IN, OUT }, variant)),
      ...(await matmulWeightGrad(ctx, { dy, x, dw, db, update }, { B, IN, OUT }, variant)),
    ]);
    const grads = new Float32Array(count);
    grads.set(await readFloat32(device, dw), weightsAt);
    grads.set(await readFloat32(device, db), biasAt);
    const expected = initial.map((values) => Float64Array.from(values));
    ref.optimizerUpdate(config, expected[0], grads, expected.slice(1), Math.fround(lr), t, biasAt);
    const got = await Promise.all([params, ...state].map((buffer) => readFloat32(device, buffer)));
    return steppedLayer(got, initial, expected, inside, (reference) => optimizerTolerance(reference, 1));
  });
}

/**
 * A layer stepped in place inside flat buffers (params, then each state array): its elements against
 * the reference step's, and a count of the elements outside it that moved (none may).
 */
function steppedLayer(
  got: readonly Float32Array[],
  initial: readonly Float32Array[],
  expected: readonly Float64Array[],
  inside: (i: number) => boolean,
  tolerance: (reference: readonly number[]) => Tolerance,
): Comparison[] {
  const layer = (values: ArrayLike<number>) => Array.from(values).filter((_, i) => inside(i));
  const comparisons: Comparison[] = got.map((values, k) => [k === 0 ? 'params' : `state ${k - 1}`, layer(values), layer(expected[k]), tolerance(layer(expected[k]))]);
  const moved = got.reduce((n, values, k) => n + values.filter((v, i) => !inside(i) && v !== initial[k][i]).length, 0);
  return [...comparisons, ['elements outside the layer changed', [moved], [0], EXACT]];
}

/** denseLossStep (see checkOtherKernels), below a ReLU layer with dropout 0.3, from a mid-run Adam state (t = 3). */
async function checkDenseLossStep(ctx: KernelContext, shape: { B: number; IN: number; C: number; rows: number }): Promise<KernelCheck[]> {
  const { device, arena } = ctx;
  const { B, IN, C, rows } = shape;
  const config = optimizerConfig('adam', { weightDecay: 0.05 });
  const [t, lr, rate] = [3, 0.01, 0.3];
  const dropout = { seed: 9, layer: 1, rate };
  // W and b where the parameter layout would put them (64-element aligned); b's padding to 4 zero.
  const [weightsAt, biasAt] = [64, 64 + 64 * Math.ceil((C * IN) / 64)];
  const [bEnd, count] = [biasAt + 4 * Math.ceil(C / 4), biasAt + 64];
  const inside = (i: number) => (i >= weightsAt && i < weightsAt + C * IN) || (i >= biasAt && i < bEnd);
  return checkCase(ctx, { kernel: 'loss', what: `ce train with the output layer ${B}x${IN}->${C} (${rows} rows), its backward (relu + dropout ${rate} below) and adam step` }, async () => {
    const initial = [random(count, 'loss step params', -0.5, 0.5), ...[0, 1].map((s) => random(count, `loss step state ${s}`).map(Math.abs))];
    for (const values of initial) values.fill(0, biasAt + C, bEnd);
    const [params, ...state] = initial.map((values, i) => arena.tensorWithData(`loss step ${i}`, values));
    const a = ref.activationForward('relu', random(B * IN, 'loss step z', -2, 2));
    const x = Float32Array.from(ref.dropoutForward(a, dropout.seed, t, dropout.layer, rate));
    const y = labels(B, C, 'loss step');
    const step = stepRing(ctx, { t, rows, lr, beta1: config.beta1, beta2: config.beta2 });
    const status = arena.tensor('status', 16);
    const io = {
      logits: arena.tensor('logits', B * C * 4),
      labels: arena.tensorWithData('labels', y),
      records: arena.tensor('records', LOSS_RECORD_BYTES),
      status,
      grad: arena.tensor('grad', B * C * 4),
      step,
      x: arena.tensorWithData('x', x),
      dz: arena.tensor('dz', B * IN * 4),
    };
    const optimizer = optimizerEpilogue(ctx, { params, state, status, step }, { count, weightsEnd: biasAt, config });
    await run(device, [await denseLossStep(ctx, 'ce', io, { B, C, IN, activation: 'relu', dropout }, { optimizer, weightsAt, biasAt })]);
    const [logits, grad, record] = [await readFloat32(device, io.logits), await readFloat32(device, io.grad), await readFloat32(device, io.records)];
    const w = initial[0].subarray(weightsAt, weightsAt + C * IN);
    const expected = ref.lossFor('ce', logits, y, B, C, rows);
    const dz = ref.dropoutBackward(ref.matmulInputGrad(grad, w, a, B, IN, C, 'relu'), dropout.seed, t, dropout.layer, rate);
    const comparisons: Comparison[] = [
      ['logits', logits.subarray(0, rows * C), ref.matmulForward(x, w, initial[0].subarray(biasAt, biasAt + C), B, IN, C, 'identity').subarray(0, rows * C), matmulTolerance(IN)],
      ['loss sum', [record[0]], [expected.lossSum], LOSS_SUM],
      ['correct', [(await readUint32(device, io.records))[1]], [expected.correct], EXACT],
      ['grad', grad, expected.grad, lossGradTolerance(rows)],
      ['dz', await readFloat32(device, io.dz), dz, fusedInputGradTolerance(C, 1 - rate)],
    ];
    const grads = new Float64Array(count);
    grads.set(ref.matmulWeightGrad(grad, x, B, IN, C), weightsAt);
    grads.set(ref.biasGrad(grad, B, C), biasAt);
    const stepped = initial.map((values) => Float64Array.from(values));
    ref.optimizerUpdate(config, stepped[0], grads, stepped.slice(1), Math.fround(lr), t, biasAt);
    const got = await Promise.all([params, ...state].map((buffer) => readFloat32(device, buffer)));
    // From the reference gradient: the whole-step tolerance (dW's f32 sums, then the step's rounding).
    return [...comparisons, ...steppedLayer(got, initial, stepped, inside, () => STEP_PARAMS.adam)];
  });
}

/** The matmul variants this device supports (the subgroup kernel needs subgroups of 8). */
export function supportedMatmulVariants(device: GPUDevice): MatmulVariantName[] {
  return MATMUL_VARIANTS.filter((variant) => matmulVariantSupported(device, variant));
}

/** Every kernel but the matrix products: gather, loss, optimizer, dropout, bias gradient, activations. */
export async function checkOtherKernels(ctx: KernelContext): Promise<KernelCheck[]> {
  const { device, arena } = ctx;
  const results: KernelCheck[] = [];

  // Gather: u8 images (/ 255) and f32 table rows through the input affine, rows past `rows` zero.
  for (const features of ['u8', 'f32'] as const) {
    const N = 50;
    const IN = features === 'u8' ? 100 : 33;
    const [B, rows, batchStart] = [37, 30, 11];
    results.push(
      ...(await checkCase(ctx, { kernel: 'gather', what: `${features} ${N}x${IN}, batch ${B} (${rows} rows)` }, async () => {
        const rng = new Random(7, `check gather ${features}`);
        const values = features === 'u8' ? Uint8Array.from({ length: N * IN }, () => rng.below(256)) : Float32Array.from({ length: N * IN }, () => rng.uniform(-5, 5));
        const y = labels(N, 10, 'gather');
        const order = new Random(7, 'check order').permutation(N);
        const affine = { mean: random(IN, 'mean'), scale: random(IN, 'scale', 0.5, 2) };
        const affineValues = new Float32Array(2 * IN);
        affineValues.set(affine.mean);
        affineValues.set(affine.scale, IN);
        const x = arena.tensor('x', B * IN * 4);
        const yOut = arena.tensor('y', B * 4);
        const io = {
          features: arena.tensorWithData('features', values),
          labels: arena.tensorWithData('labels', y),
          indices: arena.tensorWithData('indices', order),
          x,
          y: yOut,
          step: stepRing(ctx, { t: 1, batchStart, rows }),
          ...(features === 'f32' ? { affine: arena.tensorWithData('affine', affineValues) } : {}),
        };
        await run(device, await gatherBatch(ctx, io, { B, IN, features, N }));
        const expected = ref.gatherBatch(values, y, order, batchStart, rows, B, IN, features === 'f32' ? affine : undefined);
        return [
          // The reference's b / 255 in float64, rounded as the GPU's f32 division is (correctly).
          ['x', await readFloat32(device, x), Float32Array.from(expected.x), EXACT],
          ['labels', await readUint32(device, yOut), expected.y, EXACT],
        ];
      })),
    );
  }

  // Loss: cross-entropy and MSE over a batch with padding rows, training (gradient) and evaluation (predictions).
  for (const loss of ['ce', 'mse'] as const) {
    for (const mode of ['train', 'eval'] as const) {
      const [B, C, rows] = [37, 10, 33];
      results.push(
        ...(await checkCase(ctx, { kernel: 'loss', what: `${loss} ${mode} ${B}x${C} (${rows} rows)` }, async () => {
          const logits = random(B * C, `logits ${loss}`, -4, 4);
          const y = labels(B, C, `loss ${loss}`);
          const io = {
            logits: arena.tensorWithData('logits', logits),
            labels: arena.tensorWithData('labels', y),
            records: arena.tensor('records', LOSS_RECORD_BYTES),
            step: stepRing(ctx, { t: 1, rows }),
          };
          const grad = arena.tensor('grad', B * C * 4);
          const predictions = arena.tensor('predictions', B * 4);
          const dispatch =
            mode === 'train'
              ? await lossBatch(ctx, loss, { ...io, grad, status: arena.tensor('status', 4) }, { B, C })
              : await lossBatch(ctx, loss, { ...io, predictions }, { B, C, mode: 'eval' });
          await run(device, [dispatch]);
          const expected = ref.lossFor(loss, logits, y, B, C, rows);
          const record = await readFloat32(device, io.records);
          const correct = (await readUint32(device, io.records))[1];
          const comparisons: Comparison[] = [
            ['loss sum', [record[0]], [expected.lossSum], LOSS_SUM],
            ['correct', [correct], [expected.correct], EXACT],
          ];
          if (mode === 'train') comparisons.push(['grad', await readFloat32(device, grad), expected.grad, lossGradTolerance(rows)]);
          else {
            const argmax = Array.from({ length: rows }, (_, r) => ref.argmaxRow(logits, r, C));
            comparisons.push(['predictions', (await readUint32(device, predictions)).subarray(0, rows), argmax, EXACT]);
          }
          return comparisons;
        })),
      );
    }
  }

  // The training loss with the output layer in front: the logits it writes for the valid rows
  // against the reference dense layer, then the loss of those very logits as above.
  for (const loss of ['ce', 'mse'] as const) {
    const [B, IN, C, rows] = [37, 36, 10, 33];
    results.push(
      ...(await checkCase(ctx, { kernel: 'loss', what: `${loss} train with the output layer ${B}x${IN}->${C} (${rows} rows)` }, async () => {
        const [x, w, b] = [random(B * IN, `dense x ${loss}`), random(C * IN, `dense w ${loss}`, -0.5, 0.5), random(C, `dense b ${loss}`, -0.5, 0.5)];
        const y = labels(B, C, `dense loss ${loss}`);
        const io = {
          logits: arena.tensor('logits', B * C * 4),
          labels: arena.tensorWithData('labels', y),
          records: arena.tensor('records', LOSS_RECORD_BYTES),
          status: arena.tensor('status', 4),
          grad: arena.tensor('grad', B * C * 4),
          step: stepRing(ctx, { t: 1, rows }),
          x: arena.tensorWithData('x', x),
          w: arena.tensorWithData('w', w),
          b: arena.tensorWithData('b', b),
        };
        await run(device, [await denseLoss(ctx, loss, io, { B, C, IN })]);
        const logits = await readFloat32(device, io.logits);
        const expected = ref.lossFor(loss, logits, y, B, C, rows);
        const record = await readFloat32(device, io.records);
        return [
          ['logits', logits.subarray(0, rows * C), ref.matmulForward(x, w, b, B, IN, C, 'identity').subarray(0, rows * C), matmulTolerance(IN)],
          ['loss sum', [record[0]], [expected.lossSum], LOSS_SUM],
          ['correct', [(await readUint32(device, io.records))[1]], [expected.correct], EXACT],
          ['grad', await readFloat32(device, io.grad), expected.grad, lossGradTolerance(rows)],
        ];
      })),
    );
  }

  // The training loss with the output layer's forward, backward and Adam step (how GPU adapters train
  // the output layer, where the device has the storage bindings): as above, then dz against the
  // reference input grad of the kernel's own gradient (the layer below: ReLU and dropout), and W, b
  // and the state against the reference step from the reference dW = gᵀ·x, db = Σ g.
  const [B, IN, C, rows] = [37, 36, 10, 33];
  if (denseLossStepFits(device, IN, C, 2)) results.push(...(await checkDenseLossStep(ctx, { B, IN, C, rows })));

  // Optimizers: three steps with weight decay, weights ending mid-buffer as the biases follow them.
  for (const kind of OPTIMIZERS) {
    const [count, weightsEnd, steps] = [1000, 640, 3];
    const config = optimizerConfig(kind, { weightDecay: 0.05 });
    results.push(
      ...(await checkCase(ctx, { kernel: 'optimizer', what: `${kind}, ${count} parameters, ${steps} steps, weight decay 0.05` }, async () => {
        const params = random(count, `params ${kind}`);
        const grads = Array.from({ length: steps }, (_, k) => random(count, `grads ${kind} ${k}`));
        const lr = 0.01;
        const ring = new StepParamsRing(device, steps, 'check optimizer steps');
        arena.adopt(ring.buffer);
        for (let k = 0; k < steps; k++) ring.set(k, { t: k + 1, batchStart: 0, rows: 1, record: 0, lr, beta1: config.beta1, beta2: config.beta2 });
        ring.flush();
        const paramsBuffer = arena.tensorWithData('params', params);
        const gradBuffers = grads.map((g, k) => arena.tensorWithData(`grads ${k}`, g));
        const status = arena.tensor('status', 4);
        const state = Array.from({ length: optimizerStateSlots(kind) }, (_, s) => arena.tensor(`state ${s}`, count * 4));
        for (let k = 0; k < steps; k++) {
          const dispatch = await optimizerUpdate(ctx, { params: paramsBuffer, grads: gradBuffers[k], state, status, step: ring.buffer }, { count, weightsEnd, config });
          await run(device, [dispatch], k);
        }
        const cpuParams = Float64Array.from(params);
        const cpuState = ref.initialOptimizerState(config, count);
        for (let k = 0; k < steps; k++) ref.optimizerUpdate(config, cpuParams, grads[k], cpuState, Math.fround(lr), k + 1, weightsEnd);
        const comparisons: Comparison[] = [['params', await readFloat32(device, paramsBuffer), cpuParams, optimizerTolerance(cpuParams, steps)]];
        for (let s = 0; s < state.length; s++) comparisons.push([`state ${s}`, await readFloat32(device, state[s]), cpuState[s], optimizerTolerance(cpuState[s], steps)]);
        return comparisons;
      })),
    );
  }

  // Dropout as separate dispatches (the unfused plan): forward into another buffer, backward in place.
  for (const direction of ['forward', 'backward'] as const) {
    const [count, seed, layer, rate, t] = [37 * 33, 11, 2, 0.3, 9];
    results.push(
      ...(await checkCase(ctx, { kernel: 'dropout', what: `${direction}${direction === 'backward' ? ' (in place)' : ''}, ${count} elements, rate ${rate}` }, async () => {
        const input = random(count, `dropout ${direction}`, 0.5, 1.5);
        const inBuffer = arena.tensorWithData('in', input);
        const outBuffer = direction === 'backward' ? inBuffer : arena.tensor('out', count * 4);
        const io = { input: inBuffer, output: outBuffer, step: stepRing(ctx, { t, rows: 1 }) };
        const dims = { count, seed, layer, rate };
        await run(device, [direction === 'forward' ? await dropoutForward(ctx, io, dims) : await dropoutBackward(ctx, io, dims)]);
        const expected = direction === 'forward' ? ref.dropoutForward(input, seed, t, layer, rate) : ref.dropoutBackward(input, seed, t, layer, rate);
        return [['output', await readFloat32(device, outBuffer), expected, DROPOUT_SCALED]];
      })),
    );
  }

  // The bias gradient as its own dispatch (the unfused plan).
  {
    const [B, OUT] = [130, 200];
    results.push(
      ...(await checkCase(ctx, { kernel: 'bias_grad', what: `${B}x${OUT}` }, async () => {
        const dy = random(B * OUT, 'bias dy');
        const db = arena.tensor('db', OUT * 4);
        await run(device, [await biasGrad(ctx, { dy: arena.tensorWithData('dy', dy), db }, { B, OUT })]);
        return [['db', await readFloat32(device, db), ref.biasGrad(dy, B, OUT), columnSumTolerance(B)]];
      })),
    );
  }

  // Activations as their own dispatches (benchmarks and the unfused forms).
  for (const activation of ['relu', 'tanh'] as const) {
    const count = 37 * 33;
    results.push(
      ...(await checkCase(ctx, { kernel: 'activation', what: `${activation} forward and backward, ${count} elements` }, async () => {
        const z = random(count, `z ${activation}`, -3, 3);
        const a = Float32Array.from(ref.activationForward(activation, z));
        const da = random(count, `da ${activation}`);
        const out = arena.tensor('a', count * 4);
        const dz = arena.tensor('dz', count * 4);
        await run(device, [await activationForward(ctx, { z: arena.tensorWithData('z', z), a: out }, { count, activation })]);
        await run(device, [await activationBackward(ctx, { a: arena.tensorWithData('a in', a), da: arena.tensorWithData('da', da), dz }, { count, activation })]);
        return [
          ['forward', await readFloat32(device, out), ref.activationForward(activation, z), activation === 'tanh' ? TRANSCENDENTAL : EXACT],
          ['backward', await readFloat32(device, dz), ref.activationBackward(activation, a, da), ACTIVATION_BACKWARD],
        ];
      })),
    );
  }
  return results;
}

/** The variants whose cases failed (a wrong result, or one that did not run). */
export function failedVariants(results: readonly KernelCheck[]): Map<MatmulVariantName, string> {
  const failed = new Map<MatmulVariantName, string>();
  for (const r of results) {
    if (r.kernel !== 'matmul' || r.passed || failed.has(r.variant as MatmulVariantName)) continue;
    failed.set(r.variant as MatmulVariantName, r.error ?? `${r.what}: ${r.quantity} off by ${r.maxAbsDiff.toExponential(2)} (${r.worstRatio.toFixed(1)}× its tolerance)`);
  }
  return failed;
}
