// Adam and AdamW (PyTorch's torch.optim.Adam / AdamW):
//   adam:  g = grad + λw;                 m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//          w −= lr·(m / (1−β1^t)) / (√(v / (1−β2^t)) + eps)
//   adamw (DECOUPLED): w −= lr·λ·w first, then the same update with g = grad.
// λ applies to the weights only (elements before weights_end), never to biases. The bias
// corrections 1 − β^t change every step: the host computes them (in f64) into StepParams.
// Prepend step_params.wgsl and optimizer_common.wgsl.
struct Params {
  count: u32,          // elements of params, grads, exp_avg and exp_avg_sq
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  beta1: f32,
  beta2: f32,
  one_minus_beta1: f32,   // 1 − β1 and 1 − β2 rounded from f64: 1 − f32(0.999) is off by 1.3e-5
  one_minus_beta2: f32,
  eps: f32,
}

@group(0) @binding(8) var<uniform> config: Params;
// [count] each, and their vec4 views.
@group(0) @binding(11) var<storage, read_write> exp_avg: array<f32>;     // m
@group(0) @binding(12) var<storage, read_write> exp_avg_sq: array<f32>;  // v
@group(0) @binding(11) var<storage, read_write> exp_avg4: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> exp_avg_sq4: array<vec4<f32>>;

override DECOUPLED: bool = false;

struct Adam4 {
  w: vec4<f32>,
  m: vec4<f32>,
  v: vec4<f32>,
}

// The update of four elements; `decay` is λ for weights and 0 for biases.
fn adam_update(w_in: vec4<f32>, g_in: vec4<f32>, m_in: vec4<f32>, v_in: vec4<f32>, decay: vec4<f32>) -> Adam4 {
  var w = w_in;
  var g = g_in;
  if (DECOUPLED) {
    w -= step.lr * decay * w;
  } else {
    g += decay * w;
  }
  let m = config.beta1 * m_in + config.one_minus_beta1 * g;
  let v = config.beta2 * v_in + config.one_minus_beta2 * g * g;
  return Adam4(w - step.lr * (m / step.bias_correction1) / (sqrt(v / step.bias_correction2) + config.eps), m, v);
}

fn optimizer_step(j: u32, g: f32, decay: f32) {
  let s = adam_update(vec4(params[j]), vec4(g), vec4(exp_avg[j]), vec4(exp_avg_sq[j]), vec4(decay));
  params[j] = s.w.x;
  exp_avg[j] = s.m.x;
  exp_avg_sq[j] = s.v.x;
}

fn optimizer_step4(j4: u32, g: vec4<f32>, decay: vec4<f32>) {
  let s = adam_update(params4[j4], g, exp_avg4[j4], exp_avg_sq4[j4], decay);
  params4[j4] = s.w;
  exp_avg4[j4] = s.m;
  exp_avg_sq4[j4] = s.v;
}
