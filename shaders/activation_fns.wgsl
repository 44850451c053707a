// Activation functions and their derivatives, prepended to kernels that apply them (the matmul
// epilogues and activation.wgsl). ACTIVATION is an override constant chosen at pipeline creation:
// 0 identity, 1 ReLU, 2 sigmoid, 3 tanh (src/kernels/includes.ts maps names to codes).
override ACTIVATION: u32 = 0u;

fn activate(z: f32) -> f32 {
  switch ACTIVATION {
    case 1u: { return max(z, 0.0); }
    case 2u: { return 1.0 / (1.0 + exp(-z)); }
    case 3u: { return tanh(z); }
    default: { return z; }
  }
}

// The derivative written in terms of the activation's output a = act(z): the backward pass keeps
// only post-activation values. ReLU's derivative at 0 is taken as 0 (as PyTorch does).
fn activation_grad_from_output(a: f32) -> f32 {
  switch ACTIVATION {
    case 1u: { return select(0.0, 1.0, a > 0.0); }
    case 2u: { return a * (1.0 - a); }
    case 3u: { return 1.0 - a * a; }
    default: { return 1.0; }
  }
}
