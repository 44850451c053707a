// Adagrad (PyTorch's torch.optim.Adagrad with no learning-rate decay):
//   g = grad + λw;  G += g²;  w −= lr·g / (√G + eps)
// λ applies to the weights only, never to biases. Prepend step_params.wgsl and optimizer_common.wgsl.
struct Params {
  count: u32,          // elements of params (and grads) and sum_sq
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  eps: f32,
}

@group(0) @binding(8) var<uniform> config: Params;
@group(0) @binding(11) var<storage, read_write> sum_sq: array<f32>;   // G, the running Σ g² [count]
@group(0) @binding(11) var<storage, read_write> sum_sq4: array<vec4<f32>>;

struct Adagrad4 {
  w: vec4<f32>,
  sum_sq: vec4<f32>,
}

fn adagrad_update(w: vec4<f32>, grad: vec4<f32>, sum_sq_in: vec4<f32>, decay: vec4<f32>) -> Adagrad4 {
  let g = grad + decay * w;
  let G = sum_sq_in + g * g;
  return Adagrad4(w - step.lr * g / (sqrt(G) + config.eps), G);
}

fn optimizer_step(j: u32, g: f32, decay: f32) {
  let s = adagrad_update(vec4(params[j]), vec4(g), vec4(sum_sq[j]), vec4(decay));
  params[j] = s.w.x;
  sum_sq[j] = s.sum_sq.x;
}

fn optimizer_step4(j4: u32, g: vec4<f32>, decay: vec4<f32>) {
  let s = adagrad_update(params4[j4], g, sum_sq4[j4], decay);
  params4[j4] = s.w;
  sum_sq4[j4] = s.sum_sq;
}
