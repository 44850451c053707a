// SGD with momentum (PyTorch's torch.optim.SGD with momentum μ, dampening 0):
//   momentum:            g = grad + λw;  v = μv + g;  w −= lr·v
//   nesterov (NESTEROV): g = grad + λw;  v = μv + g;  w −= lr·(g + μv)
// λ applies to the weights only, never to biases. Prepend step_params.wgsl and optimizer_common.wgsl.
struct Params {
  count: u32,          // elements of params (and grads) and velocity
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  momentum: f32,       // μ
}

@group(0) @binding(8) var<uniform> config: Params;
@group(0) @binding(11) var<storage, read_write> velocity: array<f32>; // [count]
@group(0) @binding(11) var<storage, read_write> velocity4: array<vec4<f32>>;

override NESTEROV: bool = false;

struct Momentum4 {
  w: vec4<f32>,
  v: vec4<f32>,
}

fn momentum_update(w: vec4<f32>, grad: vec4<f32>, v_in: vec4<f32>, decay: vec4<f32>) -> Momentum4 {
  let g = grad + decay * w;
  let v = config.momentum * v_in + g;
  return Momentum4(w - step.lr * select(v, g + config.momentum * v, NESTEROV), v);
}

fn optimizer_step(j: u32, g: f32, decay: f32) {
  let s = momentum_update(vec4(params[j]), vec4(g), vec4(velocity[j]), vec4(decay));
  params[j] = s.w.x;
  velocity[j] = s.v.x;
}

fn optimizer_step4(j4: u32, g: vec4<f32>, decay: vec4<f32>) {
  let s = momentum_update(params4[j4], g, velocity4[j4], decay);
  params4[j4] = s.w;
  velocity4[j4] = s.v;
}
