// Per-step scalars, prepended to every kernel that reads them. The host writes one 256-byte slot
// per step of the epoch (src/kernels/step-params.ts mirrors this layout), so several steps share
// one submit, each reading its own slot.
struct StepParams {
  t: u32,                 // optimizer step, 1-based and counted across epochs (Adam, dropout stream)
  batch_start: u32,       // where this batch starts in the index buffer (the epoch's permutation)
  rows: u32,              // valid rows in this batch (≤ B): an epoch's last batch may be short
  record: u32,            // slot of the per-step metrics record this step writes
  lr: f32,                // learning rate for this step, after the schedule
  inv_rows: f32,          // 1 / rows: losses are means over the valid rows
  bias_correction1: f32,  // 1 − β1^t (Adam)
  bias_correction2: f32,  // 1 − β2^t (Adam)
}

// Group 1 holds only this binding, with the same layout in every pipeline (src/gpu/program.ts): a step
// binds it once, at its slot's dynamic offset, for all of its dispatches.
@group(1) @binding(0) var<uniform> step: StepParams;
