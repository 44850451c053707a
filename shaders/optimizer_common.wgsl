// Prepended to every optimizer kernel (after step_params.wgsl): the bindings and helpers they share.
// Each optimizer's own file declares `config` (binding 0, a Params struct that starts with count,
// weights_end and weight_decay) and its state arrays (bindings 5 and up, with their vec4 views).
@group(0) @binding(2) var<storage, read> status: array<u32>;         // status[0] ≠ 0: a loss went non-finite
// [count] each: all weights, then all biases. The vec4 views of the same bindings serve the *_vec4
// entry points.
@group(0) @binding(3) var<storage, read_write> params: array<f32>;
@group(0) @binding(4) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> params4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> grads4: array<vec4<f32>>;

// Grid-stride loops (see activation.wgsl: the host caps the workgroups, any count works). Once a loss
// has gone non-finite every later step leaves all state as it is, so the parameters stay at their last
// finite values for the host to report (and a checkpoint to keep). The *_vec4 entry points move four
// elements per load (a software adapter pays per load, not per byte: bench/RESULTS.md); the host uses
// them when count and weights_end are multiples of 4, as the parameter layout's always are.
override WORKGROUP_SIZE: u32 = 256u;

// λ for weights (elements before weights_end), 0 for biases: biases are never decayed.
fn decay_at(i: u32) -> f32 {
  return select(0.0, config.weight_decay, i < config.weights_end);
}
