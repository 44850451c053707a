// The three matrix products of a dense layer, W in PyTorch's [OUT, IN] layout:
//   forward      Y[B, OUT] = act(X[B, IN]·Wᵀ + b)
//   input grad   dX[B, IN] = (dY[B, OUT]·W) ⊙ act'(A[B, IN])
//   weight grad  dW[OUT, IN] = dY[B, OUT]ᵀ·X[B, IN]
// The forward and the input grad optionally fuse inverted dropout into their epilogue (the forward
// stores H = mask ⊙ A / keep; the input grad masks its output and reads H in place of A), and the
// weight grad optionally computes the bias gradient db = Σ_b dY[b, :] in extra workgroups, and then
// optionally takes the optimizer step on W and b in its epilogue instead of storing dW and db.
// Every kernel variant computes one strided product with an epilogue (shaders/matmul_common.wgsl);
// this file maps each form onto it, picks the variant for the adapter, and records its dispatches:
// one, or several bands of workgroup rows when the product is bigger than one dispatch should be.
// Shapes and strides are override constants: one pipeline per (variant, form, shape, activation),
// which lets LLVM fold the index arithmetic (5% faster than a uniform on lavapipe, bench/RESULTS.md);
// a pipeline's first use costs 0.3-0.9 s of compilation there (Mesa's disk cache keeps it).
import commonWgsl from '../../shaders/matmul_common.wgsl?raw';
import dropoutEpilogueWgsl from '../../shaders/matmul_dropout.wgsl?raw';
import noDropoutEpilogueWgsl from '../../shaders/matmul_no_dropout.wgsl?raw';
import noRowSumsWgsl from '../../shaders/matmul_no_row_sums.wgsl?raw';
import rowSumsWgsl from '../../shaders/matmul_row_sums.wgsl?raw';
import storeWgsl from '../../shaders/matmul_store.wgsl?raw';
import updateWgsl from '../../shaders/matmul_update.wgsl?raw';
import naiveWgsl from '../../shaders/matmul_naive.wgsl?raw';
import regblockWgsl from '../../shaders/matmul_regblock.wgsl?raw';
import subgroupWgsl from '../../shaders/matmul_subgroup.wgsl?raw';
import subgroupCommonWgsl from '../../shaders/matmul_subgroup_common.wgsl?raw';
import subgroupU4Wgsl from '../../shaders/matmul_subgroup_u4.wgsl?raw';
import subgroupUm4Wgsl from '../../shaders/matmul_subgroup_um4.wgsl?raw';
import subgroupVWgsl from '../../shaders/matmul_subgroup_v.wgsl?raw';
import subgroupV2Wgsl from '../../shaders/matmul_subgroup_v2.wgsl?raw';
import subgroupV4Wgsl from '../../shaders/matmul_subgroup_v4.wgsl?raw';
import tiledWgsl from '../../shaders/matmul_tiled.wgsl?raw';
import { packUniform } from '../gpu/arena.ts';
import { bindingElements, bindingOffset, bindKernel, checkBinding, KernelError, type BindingDecl, type BindingResource, type CompiledKernel, type Dispatch, type KernelDef } from '../gpu/program.ts';
import type { ActivationKind } from '../model/spec.ts';
import type { KernelContext } from './context.ts';
import { FUSED_DROPOUT_BINDING, fusedDropout, type FusedDropout } from './dropout.ts';
import { ACTIVATION_CODE, activationFnsWgsl, dropoutHashWgsl, stepParamsWgsl } from './includes.ts';
import type { OptimizerEpilogue } from './optimizer.ts';

/** The kernel variants, llm.c style: kernel 1 naive ... kernel 4 subgroup. */
export const MATMUL_VARIANTS = ['naive', 'regblock', 'tiled', 'subgroup'] as const;
export type MatmulVariantName = (typeof MATMUL_VARIANTS)[number];

