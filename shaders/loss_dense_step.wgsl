// `train_dense_step`: train_dense (loss_batch.wgsl) followed, in the same workgroup, by the output
// layer's whole backward pass and its optimizer step, so that a training step's output layer costs one
// dispatch instead of three (loss, input grad, weight grad; src/kernels/loss.ts, denseLossStep).
// With W [C, IN] and b [C] at WEIGHTS_AT and BIAS_AT of the flat parameter buffer, x [B, IN] the layer's
// input (the stored output of the layer below: A, or H after dropout) and g = grad [B, C]:
//   1. logits, loss, records, status and g, exactly as train_dense;
//   2. dz [B, IN] = (g·W) ⊙ act'(A) ⊙ mask / keep, the layer below's pre-activation gradient, as the
//      matrix products' input grad epilogue computes it (matmul_common.wgsl, epilogue 2), from the
//      old W;
//   3. dW = gᵀ·x and db = Σ_r g[r], each element stepped in place by the optimizer (as
//      matmul_update.wgsl does), unless this step's loss went non-finite.
// Phases 2 and 3 spread their elements over the whole workgroup, with a storage barrier between
// phases: 2 needs every row's g, and 3 must not write W before every read of 2. The parameters are
// read and stepped through params4 only (an entry point may not use two views of one binding). One
// workgroup does the layer's three products (3·B·C·IN multiply-adds), so the host keeps it to small
// output layers.
// Prepend step_params.wgsl, optimizer_common.wgsl and one optimizer's file, activation_fns.wgsl
// (ACTIVATION: the layer below's), dropout_hash.wgsl and matmul_dropout.wgsl or matmul_no_dropout.wgsl
// (the layer below's dropout), the loss's row functions; then loss_batch.wgsl and this file.
// Where W and b start in params: multiples of 4 (the parameter layout aligns every tensor to 64 elements).
override WEIGHTS_AT: u32;
override BIAS_AT: u32;

// dz is the layer below's [B, IN] gradient; x is loss_batch.wgsl's dense_x4 (binding 7).
@group(0) @binding(15) var<storage, read_write> dz4: array<vec4f>;   // [B, IN / 4]

// The epilogue hooks' store part (matmul_dropout.wgsl calls it from begin_epilogue): nothing to prepare.
fn begin_store() {}

/** Row r of the output layer, x[r]·Wᵀ + b, into outputs[r·C ..]: dense_row, with W and b read from params. */
fn dense_row_from_params(r: u32) {
  let quads = shape.IN / 4u;
  let x0 = r * quads;
  for (var c = 0u; c < shape.C; c++) {
    let w0 = WEIGHTS_AT / 4u + c * quads;
    var z = vec4f(0.0);
    for (var k = 0u; k < quads; k++) {
      z = fma(dense_x4[x0 + k], params4[w0 + k], z);
    }
    let j = BIAS_AT + c;
    outputs[r * shape.C + c] = (z.x + z.y) + (z.z + z.w) + params4[j / 4u][j % 4u];
  }
}

/** dz at element i of the layer below's output, from (g·W)[i] and its stored output e[i]: epilogue 2. */
fn input_grad(sum: f32, stored: f32, i: u32) -> f32 {
  return dropout_apply(sum * activation_grad_from_output(activation_output(stored)), i);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn train_dense_step(@builtin(local_invocation_index) lid: u32) {
  // 1. As train_dense.
  for (var r = lid; r < step.rows; r += WORKGROUP_SIZE) {
    dense_row_from_params(r);
  }
  train_batch(lid);
  // Every row's g, and the status, visible to the whole workgroup.
  storageBarrier();

  // 2. The input grad, over all B rows (g is zero on padding rows, so theirs is zero, as the
  //    product's would be), four elements at a time.
  begin_epilogue();
  let quads = shape.IN / 4u;
  for (var e = lid; e < shape.B * quads; e += WORKGROUP_SIZE) {
    let r = e / quads;
    let k = e - r * quads;
    var sum = vec4f(0.0);
    for (var c = 0u; c < shape.C; c++) {
      sum = fma(vec4f(grad[r * shape.C + c]), params4[WEIGHTS_AT / 4u + c * quads + k], sum);
    }
    let stored = dense_x4[e];
    let i = 4u * e;
    dz4[e] = vec4f(input_grad(sum.x, stored.x, i), input_grad(sum.y, stored.y, i + 1u), input_grad(sum.z, stored.z, i + 2u), input_grad(sum.w, stored.w, i + 3u));
  }
  // Phase 2's reads of W before phase 3's writes.
  storageBarrier();

  // 3. dW and db, each element stepped where it is summed; nothing moves after a non-finite loss.
  if (status[0] != 0u) {
    return;
  }
  for (var e = lid; e < shape.C * quads; e += WORKGROUP_SIZE) {
    let c = e / quads;
    let k = e - c * quads;
    var sum = vec4f(0.0);
    for (var r = 0u; r < step.rows; r++) {
      sum = fma(vec4f(grad[r * shape.C + c]), dense_x4[r * quads + k], sum);
    }
    optimizer_step4(WEIGHTS_AT / 4u + e, sum, vec4f(config.weight_decay));
  }
  // b four at a time too: the elements past C are the tensor's alignment padding (zero gradient,
  // left at zero), which the optimizer's own kernel steps as well.
  for (var q = lid; q < (shape.C + 3u) / 4u; q += WORKGROUP_SIZE) {
    var sum = vec4f(0.0);
    for (var r = 0u; r < step.rows; r++) {
      for (var j = 0u; j < 4u; j++) {
        let c = 4u * q + j;
        if (c < shape.C) {
          sum[j] += grad[r * shape.C + c];
        }
      }
    }
    optimizer_step4(BIAS_AT / 4u + q, sum, vec4f(0.0));
  }
}
