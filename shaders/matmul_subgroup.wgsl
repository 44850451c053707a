// Kernel 4 (subgroup), U loaded as scalars: for any strides (matmul_subgroup_common.wgsl explains the
// plan). k advances in blocks of 8: lane i loads U[m, k0 + i] of each row, and the broadcasts give
// every lane the row's 8 values.
@group(0) @binding(0) var<storage, read> u: array<f32>;

fn u_element(i: u32) -> f32 {
  return u[i];
}

fn row_offset(m: u32) -> u32 {
  return min(m, M - 1u) * SU_M;
}

// This lane's element of a U row (row_offset given) at column k; 0 past K.
fn u_lane(row: u32, k: u32) -> f32 {
  return select(0.0, u[row + min(k, K - 1u) * SU_K], k < K);
}

// acc + Σ_i U[m, k0 + i]·V[k0 + i, the lane's columns], where lane i of the subgroup holds U[m, k0 + i].
fn dot8(x: f32, low: array<vec2f, 4>, high: array<vec2f, 4>, acc: vec2f) -> vec2f {
  let s = dot4(vec4f(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u)), low, acc);
  return dot4(vec4f(subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u)), high, s);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) band_wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let wid = whole_grid_workgroup(band_wid);
  if (row_sums_workgroup(wid, lane, LANES)) {
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
    let low = v_block4(k0, columns);
    let high = v_block4(k0 + 4u, columns);
    let k = k0 + lane;
    a0 = dot8(u_lane(r0, k), low, high, a0);
    a1 = dot8(u_lane(r1, k), low, high, a1);
    a2 = dot8(u_lane(r2, k), low, high, a2);
    a3 = dot8(u_lane(r3, k), low, high, a3);
    a4 = dot8(u_lane(r4, k), low, high, a4);
    a5 = dot8(u_lane(r5, k), low, high, a5);
    a6 = dot8(u_lane(r6, k), low, high, a6);
    a7 = dot8(u_lane(r7, k), low, high, a7);
    a8 = dot8(u_lane(r8, k), low, high, a8);
    a9 = dot8(u_lane(r9, k), low, high, a9);
    a10 = dot8(u_lane(r10, k), low, high, a10);
    a11 = dot8(u_lane(r11, k), low, high, a11);
    a12 = dot8(u_lane(r12, k), low, high, a12);
    a13 = dot8(u_lane(r13, k), low, high, a13);
    a14 = dot8(u_lane(r14, k), low, high, a14);
    a15 = dot8(u_lane(r15, k), low, high, a15);
  }
  store_block(m0, n, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
}
