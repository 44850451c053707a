// SGD over the whole flat parameter buffer, one dispatch per step (PyTorch's torch.optim.SGD):
//   sgd (entry points sgd, sgd_vec4):            g = grad + λw;  w −= lr·g
//   momentum (entry points momentum, momentum_vec4): g = grad + λw;  v = μv + g;  w −= lr·v
//   nesterov (momentum, NESTEROV):               g = grad + λw;  v = μv + g;  w −= lr·(g + μv)
// λ applies to the weights only (elements before weights_end), never to biases.
// Prepend step_params.wgsl and optimizer_common.wgsl.
struct Params {
  count: u32,          // elements of params, grads and velocity
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  momentum: f32,       // μ
}

@group(0) @binding(0) var<uniform> config: Params;
@group(0) @binding(5) var<storage, read_write> velocity: array<f32>; // [count] (momentum only)
@group(0) @binding(5) var<storage, read_write> velocity4: array<vec4<f32>>;

override NESTEROV: bool = false;

struct Momentum4 {
  w: vec4<f32>,
  v: vec4<f32>,
}

// The gradient with L2 weight decay; `decay` is λ for weights and 0 for biases.
fn decayed(w: vec4<f32>, grad: vec4<f32>, decay: vec4<f32>) -> vec4<f32> {
  return grad + decay * w;
}

fn momentum_update(w: vec4<f32>, grad: vec4<f32>, v_in: vec4<f32>, decay: vec4<f32>) -> Momentum4 {
  let g = decayed(w, grad, decay);
  let v = config.momentum * v_in + g;
  return Momentum4(w - step.lr * select(v, g + config.momentum * v, NESTEROV), v);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let w = params[i];
    params[i] = w - step.lr * decayed(vec4(w), vec4(grads[i]), vec4(decay_at(i))).x;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count / 4u; i += nwg.x * WORKGROUP_SIZE) {
    let w = params4[i];
    params4[i] = w - step.lr * decayed(w, grads4[i], vec4(decay_at(4u * i)));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let s = momentum_update(vec4(params[i]), vec4(grads[i]), vec4(velocity[i]), vec4(decay_at(i)));
    params[i] = s.w.x;
    velocity[i] = s.v.x;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn momentum_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count / 4u; i += nwg.x * WORKGROUP_SIZE) {
    let s = momentum_update(params4[i], grads4[i], velocity4[i], vec4(decay_at(4u * i)));
    params4[i] = s.w;
    velocity4[i] = s.v;
  }
}