/**
 * Variant preference per adapter kind; the first one the device supports is the default.
 * 'cpu' (lavapipe, measured in bench/RESULTS.md): subgroup 13-18 GFLOP/s per core on the MLP's
 * 784-256-128 layers, regblock ≈ 5, tiled ≈ 2, naive ≈ 1.5; regblock where subgroups of 8 are missing.
 * 'gpu': the workgroup-memory tiled kernel, the standard choice for GPUs (no GPU was available to
 * time it; it is tested for correctness on lavapipe).
 */
export const MATMUL_VARIANT_PREFERENCE: Record<'cpu' | 'gpu', readonly MatmulVariantName[]> = {
  cpu: ['subgroup', 'regblock'],
  gpu: ['tiled'],
};

export interface ForwardIo {
  x: BindingResource; // [B, IN]
  w: BindingResource; // [OUT, IN]
  b: BindingResource; // [OUT]
  y: BindingResource; // [B, OUT]: A, or H = mask ⊙ A / keep with dropout
  /** The StepParams ring (t picks the mask); required with dims.dropout. */
  step?: BindingResource;
}

export interface ForwardDims {
  B: number;
  IN: number;
  OUT: number;
  activation: ActivationKind;
  /** Fuse dropout into the epilogue: y receives H instead of A. */
  dropout?: FusedDropout;
}

export interface InputGradIo {
  dy: BindingResource; // [B, OUT]
  w: BindingResource; // [OUT, IN]
  /**
   * [B, IN], the post-activation output of the layer below: A, or with dims.dropout the stored
   * post-dropout H (A is recovered as H·keep). Not read (and optional) for 'identity'.
   */
  a?: BindingResource;
  dx: BindingResource; // [B, IN]
  /** The StepParams ring (t picks the mask); required with dims.dropout. */
  step?: BindingResource;
}

export interface InputGradDims {
  B: number;
  IN: number;
  OUT: number;
  /** The activation that produced A (the layer below's). */
  activation: ActivationKind;
  /** The dropout applied to the layer below's output: its mask and 1/keep scale dX. */
  dropout?: FusedDropout;
}

export interface WeightGradIo {
  dy: BindingResource; // [B, OUT]
  x: BindingResource; // [B, IN]
  /** [OUT, IN]; with `update`, written only by a re-recording that times the product (src/tune/). */
  dw: BindingResource;
  /** [OUT]: if given, the bias gradient Σ_b dY[b, :], computed by extra workgroups of the same dispatch. */
  db?: BindingResource;
  /**
   * Takes the optimizer step on the layer's W and b in the epilogue instead of storing dW and db
   * (needs db, whose workgroups then step b). The step reads and writes W: whatever else reads this
   * layer's W in the same step must be recorded before.
   */
  update?: FusedUpdate;
}

/** The optimizer step fused into a weight grad (shaders/matmul_update.wgsl). */
export interface FusedUpdate {
  readonly optimizer: OptimizerEpilogue;
  /** Where the layer's W [OUT, IN] and b [OUT] start in the flat parameter buffer, in elements. */
  readonly weightsAt: number;
  readonly biasAt: number;
}

export interface WeightGradDims {
  B: number;
  IN: number;
  OUT: number;
}

/** The override constants of matmul_common.wgsl: out[m, n] = epilogue(Σ_k U[m, k]·V[k, n]). */
interface Product {
  M: number;
  N: number;
  K: number;
  SU_M: number;
  SU_K: number;
  SV_K: number;
  SV_N: number;
  SO_M: number;
  SO_N: number;
  SE_M: number;
  SE_N: number;
  EPILOGUE: 0 | 1 | 2;
  ACTIVATION: number;
}

const EPILOGUE_NONE = 0;
const EPILOGUE_BIAS_ACTIVATION = 1;
const EPILOGUE_ACTIVATION_GRAD = 2;

