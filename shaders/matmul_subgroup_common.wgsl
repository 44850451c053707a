// Shared by the subgroup kernels (matmul_subgroup.wgsl, matmul_subgroup_u4.wgsl,
// matmul_subgroup_um4.wgsl; src/kernels/matmul.ts picks one by U's strides and alignment), for CPU
// rasterisers such as lavapipe; they need subgroups of exactly 8 invocations. Shapes, strides and
// epilogue: matmul_common.wgsl. Binding 0, `u`, is declared by each kernel (f32 or vec4 loads);
// binding 1, `v`, by an include that also says which two output columns each lane owns and how a
// block of 4 k of V is loaded (v_block4): matmul_subgroup_v.wgsl (any strides),
// matmul_subgroup_v4.wgsl (vec4 loads along k, for the forward's Wᵀ) or matmul_subgroup_v2.wgsl
// (vec2 loads along n, for W and X).
//
// Why they look like this: llvmpipe runs a subgroup's 8 invocations as the 8 lanes of one SIMD
// vector. Arithmetic is one vector instruction, but a storage load whose address differs between
// lanes is done lane by lane (a loop of some 12 instructions per lane, bounds checks included), so
// the number of per-lane loads, not FMAs, sets the speed. Hence:
// - a workgroup is one subgroup and computes 16 rows × 16 columns of the output; each invocation
//   owns 16 rows × 2 columns (lane_columns) in 16 vec2 accumulators (32 registers), spelled out as
//   named variables in each kernel: as an array they would live in memory (3× slower, bench/RESULTS.md);
// - each lane loads V for its own two columns only, and U is loaded once per subgroup: each lane
//   loads a part of the 16 rows' block and subgroupBroadcast hands every lane all of it (broadcasts
//   are free there), so one U value feeds 8 lanes × 2 columns of FMAs and one V value 16 rows;
// - the wider the loads, the fewer per-lane loops: U as vec4 wherever its strides allow;
// - indices are clamped instead of branched on (U past K reads as 0), keeping the loop straight-line.
// Measured in bench/RESULTS.md.
@group(0) @binding(2) var<storage, read> e: array<f32>;        // bias [OUT] or A [B, IN]; unread by epilogue 0

const LANES = 8u;
const ROWS = 16u;
const COLUMNS = 16u;   // 8 lanes × 2

// acc + Σ_j U[m, k0 + j]·V[k0 + j, the lane's columns] for j < 4, given q = U[m, k0..k0+3].
fn dot4(q: vec4f, vb: array<vec2f, 4>, acc: vec2f) -> vec2f {
  var s = fma(vec2f(q.x), vb[0], acc);
  s = fma(vec2f(q.y), vb[1], s);
  s = fma(vec2f(q.z), vb[2], s);
  return fma(vec2f(q.w), vb[3], s);
}

fn store_pair(m: u32, n: vec2u, acc: vec2f) {
  store_output(m, n.x, acc.x);
  store_output(m, n.y, acc.y);
}

// Stores the workgroup's block: row m0 + i of the lane's two columns n from accumulator ai.
fn store_block(m0: u32, n: vec2u, a0: vec2f, a1: vec2f, a2: vec2f, a3: vec2f, a4: vec2f, a5: vec2f, a6: vec2f, a7: vec2f, a8: vec2f, a9: vec2f, a10: vec2f, a11: vec2f, a12: vec2f, a13: vec2f, a14: vec2f, a15: vec2f) {
  store_pair(m0, n, a0);
  store_pair(m0 + 1u, n, a1);
  store_pair(m0 + 2u, n, a2);
  store_pair(m0 + 3u, n, a3);
  store_pair(m0 + 4u, n, a4);
  store_pair(m0 + 5u, n, a5);
  store_pair(m0 + 6u, n, a6);
  store_pair(m0 + 7u, n, a7);
  store_pair(m0 + 8u, n, a8);
  store_pair(m0 + 9u, n, a9);
  store_pair(m0 + 10u, n, a10);
  store_pair(m0 + 11u, n, a11);
  store_pair(m0 + 12u, n, a12);
  store_pair(m0 + 13u, n, a13);
  store_pair(m0 + 14u, n, a14);
  store_pair(m0 + 15u, n, a15);
}
