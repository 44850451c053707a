// Kernel 4 (subgroup), U loaded as vec4 along m: for U contiguous along m (SU_M = 1) with M, SU_K and
// the binding's offset multiples of 4 (src/kernels/matmul.ts checks): the weight grad's dYᵀ.
// matmul_subgroup_common.wgsl explains the plan. k advances in blocks of 4: lane i loads the 4 rows
// m0 + 4·(i % 4) .. +3 at k0 + i / 4 and at k0 + 2 + i / 4, two vec4 loads where the scalar kernel
// makes eight per 4 k (+14% on lavapipe, bench/RESULTS.md).
@group(0) @binding(0) var<storage, read> u: array<vec4f>;

fn u_element(i: u32) -> f32 {
  return u[i / 4u][i % 4u];
}

// U[m..m+3, k] (m a multiple of 4, clamped; 0 past K).
fn u_quad(m: u32, k: u32) -> vec4f {
  let q = u[(min(m, M - 4u) + min(k, K - 1u) * SU_K) / 4u];
  return select(vec4f(), q, k < K);
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
  let mine = m0 + 4u * (lane % 4u);   // this lane loads rows mine..mine+3
  let kk = lane / 4u;                  // ... at k0 + kk and k0 + 2 + kk
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
    let first = u_quad(mine, k0 + kk);
    let second = u_quad(mine, k0 + 2u + kk);
    let vb = v_block4(k0, columns);
    // Lane g (< 4) holds rows m0 + 4g.. at k0 (first) and k0 + 2 (second), lane 4 + g the same rows at k0 + 1 and k0 + 3.
    let f0 = subgroupBroadcast(first, 0u);
    let s0 = subgroupBroadcast(second, 0u);
    let f1 = subgroupBroadcast(first, 1u);
    let s1 = subgroupBroadcast(second, 1u);
    let f2 = subgroupBroadcast(first, 2u);
    let s2 = subgroupBroadcast(second, 2u);
    let f3 = subgroupBroadcast(first, 3u);
    let s3 = subgroupBroadcast(second, 3u);
    let f4 = subgroupBroadcast(first, 4u);
    let s4 = subgroupBroadcast(second, 4u);
    let f5 = subgroupBroadcast(first, 5u);
    let s5 = subgroupBroadcast(second, 5u);
    let f6 = subgroupBroadcast(first, 6u);
    let s6 = subgroupBroadcast(second, 6u);
    let f7 = subgroupBroadcast(first, 7u);
    let s7 = subgroupBroadcast(second, 7u);
    a0 = dot4(vec4f(f0.x, f4.x, s0.x, s4.x), vb, a0);
    a1 = dot4(vec4f(f0.y, f4.y, s0.y, s4.y), vb, a1);
    a2 = dot4(vec4f(f0.z, f4.z, s0.z, s4.z), vb, a2);
    a3 = dot4(vec4f(f0.w, f4.w, s0.w, s4.w), vb, a3);
    a4 = dot4(vec4f(f1.x, f5.x, s1.x, s5.x), vb, a4);
    a5 = dot4(vec4f(f1.y, f5.y, s1.y, s5.y), vb, a5);
    a6 = dot4(vec4f(f1.z, f5.z, s1.z, s5.z), vb, a6);
    a7 = dot4(vec4f(f1.w, f5.w, s1.w, s5.w), vb, a7);
    a8 = dot4(vec4f(f2.x, f6.x, s2.x, s6.x), vb, a8);
    a9 = dot4(vec4f(f2.y, f6.y, s2.y, s6.y), vb, a9);
    a10 = dot4(vec4f(f2.z, f6.z, s2.z, s6.z), vb, a10);
    a11 = dot4(vec4f(f2.w, f6.w, s2.w, s6.w), vb, a11);
    a12 = dot4(vec4f(f3.x, f7.x, s3.x, s7.x), vb, a12);
    a13 = dot4(vec4f(f3.y, f7.y, s3.y, s7.y), vb, a13);
    a14 = dot4(vec4f(f3.z, f7.z, s3.z, s7.z), vb, a14);
    a15 = dot4(vec4f(f3.w, f7.w, s3.w, s7.w), vb, a15);
  }
  store_block(m0, n, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
}
