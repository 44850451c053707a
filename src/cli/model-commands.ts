// `eval`, `predict` and `info`: the commands that use a trained model or just the adapter.
import { describeModel, openGpu, preprocessDigit, type Backend, type Gpu } from '../index.ts';
import { loadIdxDataset, readImageFile, readModel } from '../node.ts';
import { EXIT, UsageError } from './errors.ts';

/** Runs `body` on the backend `device` names (a GPU opened for it, and closed after). */
async function withBackend<T>(device: 'gpu' | 'cpu', body: (backend: Backend) => Promise<T>): Promise<T> {
  if (device === 'cpu') return body('cpu');
  const gpu: Gpu = await openGpu();
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
  const { dir, ...sets } = await loadIdxDataset(flags.dataDir);
  const set = sets[flags.set].renamed(`${dir} (${flags.set} file)`);
  const { spec, result } = await withBackend(flags.device, async (backend) => {
    const model = await readModel(backend, path);
    try {
      return { spec: model.spec, result: await model.evaluate(set, { batchSize: flags.batchSize }) };
    } finally {
      model.dispose();
    }
  });
  const matrix = result.confusionMatrix;
  if (flags.json) {
    const { predictions: _predictions, ...metrics } = result;
    console.log(JSON.stringify({ checkpoint: path, spec, set: flags.set, ...metrics }));
  } else {
    console.log(`${path}: ${describeModel(spec)}`);
    console.log(`${flags.set} set of ${dir}: accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}`);
    console.log('confusion matrix (rows: true class, columns: predicted):');
    const width = Math.max(4, String(Math.max(...matrix.flat())).length + 1);
    console.log('     ' + matrix.map((_, c) => String(c).padStart(width)).join(''));
    matrix.forEach((row, c) => console.log(String(c).padStart(4) + ' ' + row.map((n) => String(n).padStart(width)).join('')));
  }
  return EXIT.ok;
}

export async function predictCommand(path: string, files: string[], flags: { device: 'gpu' | 'cpu'; json?: boolean }): Promise<number> {
  const pixels = await Promise.all(files.map(async (file) => preprocessDigit(await readImageFile(file))));
  const predictions = await withBackend(flags.device, async (backend) => {
    const model = await readModel(backend, path);
    try {
      if (model.inputSize !== 28 * 28) throw new UsageError(`predict prepares images as 28×28 MNIST digits, but ${path} expects ${model.inputSize} inputs`);
      const x = new Uint8Array(files.length * model.inputSize);
      pixels.forEach((p, i) => x.set(p, i * model.inputSize));
      return await model.predict(x);
    } finally {
      model.dispose();
    }
  });
  const C = predictions.classes;
  const results = files.map((file, i) => {
    const p = [...predictions.probabilities.subarray(i * C, (i + 1) * C)];
    const predicted = predictions.predicted[i];
    return { file, predicted, confidence: p[predicted], probabilities: p };
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
    const report = gpu.adapter;
    if (flags.json) {
      console.log(JSON.stringify(report, null, 2));
      return EXIT.ok;
    }
    console.log(`adapter       ${gpu.name}`);
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
