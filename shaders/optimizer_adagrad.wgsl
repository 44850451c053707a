// Adagrad (PyTorch's torch.optim.Adagrad with no learning-rate decay):
//   g = grad + λw;  G += g²;  w −= lr·g / (√G + eps)
// λ applies to the weights only, never to biases. The state is G, the running Σ g²
// (optimizer_one_state.wgsl). Prepend step_params.wgsl, optimizer_common.wgsl and
// optimizer_one_state.wgsl.
struct Params {
  count: u32,          // elements of params (and grads) and sum_sq
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  eps: f32,
}

@group(0) @binding(8) var<uniform> config: Params;

fn one_state_update(w: vec4<f32>, grad: vec4<f32>, sum_sq_in: vec4<f32>, decay: vec4<f32>) -> OneState4 {
  let g = grad + decay * w;
  let G = sum_sq_in + g * g;
  return OneState4(w - step.lr * g / (sqrt(G) + config.eps), G);
}
