// Kernel 4 (subgroup), for CPU rasterisers such as lavapipe; needs subgroups of exactly 8 invocations
// (src/kernels/matmul.ts prepends `enable subgroups;`, which must precede the includes). Shapes,
// strides and epilogue: matmul_common.wgsl. Binding 1, `v`, comes from an include that also says which
// two output columns each lane owns and how a block of V is loaded: matmul_subgroup_v.wgsl (any
// strides), matmul_subgroup_v4.wgsl (vec4 loads along k, for the forward's Wᵀ) or
// matmul_subgroup_v2.wgsl (vec2 loads along n, for W and X).
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> e: array<f32>;        // bias [OUT] or A [B, IN]; unread by epilogue 0
@group(0) @binding(3) var<storage, read_write> o: array<f32>;

// Why it looks like this: llvmpipe runs a subgroup's 8 invocations as the 8 lanes of one SIMD vector.
// Arithmetic is one vector instruction, but a storage load whose address differs between lanes is done
// lane by lane (about 20 cycles per 8 values), so loads, not FMAs, set the speed. Hence:
// - a workgroup is one subgroup and computes 16 rows × 16 columns of the output; each invocation owns
//   16 rows × 2 columns (lane_columns) in 16 vec2 accumulators (32 registers);
// - k advances in blocks of 8. Each lane loads V for its own two columns (v_block), and for each row a
//   single element U[m, k0 + lane]; subgroupBroadcast then gives every lane all 8 values of the row,
//   so one U load feeds 8 lanes × 2 columns of FMAs and one V load feeds 16 rows;
// - indices are clamped instead of branched on (U past K reads as 0), keeping the loop straight-line.
// Measured in bench/RESULTS.md: 2.6-3.3× the rate of register blocking without subgroups (regblock).

const ROWS = 16u;
const COLUMNS = 16u;   // 8 lanes × 2

fn row_offset(m: u32) -> u32 {
  return min(m, M - 1u) * SU_M;
}

// This lane's element of a U row (row_offset given) at column k; 0 past K.
fn u_lane(row: u32, k: u32) -> f32 {
  return select(0.0, u[row + min(k, K - 1u) * SU_K], k < K);
}

// acc + Σ_i U[m, k0 + i]·V[k0 + i, the lane's columns], where lane i of the subgroup holds U[m, k0 + i].
fn dot8(x: f32, vb: array<vec2f, 8>, acc: vec2f) -> vec2f {
  var s = fma(vec2f(subgroupBroadcast(x, 0u)), vb[0], acc);
  s = fma(vec2f(subgroupBroadcast(x, 1u)), vb[1], s);
  s = fma(vec2f(subgroupBroadcast(x, 2u)), vb[2], s);
  s = fma(vec2f(subgroupBroadcast(x, 3u)), vb[3], s);
  s = fma(vec2f(subgroupBroadcast(x, 4u)), vb[4], s);
  s = fma(vec2f(subgroupBroadcast(x, 5u)), vb[5], s);
  s = fma(vec2f(subgroupBroadcast(x, 6u)), vb[6], s);
  return fma(vec2f(subgroupBroadcast(x, 7u)), vb[7], s);
}

fn store_pair(m: u32, n: vec2u, acc: vec2f) {
  store_output(m, n.x, acc.x);
  store_output(m, n.y, acc.y);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) band_wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let wid = whole_grid_workgroup(band_wid);
  if (row_sums_workgroup(wid, lane, 8u)) {
    return;
  }
  begin_epilogue();
  let m0 = wid.y * ROWS;
  let n = lane_columns(wid.x * COLUMNS, lane);
  let columns = v_columns(n);
  let r0 = row_offset(m0);
  let r1 = row_offset(m0 + 1u);
  let r2 = row_offset(m0 + 2u);
  let r3 = row_offset(m0 + 3u);
  let r4 = row_offset(m0 + 4u);
  let r5 = row_offset(m0 + 5u);
  let r6 = row_offset(m0 + 6u);
  let r7 = row_offset(m0 + 7u);
  let r8 = row_offset(m0 + 8u);
  let r9 = row_offset(m0 + 9u);
  let r10 = row_offset(m0 + 10u);
  let r11 = row_offset(m0 + 11u);
  let r12 = row_offset(m0 + 12u);
  let r13 = row_offset(m0 + 13u);
  let r14 = row_offset(m0 + 14u);
  let r15 = row_offset(m0 + 15u);
  var a0 = vec2f();   // row m0 + i, columns n.x and n.y
  var a1 = vec2f();
  var a2 = vec2f();
  var a3 = vec2f();
  var a4 = vec2f();
  var a5 = vec2f();
  var a6 = vec2f();
  var a7 = vec2f();
  var a8 = vec2f();
  var a9 = vec2f();
  var a10 = vec2f();
  var a11 = vec2f();
  var a12 = vec2f();
  var a13 = vec2f();
  var a14 = vec2f();
  var a15 = vec2f();
  for (var k0 = 0u; k0 < K; k0 += 8u) {
    let vb = v_block(k0, columns);
    let k = k0 + lane;
    a0 = dot8(u_lane(r0, k), vb, a0);
    a1 = dot8(u_lane(r1, k), vb, a1);
    a2 = dot8(u_lane(r2, k), vb, a2);
    a3 = dot8(u_lane(r3, k), vb, a3);
    a4 = dot8(u_lane(r4, k), vb, a4);
    a5 = dot8(u_lane(r5, k), vb, a5);
    a6 = dot8(u_lane(r6, k), vb, a6);
    a7 = dot8(u_lane(r7, k), vb, a7);
    a8 = dot8(u_lane(r8, k), vb, a8);
    a9 = dot8(u_lane(r9, k), vb, a9);
    a10 = dot8(u_lane(r10, k), vb, a10);
    a11 = dot8(u_lane(r11, k), vb, a11);
    a12 = dot8(u_lane(r12, k), vb, a12);
    a13 = dot8(u_lane(r13, k), vb, a13);
    a14 = dot8(u_lane(r14, k), vb, a14);
    a15 = dot8(u_lane(r15, k), vb, a15);
  }
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
