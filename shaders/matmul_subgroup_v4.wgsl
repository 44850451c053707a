// The V operand of matmul_subgroup.wgsl when it is contiguous along k (SV_K = 1, the forward's Wᵀ),
// with K, SV_N and the binding's offset multiples of 4 (src/kernels/matmul.ts checks): each column's
// 8 values of a k block come in two vec4 loads instead of eight scalar ones (+25% on lavapipe).
@group(0) @binding(1) var<storage, read> v: array<vec4f>;

// Lane i of a workgroup starting at column n0 owns columns n0 + i and n0 + 8 + i.
fn lane_columns(n0: u32, lane: u32) -> vec2u {
  return vec2u(n0 + lane, n0 + 8u + lane);
}

// vec4 offsets of the lane's two columns (clamped: columns past N are computed, not stored).
fn v_columns(n: vec2u) -> vec2u {
  return min(n, vec2u(N - 1u)) * (SV_N / 4u);
}

// V[k, both columns] for k = k0..k0+7 (k clamped: U is 0 past K, so those products are 0).
fn v_block(k0: u32, columns: vec2u) -> array<vec2f, 8> {
  let a = v_quad(columns.x, k0);
  let b = v_quad(columns.y, k0);
  let c = v_quad(columns.x, k0 + 4u);
  let d = v_quad(columns.y, k0 + 4u);
  return array<vec2f, 8>(vec2f(a.x, b.x), vec2f(a.y, b.y), vec2f(a.z, b.z), vec2f(a.w, b.w),
                         vec2f(c.x, d.x), vec2f(c.y, d.y), vec2f(c.z, d.z), vec2f(c.w, d.w));
}

fn v_quad(column: u32, k: u32) -> vec4f {
  return v[column + min(k, K - 1u) / 4u];
}
