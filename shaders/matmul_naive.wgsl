// Kernel 1 (naive). Shapes, strides and epilogue: matmul_common.wgsl (prepended).
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> e: array<f32>;        // bias [OUT] or A [B, IN]; unread by epilogue 0

fn u_element(i: u32) -> f32 {
  return u[i];
}

// One output element per invocation, a plain loop over k: the baseline the other variants are measured
// against and the simplest statement of the product. x runs along n so that neighbouring invocations
// write neighbouring outputs.
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) band_wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let wid = whole_grid_workgroup(band_wid);
  if (row_sums_workgroup(wid, lane, 64u)) {
    return;
  }
  begin_epilogue();
  let n = wid.x * 8u + lid.x;
  let m = wid.y * 8u + lid.y;
  if (m >= M || n >= N) {
    return;
  }
  var sum = 0.0;
  for (var k = 0u; k < K; k++) {
    sum = fma(u[m * SU_M + k * SU_K], v[k * SV_K + n * SV_N], sum);
  }
  store_output(m, n, sum);
}
