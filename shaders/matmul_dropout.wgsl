// The epilogue hooks of matmul_common.wgsl with inverted dropout fused in (prepend step_params.wgsl
// and dropout_hash.wgsl). Binding 14 is clear of the product's 0-5 and of the loss kernel's bindings
// (loss_dense_step.wgsl includes this file too); the step is step_params.wgsl's, in group 1.
//   forward     H[i] = kept(i) ? act(z + b)[i] / keep : 0, stored as the layer's output (the next
//               layer's input); the pre-dropout A is never stored.
//   input grad  dZ[i] = kept(i) ? (dY·W)[i] · act'(A[i]) / keep : 0, with e = H, the stored output of
//               the layer below, and A recovered as H·keep (0 where dropped, but those are masked).
// kept(i) is the element's draw in dropout_hash.wgsl: the same bits as the separate dropout kernel
// and the CPU reference (src/reference/dropout.ts). Recovering A costs a little rounding: H = A / keep
// and H·keep each round once, so the recovered A is within 1 ulp of A when the division is correctly
// rounded (as on lavapipe, x86 divps; checked in f32 over 10^6 values at six rates), a few ulp at
// WGSL's 2.5-ulp division bound. act' of it moves by at most |d act'/da| times that: ≤ 2^-21
// absolute for sigmoid and tanh (|a| ≤ 1), and not at all for ReLU (H·keep has the sign of A).
struct DropoutParams {
  seed: u32,             // run seed
  layer: u32,            // dense layer whose output the mask belongs to
  keep_threshold: u32,   // kept ⇔ dropout_bits(mask_stream, i) < keep_threshold (= floor(keep·2^32))
  keep: f32,             // 1 − rate
}

@group(0) @binding(14) var<uniform> dropout: DropoutParams;

// The (seed, t, layer) part of every element's hash (dropout_hash.wgsl), computed once per
// invocation: each kernel's main calls begin_epilogue() first.
var<private> mask_stream: u32;

fn begin_epilogue() {
  mask_stream = dropout_stream(dropout.seed, step.t, dropout.layer);
  begin_store();
}

fn dropout_apply(value: f32, i: u32) -> f32 {
  let kept = dropout_bits(mask_stream, i) < dropout.keep_threshold;
  return select(0.0, value / dropout.keep, kept);
}

fn activation_output(stored: f32) -> f32 {
  return stored * dropout.keep;
}
