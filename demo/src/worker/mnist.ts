// Fetches MNIST into the worker: the gzip-compressed copies, decompressed with
// DecompressionStream, or the raw IDX files where that is missing. Bytes are checked, not trusted:
// a host that already decoded the gzip (Content-Encoding) hands over raw IDX, which is used as is.
import { Dataset, MlpError } from 'webgpu-mlp';
import { GZIP_SUFFIX, MNIST_FILES } from '../mnist-files.ts';

export interface Mnist {
  /** The 60,000 images of the training file (validation is split from it per run). */
  readonly train: Dataset<Uint8Array>;
  readonly test: Dataset<Uint8Array>;
}

const GZIP_MAGIC = [0x1f, 0x8b];

async function readBody(response: Response, onBytes: (bytes: number) => void): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    onBytes(value.byteLength);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function fetchOk(url: URL): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new MlpError('DATA', `could not fetch ${url.href}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

/** The IDX bytes of one file, and its path (which names it in errors). */
async function fetchIdx(dataUrl: string, name: string, onBytes: (bytes: number) => void): Promise<{ bytes: Uint8Array; source: string }> {
  const compressed = typeof DecompressionStream !== 'undefined';
  const url = new URL(compressed ? name + GZIP_SUFFIX : name, dataUrl);
  let bytes = await readBody(await fetchOk(url), onBytes);
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) bytes = await gunzip(bytes);
  return { bytes, source: url.pathname };
}

/** Loads the four MNIST files; `onProgress` gets the megabytes received so far. */
export async function loadMnist(dataUrl: string, onProgress: (megabytes: number) => void): Promise<Mnist> {
  let received = 0;
  const onBytes = (bytes: number) => {
    received += bytes;
    onProgress(received / 1e6);
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [MNIST_FILES.trainImages, MNIST_FILES.trainLabels, MNIST_FILES.testImages, MNIST_FILES.testLabels].map((name) =>
      fetchIdx(dataUrl, name, onBytes),
    ),
  );
  // fromIdxBytes parses and checks the files (an MlpError with code 'DATA' names the bad one).
  const dataset = (name: string, images: { bytes: Uint8Array; source: string }, labels: { bytes: Uint8Array; source: string }) =>
    Dataset.fromIdxBytes(name, images.bytes, labels.bytes, { images: images.source, labels: labels.source });
  return { train: dataset('train', trainImages, trainLabels), test: dataset('test', testImages, testLabels) };
}
