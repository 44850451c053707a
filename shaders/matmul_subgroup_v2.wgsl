// The V operand of the subgroup kernels (matmul_subgroup_common.wgsl) when it is contiguous along n
// (SV_N = 1: W in the input gradient, X in the weight gradient), with SV_K and the binding's offset
// even (src/kernels/matmul.ts checks): each lane owns two neighbouring columns and loads both with
// one vec2 load per k.
@group(0) @binding(1) var<storage, read> v: array<vec2f>;

// Lane i of a workgroup starting at column n0 owns columns n0 + 2i and n0 + 2i + 1.
fn lane_columns(n0: u32, lane: u32) -> vec2u {
  return vec2u(n0 + 2u * lane, n0 + 2u * lane + 1u);
}

// The vec2 offset of the lane's column pair (clamped: columns past N are computed, not stored).
fn v_columns(n: vec2u) -> vec2u {
  return vec2u(min(n.x, N - 1u) / 2u, 0u);   // .y is unused: one load covers both columns
}

// V[k, both columns] for k = k0..k0+3 (k clamped: U is 0 past K, so those products are 0).
fn v_block4(k0: u32, columns: vec2u) -> array<vec2f, 4> {
  return array<vec2f, 4>(v_row(k0, columns.x), v_row(k0 + 1u, columns.x), v_row(k0 + 2u, columns.x), v_row(k0 + 3u, columns.x));
}

fn v_row(k: u32, pair: u32) -> vec2f {
  return v[min(k, K - 1u) * (SV_K / 2u) + pair];
}
