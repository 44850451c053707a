// Plain SGD (PyTorch's torch.optim.SGD without momentum): g = grad + λw;  w −= lr·g.
// λ applies to the weights only, never to biases. Prepend step_params.wgsl and optimizer_common.wgsl.
struct Params {
  count: u32,          // elements of params (and grads)
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
}

@group(0) @binding(8) var<uniform> config: Params;

fn sgd_update(w: vec4<f32>, grad: vec4<f32>, decay: vec4<f32>) -> vec4<f32> {
  return w - step.lr * (grad + decay * w);
}

fn optimizer_step(j: u32, g: f32, decay: f32) {
  params[j] = sgd_update(vec4(params[j]), vec4(g), vec4(decay)).x;
}

fn optimizer_step4(j4: u32, g: vec4<f32>, decay: vec4<f32>) {
  params4[j4] = sgd_update(params4[j4], g, decay);
}
