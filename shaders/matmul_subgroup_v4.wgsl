// The V operand of the subgroup kernels (matmul_subgroup_common.wgsl) when it is contiguous along k
// (SV_K = 1, the forward's Wᵀ), with K, SV_N and the binding's offset multiples of 4
// (src/kernels/matmul.ts checks): each column's 4 values of a k block come in one vec4 load instead
// of four scalar ones (+25% on lavapipe).
@group(0) @binding(1) var<storage, read> v: array<vec4f>;

// Lane i of a workgroup starting at column n0 owns columns n0 + i and n0 + 8 + i.
fn lane_columns(n0: u32, lane: u32) -> vec2u {
  return vec2u(n0 + lane, n0 + LANES + lane);
}

// vec4 offsets of the lane's two columns (clamped: columns past N are computed, not stored).
fn v_columns(n: vec2u) -> vec2u {
  return min(n, vec2u(N - 1u)) * (SV_N / 4u);
}

// V[k, both columns] for k = k0..k0+3, k0 a multiple of 4 (k clamped: U is 0 past K, so those
// products are 0).
fn v_block4(k0: u32, columns: vec2u) -> array<vec2f, 4> {
  let a = v_quad(columns.x, k0);
  let b = v_quad(columns.y, k0);
  return array<vec2f, 4>(vec2f(a.x, b.x), vec2f(a.y, b.y), vec2f(a.z, b.z), vec2f(a.w, b.w));
}

fn v_quad(column: u32, k: u32) -> vec4f {
  return v[column + min(k, K - 1u) / 4u];
}