/**
 * Multiply-adds one matmul dispatch may do. A product with more is cut into bands of workgroup rows,
 * a dispatch each, so that no dispatch runs long: a GPU watchdog (Windows resets a GPU busy for 2 s)
 * would take the device down. On lavapipe here 2^28 multiply-adds take about 40 ms (the forward
 * product of 10000×784→2048, 1.6·10¹⁰, took 1.45 s as one dispatch; measured with
 * test/reliability/measure/dispatch-durations.ts); on a GPU well under a millisecond. The default
 * model's largest product, 128×784×256 = 2.6·10⁷, is one dispatch. A band is at least one row of
 * workgroups: tile rows × N × K multiply-adds, at most 64 × 2^25 (one maximal binding) for the tiled
 * variant.
 */
export const DISPATCH_MACS = 2 ** 28;

/**
 * What each output element's epilogue and store cost, in multiply-adds, when a product is measured
 * against DISPATCH_MACS: with a short K it dominates. Measured on lavapipe: the input grad
 * 10000x2048<-10 with ReLU and dropout (2·10⁸ multiply-adds, 2·10⁷ outputs) took 118 ms as one
 * dispatch, where 2^28 multiply-adds with K = 784 take about 45 ms: ≈ 30 multiply-adds per output.
 */
const EPILOGUE_MACS = 32;

/** How much one dispatch of a product may do (tests shrink both to force many bands). */
export interface DispatchBudget {
  /** Multiply-adds (DISPATCH_MACS; Infinity: one dispatch, as the kernel benchmark wants). */
  readonly macs: number;
  /** Workgroups along x or y (default: the device's maxComputeWorkgroupsPerDimension). */
  readonly workgroupsPerDimension?: number;
}

/**
 * The operands every matmul kernel declares; `e` is the bias or A (bound to U when unread), `band`
 * where the dispatch's rows of workgroups start in the whole grid (matmul_common.wgsl).
 */
const OPERANDS: readonly BindingDecl[] = [
  { name: 'u', kind: 'read' },
  { name: 'v', kind: 'read' },
  { name: 'e', kind: 'read' },
  { name: 'band', kind: 'uniform', binding: 4 },
];

/** ... and the output o (shaders/matmul_store.wgsl). */
const BINDINGS: readonly BindingDecl[] = [...OPERANDS, { name: 'o', kind: 'write', binding: 3 }];

/** ... and with fused dropout (shaders/matmul_dropout.wgsl): its parameters and the step's t. */
const DROPOUT_BINDINGS: readonly BindingDecl[] = [
  ...BINDINGS,
  FUSED_DROPOUT_BINDING,
  { name: 'step', kind: 'slot' },
];

/** ... and with row sums of U beside the product (shaders/matmul_row_sums.wgsl): the weight grad's db. */
const ROW_SUM_BINDINGS: readonly BindingDecl[] = [...BINDINGS, { name: 'sums', kind: 'write', binding: 5 }];

// `enable` directives must precede every declaration, so this goes ahead of the other includes.
const ENABLE_SUBGROUPS = 'enable subgroups;';

/**
 * A variant's kernels (one shader module each, hence one name each), which differ in the hooks
 * included ahead of matmul_common.wgsl: plain, with fused dropout, with row sums of U, and with row
 * sums and the optimizer step in place of the stores (one per optimizer).
 */
interface KernelSet {
  readonly plain: KernelDef;
  readonly dropout: KernelDef;
  readonly rowSums: KernelDef;
  update(optimizer: OptimizerEpilogue): KernelDef;
}

function kernelSet(name: string, source: string, includes: readonly string[] = []): KernelSet {
  const kernel = (suffix: string, bindings: readonly BindingDecl[], hooks: readonly string[]): KernelDef => ({
    name: `${name}${suffix}`,
    source,
    bindings,
    includes: [...includes, activationFnsWgsl, ...hooks, commonWgsl],
  });
  return {
    plain: kernel('', BINDINGS, [noDropoutEpilogueWgsl, noRowSumsWgsl, storeWgsl]),
    dropout: kernel('_dropout', DROPOUT_BINDINGS, [stepParamsWgsl, dropoutHashWgsl, dropoutEpilogueWgsl, noRowSumsWgsl, storeWgsl]),
    rowSums: kernel('_row_sums', ROW_SUM_BINDINGS, [noDropoutEpilogueWgsl, rowSumsWgsl, storeWgsl]),
    update: (optimizer) =>
      kernel(`_update_${optimizer.name}`, [...OPERANDS, ...optimizer.bindings], [...optimizer.includes, noDropoutEpilogueWgsl, rowSumsWgsl, updateWgsl]),
  };
}

