// One batch of a loss over the last layer's output, fused into one dispatch of one workgroup:
// per valid row the loss, the argmax and (training) the gradient row; then a deterministic
// workgroup reduction of the loss and of the correct count into this step's record.
// Prepend step_params.wgsl and one loss file (softmax_xent.wgsl or mse.wgsl), which defines
//   fn row_loss(base: u32, y: u32, best: u32) -> f32                  the row's loss
//   fn row_loss_and_grad(base: u32, y: u32, best: u32) -> f32         the same, writing grad[base + c]
// for the row of `outputs` at `base` (= r·C), its label y and its argmax `best` (softmax
// cross-entropy subtracts that row maximum; the squared error has no use for it).
//
// `train_dense` is `train` with the output layer in front (src/kernels/loss.ts, denseLoss): each row's
// logits, x[r]·Wᵀ + b, are computed by the invocation that owns the row and written to `outputs`,
// where the row functions then read them. One dispatch fewer per training step; the host keeps it to
// layers of few multiply-adds per row, since one workgroup does the whole batch. (loss_dense_step.wgsl
// adds the layer's backward pass and optimizer step after it.)
struct LossShape {
  B: u32,    // rows of outputs and grad (step.rows of them are valid; the rest are padding)
  C: u32,    // classes
  IN: u32,   // train_dense: inputs of the output layer (0 otherwise)
}

struct Record {
  loss_sum: f32,   // Σ over the valid rows of the row loss
  correct: u32,    // valid rows whose argmax is the label
}

@group(0) @binding(0) var<uniform> shape: LossShape;
// [B, C] logits (or outputs for MSE); written by train_dense (valid rows only), read by every entry.
@group(0) @binding(1) var<storage, read_write> outputs: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;           // [B]
@group(0) @binding(3) var<storage, read_write> records: array<Record>; // [steps]: this step writes records[step.record]
// Binding 5 is status for `train` and predictions for `evaluate` (WGSL allows two variables on one
// binding when no entry point uses both); binding 6 exists for `train` only.
@group(0) @binding(5) var<storage, read_write> status: array<u32>;      // train: status[0] = first step with a non-finite loss
@group(0) @binding(6) var<storage, read_write> grad: array<f32>;        // train: [B, C] d(loss_sum · inv_rows)/d outputs
@group(0) @binding(5) var<storage, read_write> predictions: array<u32>; // evaluate: [N] argmax, at step.batch_start + r
// train_dense only: the output layer's input and parameters (W is [C, IN], as PyTorch's nn.Linear),
// x and W as vec4 along IN (IN a multiple of 4, 16-byte aligned views): a software adapter pays per
// load, not per byte (bench/RESULTS.md).
@group(0) @binding(7) var<storage, read> dense_x4: array<vec4f>;   // [B, IN / 4]
@group(0) @binding(8) var<storage, read> dense_w4: array<vec4f>;   // [C, IN / 4]
@group(0) @binding(9) var<storage, read> dense_b: array<f32>;      // [C]

// Invocation i handles rows i, i + WORKGROUP_SIZE, ... one row at a time (a row is C contiguous
// values), accumulating its loss and correct count; a tree reduction in workgroup memory then sums
// the WORKGROUP_SIZE partials in a fixed order (no atomics: the same result on every run). One
// workgroup covers the batch: the batches are small (B·C = 1280 at B = 128, C = 10), and a single
// dispatch needs no second pass to combine workgroups.
override WORKGROUP_SIZE: u32 = 128u;   // a power of two (the tree reduction halves it)

var<workgroup> loss_partial: array<f32, WORKGROUP_SIZE>;
var<workgroup> correct_partial: array<u32, WORKGROUP_SIZE>;

/** Index of the row's largest output; ties (and NaNs) go to the lowest index. */
fn row_argmax(base: u32) -> u32 {
  var best = 0u;
  var best_value = outputs[base];
  for (var c = 1u; c < shape.C; c++) {
    let v = outputs[base + c];
    if (v > best_value) {
      best = c;
      best_value = v;
    }
  }
  return best;
}

fn is_finite(x: f32) -> bool {
  // The bit pattern, not x == x: compilers may assume floats are finite and fold comparisons.
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

/** Sums the invocations' partials (fixed order); invocation 0 gets the totals. */
fn reduce_batch(lid: u32, loss: f32, correct: u32) -> Record {
  loss_partial[lid] = loss;
  correct_partial[lid] = correct;
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lid < stride) {
      loss_partial[lid] += loss_partial[lid + stride];
      correct_partial[lid] += correct_partial[lid + stride];
    }
  }
  workgroupBarrier();
  return Record(loss_partial[0], correct_partial[0]);
}

/** Row r's loss, and whether its argmax is the label; writes its gradient row (training). */
fn train_row(r: u32) -> Record {
  let base = r * shape.C;
  let y = labels[r];
  let best = row_argmax(base);
  return Record(row_loss_and_grad(base, y, best), select(0u, 1u, best == y));
}

/** Row r of the output layer, x[r]·Wᵀ + b, into outputs[r·C ..]. */
fn dense_row(r: u32) {
  let quads = shape.IN / 4u;
  let x0 = r * quads;
  for (var c = 0u; c < shape.C; c++) {
    let w0 = c * quads;
    var z = vec4f(0.0);
    for (var k = 0u; k < quads; k++) {
      z = fma(dense_x4[x0 + k], dense_w4[w0 + k], z);
    }
    outputs[r * shape.C + c] = (z.x + z.y) + (z.z + z.w) + dense_b[c];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn train(@builtin(local_invocation_index) lid: u32) {
  train_batch(lid);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn train_dense(@builtin(local_invocation_index) lid: u32) {
  // Each invocation computes the logits of the rows it then takes the loss of: no barrier between.
  for (var r = lid; r < step.rows; r += WORKGROUP_SIZE) {
    dense_row(r);
  }
  train_batch(lid);
}

/** The training work once the logits are in outputs: every row's loss and gradient, then the record. */
fn train_batch(lid: u32) {
  var loss = 0.0;
  var correct = 0u;
  for (var r = lid; r < step.rows; r += WORKGROUP_SIZE) {
    let row = train_row(r);
    loss += row.loss_sum;
    correct += row.correct;
  }
  finish_training_batch(lid, loss, correct);
}

/** Zeroes the padding rows' gradient, then writes the step's record and flags a non-finite loss. */
fn finish_training_batch(lid: u32, loss: f32, correct: u32) {
  // Padding rows contribute nothing to the gradient.
  for (var i = step.rows * shape.C + lid; i < shape.B * shape.C; i += WORKGROUP_SIZE) {
    grad[i] = 0.0;
  }
  let total = reduce_batch(lid, loss, correct);
  if (lid == 0u) {
    records[step.record] = total;
    if (!is_finite(total.loss_sum) && status[0] == 0u) {
      status[0] = step.t;
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn evaluate(@builtin(local_invocation_index) lid: u32) {
  var loss = 0.0;
  var correct = 0u;
  for (var r = lid; r < step.rows; r += WORKGROUP_SIZE) {
    let base = r * shape.C;
    let y = labels[r];
    let best = row_argmax(base);
    correct += select(0u, 1u, best == y);
    loss += row_loss(base, y, best);
    predictions[step.batch_start + r] = best;
  }
  let total = reduce_batch(lid, loss, correct);
  if (lid == 0u) {
    records[step.record] = total;
  }
}
