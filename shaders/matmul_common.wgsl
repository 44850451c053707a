// Prepended to every matmul kernel (after activation_fns.wgsl and the hook includes below): the
// one strided product all the variants compute, and its epilogue. Every kernel evaluates, for m < M
// and n < N,
//
//   o[i] = epilogue(Σ_k U[m, k]·V[k, n], m, n)   with i = m * SO_M + n * SO_N,
//   U[m, k] = u[m * SU_M + k * SU_K]  and  V[k, n] = v[k * SV_K + n * SV_N].
//
// src/kernels/matmul.ts maps a dense layer's three products onto it (W is [OUT, IN]):
//   forward      Y[B, OUT] = act(X·Wᵀ + b):    U = X [B, IN], V[k, n] = W[n, k], epilogue 1 with e = b
//   input grad   dX[B, IN] = (dY·W) ⊙ act'(A): U = dY [B, OUT], V = W,          epilogue 2 with e = A
//   weight grad  dW[OUT, IN] = dYᵀ·X:           U[m, k] = dY[k, m], V = X,       epilogue 0
// Every epilogue ends in dropout_apply(value, i) and reads A through activation_output(e[i]), both
// from the include in front: matmul_no_dropout.wgsl (the value and A as they are) or
// matmul_dropout.wgsl (inverted dropout at element i; A recovered from the stored post-dropout H).
// Each kernel's main first calls row_sums_workgroup (matmul_row_sums.wgsl: extra workgroups that
// compute the weight grad's bias gradient, or matmul_no_row_sums.wgsl), then begin_epilogue().
// What becomes of each value is the store hook's: store_element(i, value) and store_row_sum(m, sum)
// write o and sums (matmul_store.wgsl), or step the parameters in place (matmul_update.wgsl).
// i is the output's own index, which is the row-major index in the [B, OUT] forward output and the
// [B, IN] input gradient in either orientation (src/kernels/matmul.ts may swap U and V; the output
// strides swap with them). All indices are relative to the bindings, so operands may be views inside
// larger buffers.
override M: u32;
override N: u32;
override K: u32;
override SU_M: u32;
override SU_K: u32;
override SV_K: u32;
override SV_N: u32;
override SO_M: u32;
override SO_N: u32;
// Where epilogue 1 reads the bias: e[m * SE_M + n * SE_N].
override SE_M: u32 = 0u;
override SE_N: u32 = 0u;
// 0: the plain sum; 1: activate(sum + bias); 2: sum * act'(A), A read at the output's own index.
override EPILOGUE: u32 = 0u;

fn epilogue(sum: f32, m: u32, n: u32) -> f32 {
  let i = m * SO_M + n * SO_N;
  switch EPILOGUE {
    case 1u: { return dropout_apply(activate(sum + e[m * SE_M + n * SE_N]), i); }
    case 2u: { return dropout_apply(sum * activation_grad_from_output(activation_output(e[i])), i); }
    default: { return dropout_apply(sum, i); }
  }
}

// A product with more work than one dispatch should do is cut into bands of workgroup rows (and a
// grid wider than maxComputeWorkgroupsPerDimension into bands of columns), one dispatch per band
// (src/kernels/matmul.ts: no dispatch runs long enough to near a GPU watchdog). Each dispatch is told
// where its part starts; kernels see the whole grid through whole_grid_workgroup().
struct GridBand {
  first_row: u32,      // the whole grid's workgroup row (y) at which this dispatch starts
  first_column: u32,   // ... and its workgroup column (x)
  grid_columns: u32,   // workgroup columns of the whole grid
}
@group(0) @binding(4) var<uniform> band: GridBand;

fn whole_grid_workgroup(band_wid: vec3u) -> vec3u {
  return vec3u(band_wid.x + band.first_column, band_wid.y + band.first_row, band_wid.z);
}

// Tiles overhang the matrix edges; only elements inside it are stored.
fn store_output(m: u32, n: u32, sum: f32) {
  if (m < M && n < N) {
    store_element(m * SO_M + n * SO_N, epilogue(sum, m, n));
  }
}