const NAIVE = kernelSet('matmul_naive', naiveWgsl);
const REGBLOCK = kernelSet('matmul_regblock', regblockWgsl);
const TILED = kernelSet('matmul_tiled', tiledWgsl);

/**
 * The subgroup kernels, by how they load U (as f32; vec4 along k, u4; vec4 along m, um4) and V (as
 * f32; vec2 along n, v2; vec4 along k, v4): the widest loads the strides and alignment allow.
 */
const SUBGROUP_U = { u: subgroupWgsl, u4: subgroupU4Wgsl, um4: subgroupUm4Wgsl } as const;
const SUBGROUP_V = { v: subgroupVWgsl, v2: subgroupV2Wgsl, v4: subgroupV4Wgsl } as const;
type SubgroupU = keyof typeof SUBGROUP_U;
type SubgroupV = keyof typeof SUBGROUP_V;
const SUBGROUP: Record<`${SubgroupU}_${SubgroupV}`, KernelSet> = Object.fromEntries(
  (Object.keys(SUBGROUP_U) as SubgroupU[]).flatMap((u) =>
    (Object.keys(SUBGROUP_V) as SubgroupV[]).map((v) => {
      const name = ['matmul_subgroup', u === 'u' ? '' : `_${u}`, v === 'v' ? '' : `_${v}`].join('');
      return [`${u}_${v}`, kernelSet(name, SUBGROUP_U[u], [ENABLE_SUBGROUPS, subgroupCommonWgsl, SUBGROUP_V[v]])];
    }),
  ),
) as Record<`${SubgroupU}_${SubgroupV}`, KernelSet>;

interface Variant {
  /** Output elements per workgroup: rows (m) and columns (n). */
  readonly tile: readonly [number, number];
  /** Invocations per workgroup (the `lanes` each kernel passes to row_sums_workgroup). */
  readonly lanes: number;
  kernel(product: Product, operands: { u: BindingResource; v: BindingResource }): KernelSet;
  supported(device: GPUDevice): boolean;
}

const everywhere = () => true;

/** The subgroup kernel broadcasts across exactly 8 lanes (one subgroup per workgroup). */
function hasSubgroupsOf8(device: GPUDevice): boolean {
  const info = device.adapterInfo;
  return device.features.has('subgroups') && info?.subgroupMinSize === 8 && info?.subgroupMaxSize === 8;
}

const VARIANTS: Record<MatmulVariantName, Variant> = {
  naive: { tile: [8, 8], lanes: 64, kernel: () => NAIVE, supported: everywhere },
  regblock: { tile: [16, 64], lanes: 64, kernel: () => REGBLOCK, supported: everywhere },
  tiled: { tile: [64, 64], lanes: 256, kernel: () => TILED, supported: everywhere },
  subgroup: { tile: [16, 16], lanes: 8, kernel: subgroupKernel, supported: hasSubgroupsOf8 },
};

/**
 * A short hash of every matrix-product kernel's WGSL: tuned tables are kept per adapter, driver and
 * this, so that an edited kernel is measured again.
 */
