// SGD with momentum (PyTorch's torch.optim.SGD with momentum μ, dampening 0):
//   momentum:            g = grad + λw;  v = μv + g;  w −= lr·v
//   nesterov (NESTEROV): g = grad + λw;  v = μv + g;  w −= lr·(g + μv)
// λ applies to the weights only, never to biases. The state is v (optimizer_one_state.wgsl).
// Prepend step_params.wgsl, optimizer_common.wgsl and optimizer_one_state.wgsl.
struct Params {
  count: u32,          // elements of params (and grads) and velocity
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  momentum: f32,       // μ
}

@group(0) @binding(8) var<uniform> config: Params;

override NESTEROV: bool = false;

fn one_state_update(w: vec4<f32>, grad: vec4<f32>, v_in: vec4<f32>, decay: vec4<f32>) -> OneState4 {
  let g = grad + decay * w;
  let v = config.momentum * v_in + g;
  return OneState4(w - step.lr * select(v, g + config.momentum * v, NESTEROV), v);
}
