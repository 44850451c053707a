// The store hooks of matmul_common.wgsl for a weight grad that takes the optimizer step in its
// epilogue (src/kernels/matmul.ts, `update`). Each element of dW = dYᵀ·X, and each row sum of dY (the
// bias gradient, matmul_row_sums.wgsl), is complete in one invocation, since the batch is the
// product's k; so rather than storing it, the invocation steps that one parameter and its optimizer
// state in place: W[i] is element WEIGHTS_AT + i of the flat parameter buffer, b[m] element
// BIAS_AT + m. The gradient never goes to memory and the step has no dispatch of its own. Whatever
// reads this layer's W in the same step (its input grad) must run before. After a non-finite loss
// nothing changes, as in the optimizer's own kernel (optimizer.wgsl). Prepend step_params.wgsl,
// optimizer_common.wgsl and one optimizer's file.
@group(0) @binding(9) var<storage, read> status: array<u32>;   // status[0] ≠ 0: a loss went non-finite
override WEIGHTS_AT: u32;
override BIAS_AT: u32;

// Whether a loss has gone non-finite: read once per invocation (begin_store), not per element.
var<private> frozen: bool;

fn begin_store() {
  frozen = status[0] != 0u;
}

fn store_element(i: u32, grad: f32) {
  if (!frozen) {
    optimizer_step(WEIGHTS_AT + i, grad, config.weight_decay);
  }
}

// Biases are never decayed. (The row-sum workgroups store before begin_store: they read the status here.)
fn store_row_sum(m: u32, grad: f32) {
  if (status[0] == 0u) {
    optimizer_step(BIAS_AT + m, grad, 0.0);
  }
}
