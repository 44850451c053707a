// Kernel 2 (regblock). Shapes, strides and epilogue: matmul_common.wgsl (prepended).
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> e: array<f32>;        // bias [OUT] or A [B, IN]; unread by epilogue 0

fn u_element(i: u32) -> f32 {
  return u[i];
}

// Register blocking with neither workgroup memory nor subgroups, for software adapters that lack
// subgroups of 8. A workgroup of 16×4 invocations computes a 16×64 output tile; each invocation keeps
// 4×4 outputs in registers: rows m0 + 4·ty .. +3 and columns n0 + tx + 16j, so invocations next to
// each other in x load neighbouring V elements. Per k: 4 U and 4 V loads feed 16 FMAs. Indices are
// clamped rather than branched on, so the loop body is straight-line code; the clamped rows and
// columns compute values that store_output discards.

const TILE_M = 16u;
const TILE_N = 64u;

fn row_offset(m: u32) -> u32 {
  return min(m, M - 1u) * SU_M;
}

fn column_offset(n: u32) -> u32 {
  return min(n, N - 1u) * SV_N;
}

fn store_row(m: u32, n: u32, acc: vec4f) {
  store_output(m, n, acc.x);
  store_output(m, n + 16u, acc.y);
  store_output(m, n + 32u, acc.z);
  store_output(m, n + 48u, acc.w);
}

@compute @workgroup_size(16, 4)
fn main(@builtin(workgroup_id) band_wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let wid = whole_grid_workgroup(band_wid);
  if (row_sums_workgroup(wid, t, 64u)) {
    return;
  }
  begin_epilogue();
  let m = wid.y * TILE_M + 4u * lid.y;
  let n = wid.x * TILE_N + lid.x;
  let r = vec4u(row_offset(m), row_offset(m + 1u), row_offset(m + 2u), row_offset(m + 3u));
  let c = vec4u(column_offset(n), column_offset(n + 16u), column_offset(n + 32u), column_offset(n + 48u));
  var a0 = vec4f();   // row m, the four columns
  var a1 = vec4f();
  var a2 = vec4f();
  var a3 = vec4f();
  for (var k = 0u; k < K; k++) {
    let vk = k * SV_K;
    let b = vec4f(v[vk + c.x], v[vk + c.y], v[vk + c.z], v[vk + c.w]);
    let uk = k * SU_K;
    a0 = fma(vec4f(u[r.x + uk]), b, a0);
    a1 = fma(vec4f(u[r.y + uk]), b, a1);
    a2 = fma(vec4f(u[r.z + uk]), b, a2);
    a3 = fma(vec4f(u[r.w + uk]), b, a3);
  }
  store_row(m, n, a0);
  store_row(m + 1u, n, a1);
  store_row(m + 2u, n, a2);
  store_row(m + 3u, n, a3);
}
