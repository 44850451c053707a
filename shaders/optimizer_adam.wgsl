// Adam and AdamW over the whole flat parameter buffer, one dispatch per step (PyTorch's
// torch.optim.Adam / AdamW):
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

@group(0) @binding(0) var<uniform> config: Params;
// [count] each, and their vec4 views for main_vec4.
@group(0) @binding(5) var<storage, read_write> exp_avg: array<f32>;     // m
@group(0) @binding(6) var<storage, read_write> exp_avg_sq: array<f32>;  // v
@group(0) @binding(5) var<storage, read_write> exp_avg4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> exp_avg_sq4: array<vec4<f32>>;

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

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let s = adam_update(vec4(params[i]), vec4(grads[i]), vec4(exp_avg[i]), vec4(exp_avg_sq[i]), vec4(decay_at(i)));
    params[i] = s.w.x;
    exp_avg[i] = s.m.x;
    exp_avg_sq[i] = s.v.x;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count / 4u; i += nwg.x * WORKGROUP_SIZE) {
    let s = adam_update(params4[i], grads4[i], exp_avg4[i], exp_avg_sq4[i], vec4(decay_at(4u * i)));
    params4[i] = s.w;
    exp_avg4[i] = s.m;
    exp_avg_sq4[i] = s.v;
  }
}
