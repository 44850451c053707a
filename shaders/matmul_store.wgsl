// The store hooks of matmul_common.wgsl: each output element goes to o, each row sum (the weight
// grad's bias gradient, matmul_row_sums.wgsl) to sums. (matmul_update.wgsl steps the parameters
// instead.)
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
@group(0) @binding(5) var<storage, read_write> sums: array<f32>;   // [M]: sums[m] = Σ_k U[m, k]

fn begin_store() {}

fn store_element(i: u32, value: f32) {
  o[i] = value;
}

fn store_row_sum(m: u32, sum: f32) {
  sums[m] = sum;
}
