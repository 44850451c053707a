// Batch gather: rows batch_start .. batch_start + rows of the epoch's permutation pick samples and
// labels from the whole dataset resident on the GPU. Features are stored as u8 (images: x = byte /
// 255; entry points main, main_vec4) or as f32 (tables: x = (value − mean) · scale per feature, the
// model's standardization, the identity when it has none; main_f32, main_f32_vec4).
// Rows ≥ step.rows are padding (x = 0, y = 0). Prepend step_params.wgsl.
//
// A dataset larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on many adapters)
// is uploaded as several chunks of whole samples, each its own buffer; the gather is then one
// dispatch per chunk, each writing the batch rows whose sample lies in its chunk. The first
// chunk's dispatch also writes the labels and the padding rows. A dataset of one chunk is one
// dispatch, as before.
struct Params {
  B: u32,            // rows of the batch buffers
  IN: u32,           // features per sample (u8: bytes; need not be a multiple of 4)
  chunk_start: u32,  // the first sample of this dispatch's chunk
  chunk_rows: u32,   // samples in the chunk
  first_chunk: u32,  // 1: this dispatch also writes labels and padding rows
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> images: array<u32>;    // u8 features: [chunk_rows, IN] bytes, 4 per word, little-endian
@group(0) @binding(2) var<storage, read> values: array<f32>;    // f32 features: [chunk_rows, IN] (main_f32)
@group(0) @binding(2) var<storage, read> values4: array<vec4<f32>>;  // f32 features as [chunk_rows, IN/4] vec4 (main_f32_vec4)
@group(0) @binding(3) var<storage, read> labels: array<u32>;    // [N]
@group(0) @binding(4) var<storage, read> indices: array<u32>;   // [N] the epoch's permutation
@group(0) @binding(5) var<storage, read_write> x: array<f32>;   // [B, IN]
@group(0) @binding(6) var<storage, read_write> y: array<u32>;   // [B]
@group(0) @binding(5) var<storage, read_write> x4: array<vec4<f32>>;  // x as [B, IN/4] vec4 (main_vec4)
@group(0) @binding(7) var<storage, read> affine: array<f32>;    // f32 only: [2, IN] mean, then scale
@group(0) @binding(7) var<storage, read> affine4: array<vec4<f32>>;  // the same as [2, IN/4] vec4 (main_f32_vec4)

// A grid-stride loop over the elements of x (flat index e = r·IN + k; see activation.wgsl: the host
// caps the workgroups, any size works); the invocations that visit e < B also write label e.
// main_vec4 does the same four pixels at a time (one image word, one vec4 store) when IN is a
// multiple of 4, as for MNIST: a software adapter pays per load and store, not per byte.
override WORKGROUP_SIZE: u32 = 256u;

// b / 255 correctly rounded to f32, for a byte b. f32(b) / 255.0 is not exact everywhere (WebGPU
// allows 2.5 ulp for division), so build it from exactly rounded operations: b / 255 is the byte
// repeated forever in binary (0.bbbbbbbb bbbbbbbb ...). Take its first bits normalised to a full
// u32 (32 significant bits), set the lowest bit as a sticky bit (the bits beyond are never all
// zero, so no rounding tie is possible), convert (exactly rounded) and scale by a power of two.
fn byte_to_unit(b: u32) -> f32 {
  if (b == 0u) {
    return 0.0;
  }
  let bits = b * 0x01010101u;              // b/255 · 2^32, truncated
  let shift = countLeadingZeros(bits);     // ≤ 7 since bits ≥ 0x01010101
  let normalised = (bits << shift) | (b >> (8u - shift)) | 1u;
  return ldexp(f32(normalised), -32 - i32(shift));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var e = gid.x; e < params.B * params.IN; e += nwg.x * WORKGROUP_SIZE) {
    let r = e / params.IN;
    let k = e - r * params.IN;
    if (r < step.rows) {
      let n = indices[step.batch_start + r] - params.chunk_start;  // wraps above chunk_rows for an earlier chunk
      if (n < params.chunk_rows) {
        let byte_index = n * params.IN + k;
        let b = (images[byte_index >> 2u] >> (8u * (byte_index & 3u))) & 0xffu;
        x[e] = byte_to_unit(b);
      }
    } else if (params.first_chunk != 0u) {
      x[e] = 0.0;
    }
    write_label(e);
  }
}

// Label e of the batch, by the invocations whose flat index e is below B (first chunk only).
fn write_label(e: u32) {
  if (params.first_chunk == 0u) {
    return;
  }
  if (e < step.rows) {
    y[e] = labels[indices[step.batch_start + e]];
  } else if (e < params.B) {
    y[e] = 0u;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let words = params.IN / 4u;  // image words (and x vec4s) per row
  for (var e = gid.x; e < params.B * words; e += nwg.x * WORKGROUP_SIZE) {
    let r = e / words;
    if (r < step.rows) {
      let n = indices[step.batch_start + r] - params.chunk_start;
      if (n < params.chunk_rows) {
        let word = images[n * words + (e - r * words)];
        x4[e] = vec4(byte_to_unit(word & 0xffu), byte_to_unit((word >> 8u) & 0xffu), byte_to_unit((word >> 16u) & 0xffu), byte_to_unit(word >> 24u));
      }
    } else if (params.first_chunk != 0u) {
      x4[e] = vec4(0.0);
    }
    write_label(e);
  }
}

// f32 features: the same loop, standardizing each value: (v − mean) · scale, two correctly
// rounded f32 operations (the CPU reference computes exactly these).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var e = gid.x; e < params.B * params.IN; e += nwg.x * WORKGROUP_SIZE) {
    let r = e / params.IN;
    if (r < step.rows) {
      let n = indices[step.batch_start + r] - params.chunk_start;
      if (n < params.chunk_rows) {
        let k = e - r * params.IN;
        x[e] = (values[n * params.IN + k] - affine[k]) * affine[params.IN + k];
      }
    } else if (params.first_chunk != 0u) {
      x[e] = 0.0;
    }
    write_label(e);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_f32_vec4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let quads = params.IN / 4u;
  for (var e = gid.x; e < params.B * quads; e += nwg.x * WORKGROUP_SIZE) {
    let r = e / quads;
    if (r < step.rows) {
      let n = indices[step.batch_start + r] - params.chunk_start;
      if (n < params.chunk_rows) {
        let q = e - r * quads;
        x4[e] = (values4[n * quads + q] - affine4[q]) * affine4[quads + q];
      }
    } else if (params.first_chunk != 0u) {
      x4[e] = vec4(0.0);
    }
    write_label(e);
  }
}
