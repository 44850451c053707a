// Adam and AdamW over the whole flat parameter buffer, one dispatch per step (PyTorch's
// torch.optim.Adam / AdamW):
//   adam:  g = grad + λw;                 m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//          w −= lr·(m / (1−β1^t)) / (√(v / (1−β2^t)) + eps)
//   adamw (DECOUPLED): w −= lr·λ·w first, then the same update with g = grad.
// λ applies to the weights only (elements before weights_end), never to biases. The bias
// corrections 1 − β^t change every step: the host computes them (in f64) into StepParams.
// Prepend step_params.wgsl.
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
@group(0) @binding(1) var<uniform> step: StepParams;                    // lr, bias_correction1/2
@group(0) @binding(2) var<storage, read> status: array<u32>;            // status[0] ≠ 0: a loss went non-finite
@group(0) @binding(3) var<storage, read_write> params: array<f32>;      // [count] all weights, then all biases
@group(0) @binding(4) var<storage, read> grads: array<f32>;             // [count]
@group(0) @binding(5) var<storage, read_write> exp_avg: array<f32>;     // [count] m
@group(0) @binding(6) var<storage, read_write> exp_avg_sq: array<f32>;  // [count] v

// A grid-stride loop (see activation.wgsl: the host caps the workgroups, any count works). Once a
// loss has gone non-finite every later step leaves all state as it is.
override WORKGROUP_SIZE: u32 = 256u;
override DECOUPLED: bool = false;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let decay = select(0.0, config.weight_decay, i < config.weights_end);
    var w = params[i];
    var g = grads[i];
    if (DECOUPLED) {
      w -= step.lr * decay * w;
    } else {
      g += decay * w;
    }
    let m = config.beta1 * exp_avg[i] + config.one_minus_beta1 * g;
    let v = config.beta2 * exp_avg_sq[i] + config.one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    params[i] = w - step.lr * (m / step.bias_correction1) / (sqrt(v / step.bias_correction2) + config.eps);
  }
}
