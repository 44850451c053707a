// Kernel 3 (tiled). Shapes, strides and epilogue: matmul_common.wgsl (prepended).
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> e: array<f32>;        // bias [OUT] or A [B, IN]; unread by epilogue 0

fn u_element(i: u32) -> f32 {
  return u[i];
}

// The classic GPU kernel, the default on real GPUs. A workgroup of 16×16 invocations computes a 64×64
// output tile. K is walked in steps of 16: the workgroup stages U[64 rows × 16] and V[16 × 64 columns]
// in workgroup memory (each invocation loads 4 + 4 elements, consecutive invocations reading
// consecutive addresses along whichever dimension is contiguous), then each invocation accumulates a
// 4×4 block: rows ty + 16i and columns tx + 16j, so the 16 invocations of a row read one broadcast U
// value and 16 consecutive V values per step.

const TILE = 64u;
const STEP = 16u;   // k per stage
var<workgroup> tile_u: array<f32, 1024>;   // [STEP, TILE]: tile_u[kk * TILE + mm] = U[m0 + mm, k0 + kk]
var<workgroup> tile_v: array<f32, 1024>;   // [STEP, TILE]: tile_v[kk * TILE + nn] = V[k0 + kk, n0 + nn]

fn load_u(m: u32, k: u32) -> f32 {
  if (m < M && k < K) {
    return u[m * SU_M + k * SU_K];
  }
  return 0.0;
}

fn load_v(k: u32, n: u32) -> f32 {
  if (k < K && n < N) {
    return v[k * SV_K + n * SV_N];
  }
  return 0.0;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) band_wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let wid = whole_grid_workgroup(band_wid);
  if (row_sums_workgroup(wid, t, 256u)) {
    return;
  }
  begin_epilogue();
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  var acc: array<vec4f, 4>;   // acc[i][j] = output (m0 + lid.y + 16i, n0 + lid.x + 16j)
  for (var k0 = 0u; k0 < K; k0 += STEP) {
    for (var i = 0u; i < 4u; i++) {
      let idx = t + 256u * i;
      if (SU_K == 1u) {
        tile_u[(idx % STEP) * TILE + idx / STEP] = load_u(m0 + idx / STEP, k0 + idx % STEP);
      } else {
        tile_u[(idx / TILE) * TILE + idx % TILE] = load_u(m0 + idx % TILE, k0 + idx / TILE);
      }
      if (SV_N == 1u) {
        tile_v[(idx / TILE) * TILE + idx % TILE] = load_v(k0 + idx / TILE, n0 + idx % TILE);
      } else {
        tile_v[(idx % STEP) * TILE + idx / STEP] = load_v(k0 + idx % STEP, n0 + idx / STEP);
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < STEP; kk++) {
      let row = kk * TILE;
      let b = vec4f(tile_v[row + lid.x], tile_v[row + lid.x + 16u], tile_v[row + lid.x + 32u], tile_v[row + lid.x + 48u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] = fma(vec4f(tile_u[row + lid.y + 16u * i]), b, acc[i]);
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      store_output(m, n0 + lid.x + 16u * j, acc[i][j]);
    }
  }
}
