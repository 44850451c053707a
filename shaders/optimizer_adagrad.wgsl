// Adagrad over the whole flat parameter buffer, one dispatch per step (PyTorch's torch.optim.Adagrad
// with no learning-rate decay): g = grad + λw;  G += g²;  w −= lr·g / (√G + eps).
// λ applies to the weights only (elements before weights_end), never to biases.
// Prepend step_params.wgsl and optimizer_common.wgsl.
struct Params {
  count: u32,          // elements of params, grads and sum_sq
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  eps: f32,
}

@group(0) @binding(0) var<uniform> config: Params;
@group(0) @binding(5) var<storage, read_write> sum_sq: array<f32>;   // G, the running Σ g² [count]
@group(0) @binding(5) var<storage, read_write> sum_sq4: array<vec4<f32>>;

struct Adagrad4 {
  w: vec4<f32>,
  sum_sq: vec4<f32>,
}

// The update of four elements; `decay` is λ for weights and 0 for biases.
fn adagrad_update(w: vec4<f32>, grad: vec4<f32>, sum_sq_in: vec4<f32>, decay: vec4<f32>) -> Adagrad4 {
  let g = grad + decay * w;
  let G = sum_sq_in + g * g;
  return Adagrad4(w - step.lr * g / (sqrt(G) + config.eps), G);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let s = adagrad_update(vec4(params[i]), vec4(grads[i]), vec4(sum_sq[i]), vec4(decay_at(i)));
    params[i] = s.w.x;
    sum_sq[i] = s.sum_sq.x;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count / 4u; i += nwg.x * WORKGROUP_SIZE) {
    let s = adagrad_update(params4[i], grads4[i], sum_sq4[i], vec4(decay_at(4u * i)));
    params4[i] = s.w;
    sum_sq4[i] = s.sum_sq;
  }
}
