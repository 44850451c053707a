// Inverted dropout, the same in both directions: out = kept ? in / keep : 0 (forward: in = A,
// out = H; backward: in = dH, out = dA). Prepend step_params.wgsl and dropout_hash.wgsl.
struct Params {
  count: u32,            // elements of the [B, OUT] tensor
  seed: u32,             // run seed
  layer: u32,            // dense layer whose output this is
  keep_threshold: u32,   // kept ⇔ the element's dropout bits < keep_threshold (= floor(keep·2^32))
  keep: f32,             // 1 − rate
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;     // [count] out (holds in when in place)
@group(0) @binding(3) var<storage, read> src: array<f32>;           // [count] in (out of place only)

// A grid-stride loop (see activation.wgsl: the host caps the workgroups, any count works). Element
// i's mask bit is a pure hash of (seed, t, layer, i), so the backward pass redraws the forward mask
// instead of storing it; the (seed, t, layer) part of the hash is computed once per invocation.
override WORKGROUP_SIZE: u32 = 256u;

fn kept(stream: u32, i: u32) -> bool {
  return dropout_bits(stream, i) < params.keep_threshold;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stream = dropout_stream(params.seed, step.t, params.layer);
  for (var i = gid.x; i < params.count; i += nwg.x * WORKGROUP_SIZE) {
    dst[i] = select(0.0, src[i] / params.keep, kept(stream, i));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn in_place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stream = dropout_stream(params.seed, step.t, params.layer);
  for (var i = gid.x; i < params.count; i += nwg.x * WORKGROUP_SIZE) {
    dst[i] = select(0.0, dst[i] / params.keep, kept(stream, i));
  }
}
