// Adagrad over the whole flat parameter buffer, one dispatch per step (PyTorch's torch.optim.Adagrad
// with no learning-rate decay): g = grad + λw;  G += g²;  w −= lr·g / (√G + eps).
// λ applies to the weights only (elements before weights_end), never to biases.
// Prepend step_params.wgsl.
struct Params {
  count: u32,          // elements of params, grads and sum_sq
  weights_end: u32,    // elements [0, weights_end) are weights (decayed); the rest are biases
  weight_decay: f32,   // λ
  eps: f32,
}

@group(0) @binding(0) var<uniform> config: Params;
@group(0) @binding(1) var<uniform> step: StepParams;                 // lr
@group(0) @binding(2) var<storage, read> status: array<u32>;         // status[0] ≠ 0: a loss went non-finite
@group(0) @binding(3) var<storage, read_write> params: array<f32>;   // [count] all weights, then all biases
@group(0) @binding(4) var<storage, read> grads: array<f32>;          // [count]
@group(0) @binding(5) var<storage, read_write> sum_sq: array<f32>;   // [count] G, the running Σ g²

// A grid-stride loop (see activation.wgsl: the host caps the workgroups, any count works). Once a
// loss has gone non-finite every later step leaves all state as it is.
override WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    let w = params[i];
    let g = grads[i] + select(0.0, config.weight_decay, i < config.weights_end) * w;
    let G = sum_sq[i] + g * g;
    sum_sq[i] = G;
    params[i] = w - step.lr * g / (sqrt(G) + config.eps);
  }
}
