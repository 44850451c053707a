// Counter-based randomness for dropout, prepended to the kernels that draw masks. Each element's
// keep/drop decision is a pure function of (seed, step t, layer, element index), so the backward
// pass regenerates the forward mask instead of storing it, and the CPU reference draws the same
// mask bit for bit (src/reference/dropout.ts implements the same definition independently).
//
//   pcg(v): the PCG-RXS-M-XS output permutation of one LCG step (Jarzynski & Olano, JCGT 2020)
//   bits(seed, t, layer, i) = pcg(i + pcg(layer + pcg(t + pcg(seed))))        (u32 wrap-around)
//   keep element i  ⇔  bits < keep_threshold, where keep_threshold = floor((1 − rate) · 2^32)

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn dropout_bits(seed: u32, t: u32, layer: u32, i: u32) -> u32 {
  return pcg(i + pcg(layer + pcg(t + pcg(seed))));
}
