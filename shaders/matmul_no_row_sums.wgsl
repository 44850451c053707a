// The row-sum hook of the matmul kernels (matmul_row_sums.wgsl) for products without row sums: every
// workgroup computes the product.
fn row_sums_workgroup(wid: vec3u, lane: u32, lanes: u32) -> bool {
  return false;
}
