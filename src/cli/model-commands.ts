// `eval`, `predict` and `info`: the commands that use a trained model or just the adapter.
import { loadCheckpoint } from '../checkpoint/files.ts';
import { checkSetFitsModel } from '../data/dataset.ts';
import { defaultDataDir, loadIdxDataset } from '../data/files.ts';
import { readImageFile } from '../data/image-file.ts';
import { preprocessDigit, toModelInput } from '../data/preprocess.ts';
import { adapterName, openGpu, type GpuContext } from '../gpu/device.ts';
import { optimizerConfig } from '../model/optimizer.ts';
import { classCount, describeSpec, inputSize } from '../model/spec.ts';
import { ReferenceMlp } from '../reference/mlp.ts';
import { evaluateParams, InferencePlan, softmaxRows } from '../train/inference.ts';
import { confusionMatrix } from '../train/metrics.ts';
import { EXIT, UsageError } from './errors.ts';

async function withGpu<T>(device: 'gpu' | 'cpu', body: (gpu: GpuContext | undefined) => Promise<T>): Promise<T> {
  if (device === 'cpu') return body(undefined);
  const gpu = await openGpu();
  try {
    return await body(gpu);
  } finally {
    gpu.close();
  }
}

export async function evalCommand(
  path: string,
  flags: { dataDir?: string; set: 'test' | 'train'; device: 'gpu' | 'cpu'; batchSize: number; json?: boolean },
): Promise<number> {
  if (!(flags.batchSize >= 1)) throw new UsageError(`--batch-size must be an integer ≥ 1, found ${flags.batchSize}`);
  const checkpoint = await loadCheckpoint(path);
  const dir = flags.dataDir ?? defaultDataDir();
  const dataset = await loadIdxDataset(dir);
  const set = dataset[flags.set];
  const C = classCount(checkpoint.spec);
  checkSetFitsModel(set, inputSize(checkpoint.spec), C, `${dir} (${flags.set} file)`);
  const result = await withGpu(flags.device, (gpu) => evaluateParams(checkpoint.spec, checkpoint.params, set, flags.batchSize, gpu));
  const matrix = confusionMatrix(result.predictions, set.labels, C);
  if (flags.json) {
    const { predictions: _predictions, ...metrics } = result;
    console.log(JSON.stringify({ checkpoint: path, spec: checkpoint.spec, set: flags.set, ...metrics, confusionMatrix: matrix }));
  } else {
    console.log(`${path}: ${describeSpec(checkpoint.spec)}`);
    console.log(`${flags.set} set of ${dir}: accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}`);
    console.log('confusion matrix (rows: true class, columns: predicted):');
    const width = Math.max(4, String(Math.max(...matrix.flat())).length + 1);
    console.log('     ' + matrix.map((_, c) => String(c).padStart(width)).join(''));
    matrix.forEach((row, c) => console.log(String(c).padStart(4) + ' ' + row.map((n) => String(n).padStart(width)).join('')));
  }
  return EXIT.ok;
}

export async function predictCommand(path: string, files: string[], flags: { device: 'gpu' | 'cpu'; json?: boolean }): Promise<number> {
  const checkpoint = await loadCheckpoint(path);
  const { spec } = checkpoint;
  const IN = inputSize(spec);
  if (IN !== 28 * 28) {
    throw new UsageError(`predict prepares images as 28×28 MNIST digits, but ${path} expects ${IN} inputs`);
  }
  const C = classCount(spec);
  const x = new Float32Array(files.length * IN);
  for (const [i, file] of files.entries()) x.set(toModelInput(preprocessDigit(await readImageFile(file))), i * IN);
  const logits = await withGpu(flags.device, async (gpu) => {
    if (!gpu) {
      const mlp = new ReferenceMlp(spec, optimizerConfig('sgd'), checkpoint.params);
      const { a } = mlp.forward(x, files.length, false);
      return a[a.length - 1];
    }
    const plan = await InferencePlan.create(gpu, spec, files.length);
    try {
      plan.model.writeParams(checkpoint.params);
      return await plan.logits(x);
    } finally {
      plan.destroy();
    }
  });
  const probabilities = softmaxRows(logits, files.length, C);
  const results = files.map((file, i) => {
    const p = probabilities[i];
    const predicted = p.indexOf(Math.max(...p));
    return { file, predicted, confidence: p[predicted], probabilities: [...p] };
  });
  if (flags.json) {
    console.log(JSON.stringify(results));
  } else {
    for (const r of results) {
      const top = r.probabilities
        .map((p, c) => ({ p, c }))
        .sort((a, b) => b.p - a.p)
        .slice(0, 3)
        .map(({ p, c }) => `${c}: ${(100 * p).toFixed(1)}%`)
        .join('  ');
      console.log(`${r.file}: ${r.predicted}  (${top})`);
    }
  }
  return EXIT.ok;
}

export async function infoCommand(flags: { json?: boolean }): Promise<number> {
  const gpu = await openGpu();
  try {
    const { report } = gpu;
    if (flags.json) {
      console.log(JSON.stringify(report, null, 2));
      return EXIT.ok;
    }
    console.log(`adapter       ${adapterName(report)}`);
    console.log(`vendor        ${report.vendor || '-'}`);
    console.log(`architecture  ${report.architecture || '-'}`);
    console.log(`device        ${report.device || '-'}`);
    console.log(`description   ${report.description || '-'}`);
    console.log(`kind          ${report.kind === 'cpu' ? 'software (CPU) adapter' : 'GPU'}${report.isFallbackAdapter ? ', fallback adapter' : ''}`);
    console.log(`features      ${report.features.join(', ') || '-'}`);
    console.log('limits');
    for (const [name, value] of Object.entries(report.limits).sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`  ${name.padEnd(44)} ${value}`);
    }
    return EXIT.ok;
  } finally {
    gpu.close();
  }
}
