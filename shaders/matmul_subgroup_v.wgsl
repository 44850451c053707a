// The V operand of the subgroup kernels (matmul_subgroup_common.wgsl) for any strides: scalar loads.
@group(0) @binding(1) var<storage, read> v: array<f32>;

// Lane i of a workgroup starting at column n0 owns columns n0 + i and n0 + 8 + i.
fn lane_columns(n0: u32, lane: u32) -> vec2u {
  return vec2u(n0 + lane, n0 + LANES + lane);
}

// Offsets of the lane's two columns (clamped: columns past N are computed, not stored).
fn v_columns(n: vec2u) -> vec2u {
  return min(n, vec2u(N - 1u)) * SV_N;
}

// V[k, both columns] for k = k0..k0+3 (k clamped: U is 0 there, so the product is too).
fn v_block4(k0: u32, columns: vec2u) -> array<vec2f, 4> {
  return array<vec2f, 4>(v_pair(k0, columns), v_pair(k0 + 1u, columns), v_pair(k0 + 2u, columns), v_pair(k0 + 3u, columns));
}

fn v_pair(k: u32, columns: vec2u) -> vec2f {
  let row = min(k, K - 1u) * SV_K;
  return vec2f(v[row + columns.x], v[row + columns.y]);
}
