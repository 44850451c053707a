// Row sums of U computed beside the product, in the same dispatch: with the weight grad's
// U[m, k] = dY[k, m] they are the bias gradient db[OUT] = Σ_b dY[b, :], which then needs no dispatch
// of its own (on lavapipe a small dispatch costs ~0.1 ms inside a step, and with 1-4 workgroups one
// of the two worker threads idles). src/kernels/matmul.ts appends workgroups to the product's grid:
// rows of workgroups past the first M_GROUPS each sum the rows of U of `lanes` consecutive m, one
// invocation per row, k in order (deterministic, no atomics; the same order as bias_grad.wgsl).
// The product is never transposed for these kernels, so U is always dY. Each kernel says how U is
// read element by element (u_element: its `u` may be an array of f32 or of vec4). Each sum goes to
// the store hook's store_row_sum (matmul_store.wgsl: into `sums`; matmul_update.wgsl: an optimizer step).

// Rows of workgroups that compute the product; those past it compute row sums.
override M_GROUPS: u32;

// Called first by each kernel's main; true for the row-sum workgroups, which then return.
fn row_sums_workgroup(wid: vec3u, lane: u32, lanes: u32) -> bool {
  if (wid.y < M_GROUPS) {
    return false;
  }
  let m = ((wid.y - M_GROUPS) * band.grid_columns + wid.x) * lanes + lane;
  if (m < M) {
    var sum = 0.0;
    for (var k = 0u; k < K; k++) {
      sum += u_element(m * SU_M + k * SU_K);
    }
    store_row_sum(m, sum);
  }
  return true;
}
