// Elementwise activation, forward A = act(Z) and backward dZ = dA ⊙ act'(A), over `count` elements
// of any shape. Prepend activation_fns.wgsl (override ACTIVATION picks the function).
struct Params {
  count: u32,   // elements
}

@group(0) @binding(0) var<uniform> params: Params;
// Every entry point writes dst; the in-place ones also read their input from it. Binding 2 is Z for
// the forward pass and A for the backward pass: each entry point uses only the bindings it names.
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;   // [count] A (forward) or dZ (backward)
@group(0) @binding(2) var<storage, read> src: array<f32>;         // [count] Z (forward) or A (backward)
@group(0) @binding(3) var<storage, read> grad_src: array<f32>;    // [count] dA (backward, out of place)

// A grid-stride loop: invocation g handles elements g, g + S, g + 2S, ... where S is the number of
// invocations dispatched. The host caps the workgroups (a few on lavapipe, where one element per
// invocation spends most of its time starting invocations; a few thousand on a GPU), so any count
// works with a 1-D dispatch.
override WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < params.count; i += nwg.x * WORKGROUP_SIZE) {
    dst[i] = activate(src[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward_in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < params.count; i += nwg.x * WORKGROUP_SIZE) {
    dst[i] = activate(dst[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < params.count; i += nwg.x * WORKGROUP_SIZE) {
    dst[i] = grad_src[i] * activation_grad_from_output(src[i]);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward_in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < params.count; i += nwg.x * WORKGROUP_SIZE) {
    dst[i] = dst[i] * activation_grad_from_output(src[i]);
  }
}
