// SGD over the whole flat parameter buffer, one dispatch per step (PyTorch's torch.optim.SGD):
//   sgd (entry point sgd):            g = grad + λw;  w −= lr·g
//   momentum (entry point momentum):  g = grad + λw;  v = μv + g;  w −= lr·v
//   nesterov (momentum, NESTEROV):    g = grad + λw;  v = μv + g;  w −= lr·(g + μv)
// λ applies to the weights only (elements before weights_end), never to biases.
// Prepend step_params.wgsl.
struct Params {
  count: u32,          // elements of params, grads and velocity
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  momentum: f32,       // μ
}

@group(0) @binding(0) var<uniform> config: Params;
@group(0) @binding(1) var<uniform> step: StepParams;                 // lr
@group(0) @binding(2) var<storage, read> status: array<u32>;         // status[0] ≠ 0: a loss went non-finite
@group(0) @binding(3) var<storage, read_write> params: array<f32>;   // [count] all weights, then all biases
@group(0) @binding(4) var<storage, read> grads: array<f32>;          // [count]
@group(0) @binding(5) var<storage, read_write> velocity: array<f32>; // [count] (momentum only)

// A grid-stride loop (see activation.wgsl: the host caps the workgroups, any count works). Once a
// loss has gone non-finite every later step leaves all state as it is, so the parameters stay at
// their last finite values for the host to report (and a checkpoint to keep).
override WORKGROUP_SIZE: u32 = 256u;
override NESTEROV: bool = false;

/** The gradient with L2 weight decay (weights only). */
fn decayed_grad(i: u32) -> f32 {
  let decay = select(0.0, config.weight_decay, i < config.weights_end);
  return grads[i] + decay * params[i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    params[i] -= step.lr * decayed_grad(i);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn momentum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let g = decayed_grad(i);
    let v = config.momentum * velocity[i] + g;
    velocity[i] = v;
    params[i] -= step.lr * select(v, g + config.momentum * v, NESTEROV);
  }
}
