// Counter-based randomness for dropout, prepended to the kernels that draw masks. Each element's
// keep/drop decision is a pure function of (seed, step t, layer, element index), so the backward
// pass regenerates the forward mask instead of storing it, and the CPU reference draws the same
// mask bit for bit (src/reference/dropout.ts implements the same definition independently).
//
//   pcg(v): the PCG-RXS-M-XS output permutation of one LCG step (Jarzynski & Olano, JCGT 2020)
//   bits(seed, t, layer, i) = pcg(i + pcg(layer + pcg(t + pcg(seed))))        (u32 wrap-around)
//   keep element i  ⇔  bits < keep_threshold, where keep_threshold = floor((1 − rate) · 2^32)
//
// The inner part, stream = pcg(layer + pcg(t + pcg(seed))), is the same for every element of a
// layer's mask at a step: kernels compute it once per invocation (dropout_stream), then one pcg per
// element (dropout_bits). Redone per element, it made the fused forward 128x784->256 + dropout cost
// 3.28-3.40 ms of CPU on lavapipe instead of 2.96-3.03 (no dropout: 2.86-2.94).

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn dropout_stream(seed: u32, t: u32, layer: u32) -> u32 {
  return pcg(layer + pcg(t + pcg(seed)));
}

// The 32 random bits of element i: bits(seed, t, layer, i) with stream = dropout_stream(seed, t, layer).
fn dropout_bits(stream: u32, i: u32) -> u32 {
  return pcg(i + stream);
}