export function matmulKernelsVersion(): string {
  const sources = [
    commonWgsl, dropoutEpilogueWgsl, noDropoutEpilogueWgsl, noRowSumsWgsl, rowSumsWgsl, storeWgsl, updateWgsl, naiveWgsl, regblockWgsl, tiledWgsl,
    subgroupCommonWgsl, ...Object.values(SUBGROUP_U), ...Object.values(SUBGROUP_V),
  ];
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (const source of sources) {
    for (let i = 0; i < source.length; i++) hash = Math.imul(hash ^ source.charCodeAt(i), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * The subgroup kernel with the widest U and V loads the strides and the bindings allow: a vec4 (vec2)
 * load needs its binding's offset a multiple of 16 (8) bytes, and every vector it reads whole.
 */
function subgroupKernel(p: Product, { u, v }: { u: BindingResource; v: BindingResource }): KernelSet {
  const aligned = (resource: BindingResource, floats: number) => bindingOffset(resource) % (4 * floats) === 0 && bindingElements(resource) % floats === 0;
  let uLoads: SubgroupU = 'u';
  if (p.SU_K === 1 && p.K % 4 === 0 && p.SU_M % 4 === 0 && aligned(u, 4)) uLoads = 'u4';
  else if (p.SU_M === 1 && p.M % 4 === 0 && p.SU_K % 4 === 0 && aligned(u, 4)) uLoads = 'um4';
  let vLoads: SubgroupV = 'v';
  if (p.SV_K === 1 && p.K % 4 === 0 && p.SV_N % 4 === 0 && aligned(v, 4)) vLoads = 'v4';
  else if (p.SV_N === 1 && p.SV_K % 2 === 0 && aligned(v, 2)) vLoads = 'v2';
  return SUBGROUP[`${uLoads}_${vLoads}`];
}

export function matmulVariantSupported(device: GPUDevice, variant: MatmulVariantName): boolean {
  return VARIANTS[variant].supported(device);
}

/**
 * Which variant each product gets, beyond the adapter kind's default (a KernelContext's `matmul`):
 * a table chosen by measurement on this adapter (src/tune/), the variants that failed `check` here,
 * and a log of every product recorded, so that a tuner can time the same product in other variants.
 */
export interface MatmulSelection {
  /** The variant per product key (see MatmulProduct.key); products not listed take the default. */
  readonly choices?: Readonly<Record<string, MatmulVariantName>>;
  /** Variants never to use on this adapter: they computed wrongly or did not run in its check. */
  readonly exclude?: readonly MatmulVariantName[];
  /** Filled with every product recorded under this selection. */
  readonly log?: MatmulProduct[];
}

/** One matrix product a plan recorded. */
export interface MatmulProduct {
  /**
   * What identifies its pipelines apart from the variant: form, shape, epilogue, e.g.
   * "forward 128x784->256 relu dropout", "input-grad 128x256<-128 relu dropout",
   * "weight-grad 256x784 over 128 bias".
   */
  readonly key: string;
  /** Floating-point operations (2 per multiply-add). */
  readonly flops: number;
  readonly variant: MatmulVariantName;
  /** The same product, on the same buffers, recorded in another variant (for timing it). */
  rerecord(variant: MatmulVariantName): Promise<Dispatch[]>;
}

/**
 * The variant used when none is chosen: the first of the adapter kind's preference list that the
 * device supports and the selection does not exclude (then any other that qualifies).
 */
export function defaultMatmulVariant(ctx: KernelContext): MatmulVariantName {
  const excluded = ctx.matmul?.exclude ?? [];
  const usable = (name: MatmulVariantName) => VARIANTS[name].supported(ctx.device) && !excluded.includes(name);
  // Each preference list ends with a variant that runs everywhere (regblock, tiled).
  const variant = MATMUL_VARIANT_PREFERENCE[ctx.adapterKind].find(usable) ?? FALLBACK_ORDER.find(usable);
  if (!variant) throw new KernelError(`every matrix-product variant failed its check on this adapter (${excluded.join(', ')}): run webgpu-mlp check to see how`);
  return variant;
}

/** Where the preference list has no usable variant left (some failed their check): fastest first, as measured on lavapipe. */
const FALLBACK_ORDER: readonly MatmulVariantName[] = ['subgroup', 'regblock', 'tiled', 'naive'];

/** The variant a product gets: forced, else the selection's choice (if usable here), else the default. */
function variantFor(ctx: KernelContext, key: string, requested: MatmulVariantName | undefined): MatmulVariantName {
  if (requested) return requested;
  const chosen = ctx.matmul?.choices?.[key];
  if (chosen && VARIANTS[chosen]?.supported(ctx.device) && !ctx.matmul?.exclude?.includes(chosen)) return chosen;
  return defaultMatmulVariant(ctx);
}

/** Y[B, OUT] = act(X·Wᵀ + b); with dims.dropout, H = mask ⊙ Y / keep in its place. */
export async function matmulForward(
  ctx: KernelContext,
  io: ForwardIo,
  dims: ForwardDims,
  variant?: MatmulVariantName,
  budget: DispatchBudget = { macs: DISPATCH_MACS },
): Promise<Dispatch[]> {
  const { B, IN, OUT } = dims;
  const label = `matmulForward ${B}x${IN}->${OUT} ${dims.activation}${dropoutLabel(dims.dropout)}`;
  checkDims(label, dims);
  checkBinding(label, 'x', io.x, B * IN);
  checkBinding(label, 'w', io.w, OUT * IN);
  checkBinding(label, 'b', io.b, OUT);
  checkBinding(label, 'y', io.y, B * OUT);
  // m = row of X, n = output unit, k = input unit; V[k, n] = W[n, k].
  const product: Product = {
    M: B, N: OUT, K: IN,
    SU_M: IN, SU_K: 1, SV_K: 1, SV_N: IN, SO_M: OUT, SO_N: 1, SE_M: 0, SE_N: 1,
    EPILOGUE: EPILOGUE_BIAS_ACTIVATION, ACTIVATION: ACTIVATION_CODE[dims.activation],
  };
  const key = `forward ${B}x${IN}->${OUT} ${dims.activation}${dims.dropout ? ' dropout' : ''}`;
  return record(ctx, label, key, variant, budget, product, { u: io.x, v: io.w, e: io.b, o: io.y }, fusedDropout(ctx, label, dims.dropout, io.step));
}

/**
 * dX[B, IN] = (dY·W) ⊙ act'(A); for 'identity' A is not read and may be omitted. With dims.dropout,
 * dX = mask ⊙ (dY·W) ⊙ act'(H·keep) / keep, where io.a is the stored post-dropout H.
 */
export async function matmulInputGrad(
  ctx: KernelContext,
  io: InputGradIo,
  dims: InputGradDims,
  variant?: MatmulVariantName,
  budget: DispatchBudget = { macs: DISPATCH_MACS },
): Promise<Dispatch[]> {
  const { B, IN, OUT } = dims;
  const label = `matmulInputGrad ${B}x${IN}<-${OUT} ${dims.activation}${dropoutLabel(dims.dropout)}`;
  checkDims(label, dims);
  checkBinding(label, 'dy', io.dy, B * OUT);
  checkBinding(label, 'w', io.w, OUT * IN);
  checkBinding(label, 'dx', io.dx, B * IN);
  const useA = dims.activation !== 'identity';
  if (useA) {
    if (!io.a) throw new KernelError(`${label}: binding a (the activation output of the layer below) is required for ${dims.activation}`);
    checkBinding(label, 'a', io.a, B * IN);
  }
  // m = row, n = input unit, k = output unit.
  const product: Product = {
    M: B, N: IN, K: OUT,
    SU_M: OUT, SU_K: 1, SV_K: IN, SV_N: 1, SO_M: IN, SO_N: 1, SE_M: 0, SE_N: 0,
    EPILOGUE: useA ? EPILOGUE_ACTIVATION_GRAD : EPILOGUE_NONE, ACTIVATION: ACTIVATION_CODE[dims.activation],
  };
  const resources = { u: io.dy, v: io.w, e: useA && io.a ? io.a : io.dy, o: io.dx };
  const key = `input-grad ${B}x${IN}<-${OUT} ${dims.activation}${dims.dropout ? ' dropout' : ''}`;
  return record(ctx, label, key, variant, budget, product, resources, fusedDropout(ctx, label, dims.dropout, io.step));
}

/**
 * dW[OUT, IN] = dYᵀ·X, and with io.db the bias gradient db[OUT] = Σ_b dY[b, :] in the same dispatch
 * (without it, the bias gradient is the separate bias_grad kernel); with io.update, the optimizer
 * step on W and b in place of storing either.
 */
export async function matmulWeightGrad(
  ctx: KernelContext,
  io: WeightGradIo,
  dims: WeightGradDims,
  variant?: MatmulVariantName,
  budget: DispatchBudget = { macs: DISPATCH_MACS },
): Promise<Dispatch[]> {
  const { B, IN, OUT } = dims;
  const { update } = io;
  const label = `matmulWeightGrad ${OUT}x${IN} over ${B}${io.db ? ' + bias' : ''}${update ? ` + ${update.optimizer.name} step` : ''}`;
  checkDims(label, dims);
  checkBinding(label, 'dy', io.dy, B * OUT);
  checkBinding(label, 'x', io.x, B * IN);
  checkBinding(label, 'dw', io.dw, OUT * IN);
  if (io.db) checkBinding(label, 'db', io.db, OUT);
  if (update) {
    if (!io.db) throw new KernelError(`${label}: the fused optimizer step needs db (the bias gradient's workgroups step b)`);
    const { params } = update.optimizer.resources;
    checkBinding(label, 'params', params, Math.max(update.weightsAt + OUT * IN, update.biasAt + OUT));
  }
  // m = output unit, n = input unit, k = row of the batch; U[m, k] = dY[k, m].
  const product: Product = {
    M: OUT, N: IN, K: B,
    SU_M: 1, SU_K: OUT, SV_K: IN, SV_N: 1, SO_M: IN, SO_N: 1, SE_M: 0, SE_N: 0,
    EPILOGUE: EPILOGUE_NONE, ACTIVATION: ACTIVATION_CODE.identity,
  };
  // One key with or without the step: the tuner times the product alone (see record).
  const key = `weight-grad ${OUT}x${IN} over ${B}${io.db ? ' bias' : ''}`;
  const extra = io.db ? (update ? { update, sums: io.db } : { sums: io.db }) : undefined;
  return record(ctx, label, key, variant, budget, product, { u: io.dy, v: io.x, e: io.dy, o: io.dw }, extra);
}

function dropoutLabel(dropout: FusedDropout | undefined): string {
  return dropout ? ` + dropout ${dropout.rate}` : '';
}

/**
 * What a kernel computes beside the plain product: fused dropout, row sums of U, or row sums and
 * the optimizer step (`sums` then only for a re-recording that times the product).
 */
type Extra = { dropout: BindingResource; step: BindingResource } | { sums: BindingResource } | { sums: BindingResource; update: FusedUpdate };

async function record(
  ctx: KernelContext,
  label: string,
  key: string,
  requested: MatmulVariantName | undefined,
  budget: DispatchBudget,
  product: Product,
  resources: { u: BindingResource; v: BindingResource; e: BindingResource; o: BindingResource },
  extra?: Extra,
): Promise<Dispatch[]> {
  const variantName = variantFor(ctx, key, requested);
  // A re-recording times the product on the plan's buffers: the optimizer step would move the
  // parameters at each run, so it stores dW and db instead (the step's cost is the same in every variant).
  const timed = extra && 'update' in extra ? { sums: extra.sums } : extra;
  ctx.matmul?.log?.push({
    key,
    flops: 2 * product.M * product.N * product.K,
    variant: variantName,
    rerecord: (other) => record({ ...ctx, matmul: undefined }, label, key, other, budget, product, resources, timed),
  });
  const variant = VARIANTS[variantName];
  if (!variant) throw new KernelError(`${label}: unknown matmul variant ${JSON.stringify(variantName)} (known: ${MATMUL_VARIANTS.join(', ')})`);
  if (!variant.supported(ctx.device)) {
    throw new KernelError(`${label}: matmul variant '${variantName}' is not supported by this device (it needs subgroups of 8 invocations)`);
  }
  // Tiles overhang the matrix edges; computing Oᵀ = Vᵀ·Uᵀ instead wastes less when the tile is
  // lopsided (regblock's 16×64 against a 10-column output). Row sums are of U, so they keep the
  // orientation (which costs regblock's 256x784 weight grad 6% more padding).
  const [rows, columns] = variant.tile;
  const padded = (p: Product) => Math.ceil(p.M / rows) * rows * Math.ceil(p.N / columns) * columns;
  const flipped = transposed(product);
  const rowSums = extra !== undefined && 'sums' in extra;
  const flip = !rowSums && padded(flipped) < padded(product);
  const [p, operands] = flip ? [flipped, { ...resources, u: resources.v, v: resources.u }] : [product, resources];
  const kernels = variant.kernel(p, operands);
  const [gridX, gridY] = [Math.ceil(p.N / columns), Math.ceil(p.M / rows)];
  let kernel: CompiledKernel;
  let bound: Record<string, BindingResource>;
  // Row sums: rows of workgroups past the product's, each summing `lanes` rows of U (matmul_row_sums.wgsl).
  const rowsOfWorkgroups = gridY + (rowSums ? Math.ceil(Math.ceil(p.M / variant.lanes) / gridX) : 0);
  if (extra && 'update' in extra) {
    // The stores step the parameters instead: neither o nor sums is bound.
    const { optimizer, weightsAt, biasAt } = extra.update;
    kernel = await ctx.cache.compile(kernels.update(optimizer), { ...p, M_GROUPS: gridY, ...optimizer.constants, WEIGHTS_AT: weightsAt, BIAS_AT: biasAt });
    bound = { u: operands.u, v: operands.v, e: operands.e, ...optimizer.resources };
  } else if (extra && 'sums' in extra) {
    kernel = await ctx.cache.compile(kernels.rowSums, { ...p, M_GROUPS: gridY });
    bound = { ...operands, sums: extra.sums };
  } else {
    kernel = await ctx.cache.compile(extra ? kernels.dropout : kernels.plain, { ...p });
    bound = { ...operands, ...extra };
  }
  // The grid in bands, a dispatch each: columns of workgroups up to the per-dimension limit, then
  // rows of workgroups within the work budget (and the limit).
  const perDimension = budget.workgroupsPerDimension ?? ctx.device.limits.maxComputeWorkgroupsPerDimension;
  const bandColumns = Math.min(gridX, perDimension);
  const macsPerRow = rows * Math.min(p.N, bandColumns * columns) * (p.K + EPILOGUE_MACS);
  const bandRows = Math.max(1, Math.min(Math.floor(budget.macs / macsPerRow), perDimension));
  const parts: { firstRow: number; firstColumn: number }[] = [];
  for (let firstRow = 0; firstRow < rowsOfWorkgroups; firstRow += bandRows) {
    for (let firstColumn = 0; firstColumn < gridX; firstColumn += bandColumns) parts.push({ firstRow, firstColumn });
  }
  return parts.map(({ firstRow, firstColumn }, i) => {
    const name = parts.length > 1 ? `${label} [${variantName}] band ${i + 1}/${parts.length}` : `${label} [${variantName}]`;
    const band = ctx.arena.uniform(`${name} grid band`, packUniform([['u32', firstRow], ['u32', firstColumn], ['u32', gridX]]));
    const workgroups = [Math.min(bandColumns, gridX - firstColumn), Math.min(bandRows, rowsOfWorkgroups - firstRow), 1] as const;
    return bindKernel(ctx.device, kernel, { ...bound, band }, workgroups, name);
  });
}

/** The same product computed as Oᵀ[n, m] = Σ_k Vᵀ[n, k]·Uᵀ[k, m]: u and v swap roles. */
function transposed(p: Product): Product {
  return {
    ...p,
    M: p.N, N: p.M,
    SU_M: p.SV_N, SU_K: p.SV_K, SV_K: p.SU_K, SV_N: p.SU_M,
    SO_M: p.SO_N, SO_N: p.SO_M, SE_M: p.SE_N, SE_N: p.SE_M,
  };
}

function checkDims(label: string, dims: { B: number; IN: number; OUT: number }): void {
  for (const key of ['B', 'IN', 'OUT'] as const) {
    const value = dims[key];
    if (!Number.isInteger(value) || value < 1) throw new KernelError(`${label}: ${key} must be a positive integer, found ${value}`);
  }
}
