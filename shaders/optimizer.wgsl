// The optimizer step as a kernel of its own: one dispatch over the whole flat parameter buffer
// (weights, then biases), once the backward pass has stored every gradient. (The training plan
// takes the step in each weight grad's epilogue instead, matmul_update.wgsl; this kernel serves the
// unfused plan.) Prepend step_params.wgsl, optimizer_common.wgsl and one optimizer's file.
@group(0) @binding(9) var<storage, read> status: array<u32>;   // status[0] ≠ 0: a loss went non-finite
@group(0) @binding(13) var<storage, read> grads: array<f32>;        // [count]
@group(0) @binding(13) var<storage, read> grads4: array<vec4<f32>>;

// Grid-stride loops (see activation.wgsl: the host caps the workgroups, any count works). Once a loss
// has gone non-finite every later step leaves all state as it is, so the parameters stay at their last
// finite values for the host to report (and a checkpoint to keep). main_vec4 moves four elements per
// load (a software adapter pays per load, not per byte: bench/RESULTS.md); the host uses it when count
// and weights_end are multiples of 4, as the parameter layout's always are.
override WORKGROUP_SIZE: u32 = 256u;

// λ for weights (elements before weights_end), 0 for biases: biases are never decayed.
fn decay_at(i: u32) -> f32 {
  return select(0.0, config.weight_decay, i < config.weights_end);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count; i += nwg.x * WORKGROUP_SIZE) {
    optimizer_step(i, grads[i], decay_at(i));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (status[0] != 0u) {
    return;
  }
  for (var i = gid.x; i < config.count / 4u; i += nwg.x * WORKGROUP_SIZE) {
    optimizer_step4(i, grads4[i], vec4(decay_at(4u * i)));
  }
}
