// The epilogue hooks of matmul_common.wgsl for products without dropout: nothing to prepare but the
// store hook, the value is stored as it is, and e holds the activation output A itself.

fn begin_epilogue() {
  begin_store();
}

fn dropout_apply(value: f32, i: u32) -> f32 {
  return value;
}

fn activation_output(stored: f32) -> f32 {
  return stored;
}
