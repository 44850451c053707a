// Squared error against the one-hot label of one row, for loss_batch.wgsl:
// loss = ½ Σ_c (z_c − [c = y])², grad_c = (z_c − [c = y]) · inv_rows.

fn row_loss(base: u32, y: u32, best: u32) -> f32 {
  var loss = 0.0;
  for (var c = 0u; c < shape.C; c++) {
    let diff = outputs[base + c] - select(0.0, 1.0, c == y);
    loss += diff * diff;
  }
  return 0.5 * loss;
}

fn row_loss_and_grad(base: u32, y: u32, best: u32) -> f32 {
  var loss = 0.0;
  for (var c = 0u; c < shape.C; c++) {
    let diff = outputs[base + c] - select(0.0, 1.0, c == y);
    loss += diff * diff;
    grad[base + c] = diff * step.inv_rows;
  }
  return 0.5 * loss;
}
