// The step of an optimizer that keeps one state array per parameter (momentum's velocity v,
// Adagrad's running G = Σ g²): that optimizer's file defines the update of four elements,
//   fn one_state_update(w: vec4<f32>, grad: vec4<f32>, s: vec4<f32>, decay: vec4<f32>) -> OneState4
// and this file loads and stores around it (optimizer_common.wgsl: optimizer_step, optimizer_step4).
// Prepend step_params.wgsl and optimizer_common.wgsl.
@group(0) @binding(11) var<storage, read_write> state: array<f32>;   // [count]
@group(0) @binding(11) var<storage, read_write> state4: array<vec4<f32>>;

struct OneState4 {
  w: vec4<f32>,
  s: vec4<f32>,
}

fn optimizer_step(j: u32, g: f32, decay: f32) {
  let r = one_state_update(vec4(params[j]), vec4(g), vec4(state[j]), vec4(decay));
  params[j] = r.w.x;
  state[j] = r.s.x;
}

fn optimizer_step4(j4: u32, g: vec4<f32>, decay: vec4<f32>) {
  let r = one_state_update(params4[j4], g, state4[j4], decay);
  params4[j4] = r.w;
  state4[j4] = r.s;
}
