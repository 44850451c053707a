// Bias gradient: db[OUT] = Σ_b dY[b, :], the column sums of the layer's output gradient.
struct Params {
  B: u32,     // rows of dY
  OUT: u32,   // columns of dY
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;          // [B, OUT]
@group(0) @binding(2) var<storage, read_write> db: array<f32>;    // [OUT]

// A workgroup owns COLS adjacent columns (adjacent invocations read adjacent addresses) and splits
// the rows among ROW_SPLIT invocations per column: invocation (c, s) sums rows s, s + ROW_SPLIT, ...
// Their partial sums meet in workgroup memory and the s = 0 invocation adds them in order s = 0, 1, ...
// No float atomics: the result is the same on every run.
override COLS: u32 = 64u;
override ROW_SPLIT: u32 = 4u;

var<workgroup> partial: array<f32, COLS * ROW_SPLIT>;

@compute @workgroup_size(COLS, ROW_SPLIT)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = wid.x * COLS + lid.x;
  var sum = 0.0;
  if (col < params.OUT) {
    for (var row = lid.y; row < params.B; row += ROW_SPLIT) {
      sum += dy[row * params.OUT + col];
    }
  }
  partial[lid.y * COLS + lid.x] = sum;
  workgroupBarrier();
  if (lid.y == 0u && col < params.OUT) {
    var total = partial[lid.x];
    for (var s = 1u; s < ROW_SPLIT; s++) {
      total += partial[s * COLS + lid.x];
    }
    db[col] = total;
  }
}
