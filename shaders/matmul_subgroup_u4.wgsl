// Kernel 4 (subgroup), U loaded as vec4 along k: for U contiguous along k (SU_K = 1) with K, SU_M and
// the binding's offset multiples of 4 (src/kernels/matmul.ts checks): the forward's X and the input
// grad's dY. matmul_subgroup_common.wgsl explains the plan. k advances in blocks of 4: lane i loads
// U[m0 + 2i, k0..k0+3] and U[m0 + 2i + 1, k0..k0+3], two vec4 loads where the scalar kernel makes
// eight per 4 k (+16-17% on lavapipe, bench/RESULTS.md).
@group(0) @binding(0) var<storage, read> u: array<vec4f>;

fn u_element(i: u32) -> f32 {
  return u[i / 4u][i % 4u];
}

// U[m, k..k+3] (m clamped; k < K always, as K is a multiple of 4).
fn u_quad(m: u32, k: u32) -> vec4f {
  return u[(min(m, M - 1u) * SU_M + k) / 4u];
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
  let mine = m0 + 2u * lane;   // this lane loads rows mine and mine + 1
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
  for (var k0 = 0u; k0 < K; k0 += 4u) {
    let even = u_quad(mine, k0);
    let odd = u_quad(mine + 1u, k0);
    let vb = v_block4(k0, columns);
    a0 = dot4(subgroupBroadcast(even, 0u), vb, a0);
    a1 = dot4(subgroupBroadcast(odd, 0u), vb, a1);
    a2 = dot4(subgroupBroadcast(even, 1u), vb, a2);
    a3 = dot4(subgroupBroadcast(odd, 1u), vb, a3);
    a4 = dot4(subgroupBroadcast(even, 2u), vb, a4);
    a5 = dot4(subgroupBroadcast(odd, 2u), vb, a5);
    a6 = dot4(subgroupBroadcast(even, 3u), vb, a6);
    a7 = dot4(subgroupBroadcast(odd, 3u), vb, a7);
    a8 = dot4(subgroupBroadcast(even, 4u), vb, a8);
    a9 = dot4(subgroupBroadcast(odd, 4u), vb, a9);
    a10 = dot4(subgroupBroadcast(even, 5u), vb, a10);
    a11 = dot4(subgroupBroadcast(odd, 5u), vb, a11);
    a12 = dot4(subgroupBroadcast(even, 6u), vb, a12);
    a13 = dot4(subgroupBroadcast(odd, 6u), vb, a13);
    a14 = dot4(subgroupBroadcast(even, 7u), vb, a14);
    a15 = dot4(subgroupBroadcast(odd, 7u), vb, a15);
  }
  store_block(m0, n, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
}
