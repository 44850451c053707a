// Softmax cross-entropy of one row, for loss_batch.wgsl. With m the row's max (at `best`) and
// s = Σ_c exp(z_c − m): loss = log(s) + m − z_y (log-sum-exp minus the label's logit, with the
// large terms cancelled before they are added), and grad_c = (exp(z_c − m)/s − [c = y]) · inv_rows.
// exp never sees a positive argument, so logits of any size stay finite.

fn row_sum_exp(base: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < shape.C; c++) {
    s += exp(outputs[base + c] - m);
  }
  return s;
}

fn row_loss(base: u32, y: u32, best: u32) -> f32 {
  let m = outputs[base + best];
  return log(row_sum_exp(base, m)) + (m - outputs[base + y]);
}

fn row_loss_and_grad(base: u32, y: u32, best: u32) -> f32 {
  let m = outputs[base + best];
  let s = row_sum_exp(base, m);
  let inv_s = 1.0 / s;
  for (var c = 0u; c < shape.C; c++) {
    let p = exp(outputs[base + c] - m) * inv_s;
    grad[base + c] = (p - select(0.0, 1.0, c == y)) * step.inv_rows;
  }
  return log(s) + (m - outputs[base + y]);
}
