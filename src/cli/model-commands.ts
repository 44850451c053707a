// `eval`, `predict` and `info`: the commands that use a trained model or just the adapter.
import { describeModel, openGpu, preprocessDigit, type Backend, type Dataset, type Gpu, type Model } from '../index.ts';
import { loadIdxDataset, readCsvFile, readImageFile, readModel, writeFileAtomic } from '../node.ts';
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

/** A CSV table read as `model` takes it: its feature columns (by name, when it knows them) and classes. */
async function tableFor(model: Model, file: string, label: string | undefined): Promise<Dataset> {
  return readCsvFile(file, {
    ...(label !== undefined ? { label } : {}),
    ...(model.featureNames ? { features: model.featureNames } : {}),
    classNames: model.classNames ?? null,
    name: file,
  });
}

/** Checks that a table has the model's width (a model without feature names reads every column but the label). */
function checkWidth(model: Model, set: Dataset, file: string): void {
  if (set.inputSize !== model.inputSize) {
    throw new UsageError(`${file}: ${set.inputSize} feature columns (${set.featureNames?.join(', ')}), but the model takes ${model.inputSize} inputs`);
  }
}

export async function evalCommand(
  path: string,
  flags: { dataDir?: string; data?: string; label?: string; set: 'test' | 'train'; device: 'gpu' | 'cpu'; batchSize: number; json?: boolean },
): Promise<number> {
  if (!(flags.batchSize >= 1)) throw new UsageError(`--batch-size must be an integer ≥ 1, found ${flags.batchSize}`);
  if (flags.data !== undefined && flags.dataDir !== undefined) throw new UsageError('--data (a CSV table) and --data-dir (an IDX directory) name two datasets: give one');
  const idx = flags.data === undefined ? await loadIdxDataset(flags.dataDir) : undefined;
  const { spec, result, where, names } = await withBackend(flags.device, async (backend) => {
    const model = await readModel(backend, path);
    try {
      let set: Dataset;
      let where: string;
      if (idx) {
        set = idx[flags.set].renamed(`${idx.dir} (${flags.set} file)`);
        where = `${flags.set} set of ${idx.dir}`;
      } else {
        const label = flags.label ?? model.labelName;
        if (label === undefined) throw new UsageError(`${path} does not name its label column (it was not trained on a table): give --label COLUMN`);
        set = await tableFor(model, flags.data!, label);
        checkWidth(model, set, flags.data!);
        where = flags.data!;
      }
      const names = Array.from({ length: model.classes }, (_, c) => model.className(c));
      return { spec: model.spec, result: await model.evaluate(set, { batchSize: flags.batchSize }), where, names };
    } finally {
      model.dispose();
    }
  });
  const matrix = result.confusionMatrix;
  if (flags.json) {
    const { predictions: _predictions, ...metrics } = result;
    console.log(JSON.stringify({ checkpoint: path, spec, set: flags.data ?? flags.set, classNames: names, ...metrics }));
  } else {
    console.log(`${path}: ${describeModel(spec)}`);
    console.log(`${where}: accuracy ${(100 * result.accuracy).toFixed(2)}% (${result.correct}/${result.count}), loss ${result.loss.toFixed(4)}`);
    console.log('confusion matrix (rows: true class, columns: predicted):');
    const labelWidth = Math.max(4, ...names.map((n) => n.length));
    const width = Math.max(4, String(Math.max(...matrix.flat())).length + 1, ...names.map((n) => n.length + 1));
    console.log(' '.repeat(labelWidth + 1) + names.map((n) => n.padStart(width)).join(''));
    matrix.forEach((row, c) => console.log(names[c].padStart(labelWidth) + ' ' + row.map((n) => String(n).padStart(width)).join('')));
    console.log('per class: ' + names.map((n, c) => `${n} ${(100 * result.perClassAccuracy[c]).toFixed(1)}%`).join(', '));
  }
  return EXIT.ok;
}

/** "7: 97.1%  1: 1.2%  2: 0.9%": the three most probable classes, by name. */
function topClasses(probabilities: readonly number[], name: (c: number) => string): string {
  return probabilities
    .map((p, c) => ({ p, c }))
    .sort((a, b) => b.p - a.p)
    .slice(0, 3)
    .map(({ p, c }) => `${name(c)}: ${(100 * p).toFixed(1)}%`)
    .join('  ');
}

/** `predict CHECKPOINT --data rows.csv`: every row's class and probabilities, printed or written as CSV (--out). */
async function predictTable(path: string, file: string, flags: { device: 'gpu' | 'cpu'; json?: boolean; out?: string }): Promise<number> {
  const { names, predictions } = await withBackend(flags.device, async (backend) => {
    const model = await readModel(backend, path);
    try {
      // The label column, if the file has one, is read as any other non-feature column: ignored.
      const set = await readCsvFile(file, { ...(model.featureNames ? { features: model.featureNames } : {}), name: file });
      checkWidth(model, set, file);
      return { names: Array.from({ length: model.classes }, (_, c) => model.className(c)), predictions: await model.predict(set) };
    } finally {
      model.dispose();
    }
  });
  const C = predictions.classes;
  const rows = Array.from({ length: predictions.count }, (_, r) => {
    const p = [...predictions.probabilities.subarray(r * C, (r + 1) * C)];
    const c = predictions.predicted[r];
    // row: 1 for the first data row (the line after the header).
    return { row: r + 1, predicted: names[c], index: c, confidence: p[c], probabilities: p };
  });
  if (flags.out) {
    const quote = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
    const header = ['row', 'predicted', 'confidence', ...names.map((n) => quote(`p(${n})`))].join(',');
    const lines = rows.map((r) => [r.row, quote(r.predicted), r.confidence.toPrecision(6), ...r.probabilities.map((p) => p.toPrecision(6))].join(','));
    await writeFileAtomic(flags.out, new TextEncoder().encode([header, ...lines].join('\n') + '\n'));
    console.log(`${file}: ${rows.length} rows classified; predictions in ${flags.out}`);
  } else if (flags.json) {
    console.log(JSON.stringify(rows.map(({ row, predicted, index, confidence, probabilities }) => ({ row, predicted, class: index, confidence, probabilities: Object.fromEntries(names.map((n, c) => [n, probabilities[c]])) }))));
  } else {
    for (const r of rows) console.log(`row ${r.row}: ${r.predicted}  (${topClasses(r.probabilities, (c) => names[c])})`);
  }
  return EXIT.ok;
}

export async function predictCommand(path: string, files: string[], flags: { device: 'gpu' | 'cpu'; json?: boolean; data?: string; out?: string }): Promise<number> {
  if (flags.data !== undefined) {
    if (files.length) throw new UsageError(`predict takes image files or --data FILE.csv, not both (found ${files.length} image file${files.length === 1 ? '' : 's'} and --data)`);
    return predictTable(path, flags.data, flags);
  }
  if (flags.out !== undefined) throw new UsageError('--out writes the predictions of --data FILE.csv; for images, use --json');
  if (!files.length) throw new UsageError('predict needs image files, or --data FILE.csv');
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
    for (const r of results) console.log(`${r.file}: ${r.predicted}  (${topClasses(r.probabilities, String)})`);
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
