// Prepended (after step_params.wgsl) to every optimizer step, whether in the optimizer's own kernel
// (optimizer.wgsl), in a weight grad's epilogue (matmul_update.wgsl) or in the loss kernel's output
// layer (loss_dense_step.wgsl): the bindings all share. (Each declares the status it reads itself:
// the loss kernel writes it.)
// Each optimizer's file (optimizer_sgd.wgsl, optimizer_momentum.wgsl, optimizer_adagrad.wgsl,
// optimizer_adam.wgsl) declares `config` (binding 8: a Params struct that starts with count,
// weights_end and weight_decay) and its state arrays (bindings 11 and 12, with vec4 views), and
// defines the step of one element and of four (momentum and Adagrad, which keep one state array,
// through optimizer_one_state.wgsl):
//   fn optimizer_step(j: u32, g: f32, decay: f32)
//   fn optimizer_step4(j4: u32, g: vec4<f32>, decay: vec4<f32>)
// which update element j (vec4 j4) of params and of the state in place, given its gradient g and
// its weight decay (λ for weights, 0 for biases). The numbers are fixed (BINDING in
// src/kernels/optimizer.ts) and clear of the matrix products' 0-5, the loss kernel's 0-7 and 15, and
// fused dropout's 14.
// [count]: all weights, then all biases; and its vec4 view.
@group(0) @binding(10) var<storage, read_write> params: array<f32>;
@group(0) @binding(10) var<storage, read_write> params4: array<vec4<f32>>;
