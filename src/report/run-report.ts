// The report of one training run: a self-contained HTML page and PNG figures, from the run
// directory (config, metrics, steps, summary, best weights) and the dataset its config names, built on
// the public API: the checkpoint becomes a Model (readModel) on a Gpu or the CPU reference.
//
//   renderRunReport(runDir, options) → { html, figures, evaluation, notes }   (nothing written)
//   writeRunReport(runDir, options)  → writes RUN_DIR/report.html and RUN_DIR/figures/*.png
import { readdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createModel, describeConfig, describeModel, MlpError, openGpu, optionsOf, VERSION, type Activation, type Backend, type Dataset, type Gpu, type LayerWeights } from '../index.ts';
import {
  bestValidation,
  findBaseline,
  loadRunFiles,
  describeSource,
  prepareData,
  readModel,
  splitDifferences,
  writeFileAtomic,
  type BaselineLookup,
  type RunConfig,
  type RunData,
  type RunFiles,
} from '../node.ts';
import { evaluateSet, sampleActivations, type SampleActivations, type SetEvaluation } from './analysis.ts';
import { barChart, histogramChart, lineChart, matrixChart, MUTED, PALETTE, type ChartMarker, type ChartRule, type LineSeries } from './charts.ts';
import { chartFigure, figureSvg, pictureFigure, writeFigures, type ReportFigure } from './figures.ts';
import { count, escapeHtml, fixed, image, page, percent, seconds, section, table } from './html.ts';
import { colorImage, DIVERGING, grayImage, pngDataUri, SEQUENTIAL, tileGrid, toPng, weightImage, type RgbImage } from './images.ts';
import {
  bucketMeans,
  finiteRange,
  firstOfEachClass,
  histogram,
  labelCounts,
  meanImage,
  mistakesByConfidence,
  parameterCount,
  summarize,
  type Prediction,
  stepPositions,
} from './stats.ts';

export interface RunReportOptions {
  /** Where the test set is evaluated: 'auto' (default) uses the GPU when an adapter exists, else the CPU reference. */
  readonly device?: 'gpu' | 'cpu' | 'auto';
  /** An open GPU to reuse (e.g. the one `train` just trained on); it is not closed. */
  readonly gpu?: Gpu;
  /** The run's data, already loaded and split (else loaded as the run's config says); without a test set, the run's own is loaded. */
  readonly data?: RunData;
  /** A baseline run directory; undefined: look by convention (findBaseline); null: do not look. */
  readonly baseline?: string | null;
  /** Most misclassified test images shown (the most confident mistakes). */
  readonly galleryLimit?: number;
  /** Most first-layer units drawn as weight heat maps. */
  readonly weightMapLimit?: number;
}

export interface RunReport {
  readonly html: string;
  readonly figures: ReportFigure[];
  /** How the test set was evaluated for the gallery. */
  readonly evaluation: Omit<SetEvaluation, 'predictions'> | null;
  /** Caveats the page states too (fallbacks, mismatches). */
  readonly notes: string[];
  readonly seconds: number;
}

const GALLERY_LIMIT = 48;
const WEIGHT_MAP_LIMIT = 64;
const WEIGHT_MAP_COLUMNS = 8;
/** Step losses drawn at most; longer runs are averaged in buckets (noted in the legend). */
const MAX_STEP_POINTS = 1500;
const HISTOGRAM_BINS = 50;
const SAMPLES_PER_CLASS = 10;
/** PNG enlargement of pixel pictures (28 px digits and weight maps become 112 px). */
const PICTURE_SCALE = 4;

/** The run's data with the test set the report evaluates. */
type TestedData = RunData & { readonly test: Dataset };

/** What the report takes from the run's checkpoint (the model itself is freed before the page is drawn). */
interface ModelViews {
  /** The adapter (or "CPU reference") that evaluated the test set. */
  readonly adapter: string;
  readonly evaluation: SetEvaluation;
  /** Trained weights, per layer. */
  readonly weights: LayerWeights[];
  /** The same layers at initialisation (regenerated from the config's init and seed). */
  readonly initial: LayerWeights[];
  /** The first test sample of each class through the network. */
  readonly activations: SampleActivations;
}

interface Context {
  readonly run: RunFiles;
  readonly data: TestedData;
  /** Null without a checkpoint. */
  readonly model: ModelViews | null;
  readonly evaluation: SetEvaluation | null;
  readonly baseline: BaselineLookup;
  readonly notes: string[];
  readonly figures: ReportFigure[];
}

/** The run's classes (its output layer's width). */
function classesOf(run: RunFiles): number {
  return run.config.spec.layers[run.config.spec.layers.length - 1];
}

/** Class c as the data names it (its index when the data has no class names). */
function className(ctx: Context, c: number): string {
  return ctx.data.test.className(c);
}

/** "images" for image data, else "samples". */
function noun(set: Dataset): string {
  return set.isImage ? 'images' : 'samples';
}

async function withBackend<T>(options: RunReportOptions, notes: string[], body: (backend: Backend) => Promise<T>): Promise<T> {
  if (options.device === 'cpu') return body('cpu');
  if (options.gpu) return body(options.gpu);
  let gpu: Gpu;
  try {
    gpu = await openGpu();
  } catch (error) {
    if (options.device === 'gpu' || !(error instanceof MlpError && error.code === 'NO_ADAPTER')) throw error;
    notes.push('No WebGPU adapter was found: the test set was evaluated with the CPU reference.');
    return body('cpu');
  }
  try {
    return await body(gpu);
  } finally {
    gpu.close();
  }
}

/** The data `options` give when it has a test set, else the run's own, loaded and split as its config says. */
async function testedData(run: RunFiles, given: RunData | undefined, notes: string[]): Promise<TestedData> {
  if (given?.test) return { ...given, test: given.test };
  if (given) notes.push('The data given has no test set: the run\'s data was loaded as its config says.');
  const data = await prepareData(run.config.run.data, run.config);
  if (data.test) return { ...data, test: data.test };
  if (!data.validation) throw new MlpError('DATA', `${run.dir}: the run's data has neither a test set nor a validation set to evaluate (--test-split 0 and --val-split 0)`);
  notes.push('The run has no test set (--test-split 0): this report evaluates its validation set instead.');
  return { ...data, test: data.validation };
}

/** Each layer's weights at initialisation: a CPU model made from the run's options (same init, same seed). */
async function initialWeights(config: RunConfig): Promise<LayerWeights[]> {
  // Spread: TrainOptions (an interface) is not assignable to Options' index signature as it is.
  const model = await createModel('cpu', optionsOf(config));
  try {
    return await model.getWeights();
  } finally {
    model.dispose();
  }
}

/** Loads the checkpoint on the report's device, evaluates the test set, and keeps what the views need. */
async function modelViews(run: RunFiles, data: TestedData, options: RunReportOptions, notes: string[]): Promise<ModelViews | null> {
  const checkpoint = run.checkpoint;
  if (!checkpoint) return null;
  const views = await withBackend(options, notes, async (backend) => {
    const model = await readModel(backend, checkpoint.path);
    try {
      const evaluation = await evaluateSet(model, data.test);
      const weights = await model.getWeights();
      const indices = firstOfEachClass(data.test.labels, model.classes, 1).flat();
      const activations = await sampleActivations(model, data.test, indices);
      return { adapter: model.deviceName, evaluation, weights, activations };
    } finally {
      model.dispose();
    }
  });
  return { ...views, initial: await initialWeights(run.config) };
}

export async function renderRunReport(runDir: string, options: RunReportOptions = {}): Promise<RunReport> {
  const started = performance.now();
  const run = await loadRunFiles(runDir);
  const notes: string[] = [];
  const data = await testedData(run, options.data, notes);
  const baseline = await findBaseline(run, options.baseline);
  if (!run.checkpoint) notes.push('No checkpoint in the run directory: the views of weights, mistakes and activations are left out.');
  else if (run.checkpoint.which === 'last') notes.push('No best.safetensors: the views of the model use last.safetensors.');
  const model = await modelViews(run, data, options, notes);
  const evaluation = model?.evaluation ?? null;
  if (evaluation && run.summary && evaluation.correct !== run.summary.test.correct) {
    notes.push(
      `This report's evaluation (${evaluation.device}) finds ${count(evaluation.correct)} correct test ${noun(data.test)}; training reported ${count(run.summary.test.correct)} ` +
        '(float rounding differs between devices: near-ties can flip).',
    );
  }
  const ctx: Context = { run, data, model, evaluation, baseline, notes, figures: [] };

  const sections = [
    await curvesSection(ctx),
    await confusionSection(ctx),
    mistakesSection(ctx, options.galleryLimit ?? GALLERY_LIMIT),
    weightsSection(ctx, options.weightMapLimit ?? WEIGHT_MAP_LIMIT),
    await histogramsSection(ctx),
    activationsSection(ctx),
    await datasetSection(ctx),
  ];
  const elapsed = (performance.now() - started) / 1000;
  const footer =
    `<footer>Written by <code>webgpu-mlp report</code> ${escapeHtml(VERSION)} on ${escapeHtml(new Date().toISOString())} in ${seconds(elapsed)}` +
    (model ? `; test set evaluated on ${escapeHtml(model.adapter)} (${model.evaluation.device}) in ${seconds(model.evaluation.seconds)}` : '') +
    `. Run directory: <code>${escapeHtml(run.dir)}</code>. Charts drawn with Vega; PNG copies of the main figures are written beside the report.</footer>`;
  const body = header(ctx) + navigation() + sections.join('\n') + footer;
  const title = `${run.name}: ${describeModel(run.config.spec)}`;
  return {
    html: page(title, body),
    figures: ctx.figures,
    evaluation: evaluation ? { device: evaluation.device, correct: evaluation.correct, count: evaluation.count, seconds: evaluation.seconds } : null,
    notes,
    seconds: elapsed,
  };
}

export interface WriteRunReportOptions extends RunReportOptions {
  /** The HTML file (default RUN_DIR/report.html). */
  readonly out?: string;
  /** Folder for PNG figures (default RUN_DIR/figures); false writes none. */
  readonly pngDir?: string | false;
}

export interface WrittenReport {
  readonly htmlPath: string;
  readonly pngPaths: string[];
  readonly report: RunReport;
}

/** Renders the report of `runDir` and writes it (atomically) with its PNG figures. */
export async function writeRunReport(runDir: string, options: WriteRunReportOptions = {}): Promise<WrittenReport> {
  const report = await renderRunReport(runDir, options);
  const htmlPath = resolve(options.out ?? join(runDir, 'report.html'));
  await writeFileAtomic(htmlPath, new TextEncoder().encode(report.html));
  const pngPaths = options.pngDir === false ? [] : await writeFigures(resolve(options.pngDir ?? join(runDir, 'figures')), report.figures);
  // RUN_DIR/figures belongs to the run: PNGs of an earlier report (another architecture's histograms) go.
  if (options.pngDir === undefined) await removeOtherPngs(join(runDir, 'figures'), pngPaths);
  return { htmlPath, pngPaths, report };
}

async function removeOtherPngs(dir: string, keep: readonly string[]): Promise<void> {
  const kept = new Set(keep.map((path) => basename(path)));
  const stale = (await readdir(dir)).filter((name) => name.endsWith('.png') && !kept.has(name));
  await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
}

// ---------------------------------------------------------------------------------------------
// Header: what was trained, how well, how fast, and beside the logistic-regression baseline.

function card(label: string, value: string, detail: string, hero = false, attrs = ''): string {
  return `<div class="card${hero ? ' hero' : ''}"${attrs}><div class="label">${label}</div><div class="value">${value}</div><div class="detail">${detail}</div></div>`;
}

function header(ctx: Context): string {
  const { run, evaluation } = ctx;
  const { summary, config } = run;
  const testAccuracy = summary?.test.accuracy ?? (evaluation ? evaluation.correct / evaluation.count : NaN);
  const best = bestValidation(run);
  const finished = summary ? `finished ${escapeHtml(summary.finishedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'))} (${escapeHtml(summary.reason)})` : '<span class="warning">unfinished: no summary.json</span>';
  const baselineAccuracy = ctx.baseline.kind === 'found' ? ctx.baseline.run.summary?.test.accuracy : undefined;
  const cards = [
    card(
      'Test accuracy',
      percent(testAccuracy),
      summary ? `${count(summary.test.correct)} / ${count(summary.test.count)} · loss ${fixed(summary.test.loss)}` : evaluation ? `${count(evaluation.correct)} / ${count(evaluation.count)} (this report's evaluation)` : 'not evaluated',
      true,
      ` id="test-accuracy" data-value="${testAccuracy}"`,
    ),
    card(
      'Best validation',
      percent(best?.accuracy ?? NaN),
      best ? `epoch ${best.epoch} of ${run.epochs.length}${summary ? '' : ' so far'} · loss ${fixed(best.loss)}` : 'no validation set',
    ),
    card(
      'Logistic regression',
      ctx.baseline.kind === 'self' ? 'this run' : percent(baselineAccuracy ?? NaN),
      ctx.baseline.kind === 'found' ? `test accuracy, ${ctx.baseline.run.config.spec.layers.join('-')} baseline` : ctx.baseline.kind === 'self' ? 'is the baseline' : 'no baseline run',
    ),
    card(
      'Training time',
      summary ? seconds(summary.timing.trainSeconds) : '–',
      summary ? `${seconds(summary.timing.meanEpochSeconds)}/epoch · ${count(Math.round(summary.timing.samplesPerSecond))} samples/s` : '',
    ),
    card('Parameters', count(parameterCount(config.spec)), `${config.spec.layers.length - 2} hidden layer${config.spec.layers.length === 3 ? '' : 's'}`),
  ];
  const notes = ctx.notes.map((note) => `<p class="note warning">${escapeHtml(note)}</p>`).join('');
  return `<header class="top" id="summary" data-section="summary">
<h1>${escapeHtml(describeModel(config.spec))}</h1>
<p class="sub">Run <code>${escapeHtml(run.name)}</code> · ${finished} · webgpu-mlp ${escapeHtml(summary?.version ?? config.version ?? '?')} · ${escapeHtml(summary?.adapter ?? config.adapter ?? '')}</p>
<div class="cards">${cards.join('')}</div>
${baselineLine(ctx, testAccuracy)}
${notes}
<details class="config" open><summary>Configuration</summary><dl class="kv">${configRows(ctx)
    .map(([key, value]) => `<div><dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd></div>`)
    .join('')}</dl>${config.command ? `<p class="note">Command: <code>webgpu-mlp ${escapeHtml(config.command.join(' '))}</code></p>` : ''}</details>
</header>`;
}

/** The config table: the model's configuration, then what the run trained on (device, data, split sizes). */
function configRows(ctx: Context): [string, string][] {
  const { run, data } = ctx;
  return [
    ...describeConfig(run.config),
    ['split sizes', `${data.train.count} / ${data.validation?.count ?? 0} / ${data.test.count}`],
    ['device', run.config.run.device],
    ['data', describeSource(run.config.run.data)],
  ];
}

function baselineLine(ctx: Context, testAccuracy: number): string {
  const { baseline } = ctx;
  if (baseline.kind === 'self') {
    return `<p class="baseline" id="baseline" data-state="self">This run is a multinomial logistic regression (${escapeHtml(ctx.run.config.spec.layers.join('-'))}): it is the baseline other runs on this split are compared with.</p>`;
  }
  if (baseline.kind === 'missing') {
    return `<p class="baseline missing" id="baseline" data-state="missing">No baseline run: a multinomial logistic regression (${escapeHtml(`${ctx.run.config.spec.layers[0]}-${ctx.run.config.spec.layers.at(-1)}`)}) trained on the same split was looked for in <code>${escapeHtml(baseline.lookedAt)}</code>. Pass <code>--baseline RUN_DIR</code> to name one.</p>`;
  }
  const b = baseline.run;
  const differences = splitDifferences(ctx.run.config, b.config);
  const mismatch = differences.length ? ` <span class="warning">Not the same split: ${escapeHtml(differences.join('; '))}.</span>` : '';
  const bAccuracy = b.summary?.test.accuracy;
  let comparison = '';
  if (bAccuracy !== undefined && Number.isFinite(testAccuracy)) {
    const errors = 1 - testAccuracy;
    const bErrors = 1 - bAccuracy;
    const ratio = errors > 0 ? bErrors / errors : Infinity;
    comparison =
      ` This MLP: <strong>${percent(testAccuracy)}</strong> against <strong>${percent(bAccuracy)}</strong>; ` +
      (ratio >= 1 ? `${ratio === Infinity ? 'no' : `${ratio.toFixed(1)}× fewer`} test errors (${percent(errors)} vs ${percent(bErrors)}).` : `${(1 / ratio).toFixed(1)}× more test errors (${percent(errors)} vs ${percent(bErrors)}).`);
  }
  return (
    `<p class="baseline" id="baseline" data-state="found" data-accuracy="${bAccuracy ?? ''}">Baseline: multinomial logistic regression ${escapeHtml(b.config.spec.layers.join('-'))}, same engine, ` +
    `run <code>${escapeHtml(b.name)}</code> (${baseline.how === 'given' ? 'given with --baseline' : 'found beside this run'}): test accuracy ${percent(bAccuracy ?? NaN)}, best validation ${percent(b.summary?.validation?.accuracy ?? NaN)}.${comparison}${mismatch}</p>`
  );
}

function navigation(): string {
  const links = [
    ['curves', 'Curves'],
    ['confusion', 'Confusion matrix'],
    ['mistakes', 'Mistakes'],
    ['weights', 'First-layer weights'],
    ['histograms', 'Histograms'],
    ['activations', 'Activations'],
    ['dataset', 'Dataset'],
  ];
  return `<nav>${links.map(([id, text]) => `<a href="#${id}">${text}</a>`).join('')}</nav>`;
}

// ---------------------------------------------------------------------------------------------
// Curves

async function curvesSection(ctx: Context): Promise<string> {
  const { run, baseline } = ctx;
  const epochs = run.epochs;
  const best = bestValidation(run)?.epoch;
  // A baseline that trained longer is drawn over this run's epochs only, so the MLP's curves keep the width.
  const perEpoch = (field: 'trainLoss' | 'valLoss' | 'trainAccuracy' | 'valAccuracy', records = epochs) =>
    records.filter((r) => r[field] !== undefined && r.epoch <= Math.max(1, epochs.length)).map((r) => ({ x: r.epoch, y: r[field]! }));
  const positions = stepPositions(run.steps);
  const steps = bucketMeans(run.steps.map((s, i) => ({ x: positions[i], y: s.loss })), MAX_STEP_POINTS);
  const bestRule: ChartRule[] = best && epochs.length > 1 ? [{ axis: 'x', value: best, label: `best validation: epoch ${best}` }] : [];
  const b = baseline.kind === 'found' ? baseline.run : null;

  const lossSeries: LineSeries[] = [
    { name: steps.bucket > 1 ? `train, per step (mean of ${steps.bucket})` : 'train, per step', points: steps.points, style: 'thin', color: PALETTE[0] },
    { name: 'train, epoch mean', points: perEpoch('trainLoss'), style: 'points', color: PALETTE[0] },
    { name: 'validation', points: perEpoch('valLoss'), style: 'points', color: PALETTE[1] },
    ...(b ? [{ name: 'baseline, validation', points: perEpoch('valLoss', b.epochs), style: 'dashed' as const, color: MUTED }] : []),
  ];
  const lossMarkers: ChartMarker[] = run.summary && best ? [{ x: best, y: run.summary.test.loss, label: `test ${fixed(run.summary.test.loss)}`, color: PALETTE[3] }] : [];
  const loss = await chartFigure(
    'loss',
    'Loss',
    lineChart({
      title: 'Loss',
      subtitle: [
        `${run.config.spec.loss === 'ce' ? 'cross-entropy' : 'squared error'}, log scale`,
        `per-step losses are measured in training mode${run.config.spec.dropout > 0 ? ', with dropout' : ''}`,
      ],
      xTitle: 'epoch',
      yTitle: 'loss',
      yScale: 'log',
      series: lossSeries,
      markers: lossMarkers,
      rules: bestRule,
    }),
  );

  const accuracySeries: LineSeries[] = [
    { name: 'train (during the epoch)', points: perEpoch('trainAccuracy'), style: 'points', color: PALETTE[0] },
    { name: 'validation', points: perEpoch('valAccuracy'), style: 'points', color: PALETTE[1] },
    ...(b ? [{ name: 'baseline, validation', points: perEpoch('valAccuracy', b.epochs), style: 'dashed' as const, color: MUTED }] : []),
  ];
  const accuracyMarkers: ChartMarker[] = run.summary && best ? [{ x: best, y: run.summary.test.accuracy, label: `test ${percent(run.summary.test.accuracy)}`, color: PALETTE[3] }] : [];
  const bAccuracy = b?.summary?.test.accuracy;
  const accuracy = await chartFigure(
    'accuracy',
    'Accuracy',
    lineChart({
      title: 'Accuracy',
      subtitle: ['train: measured during each epoch (training mode)', 'test: the best-validation weights, measured once at the end'],
      xTitle: 'epoch',
      yTitle: 'accuracy',
      yFormat: '.1%',
      series: accuracySeries,
      markers: accuracyMarkers,
      rules: [...bestRule, ...(bAccuracy !== undefined ? [{ axis: 'y' as const, value: bAccuracy, label: `logistic regression test ${percent(bAccuracy)}`, color: '#6b7280' }] : [])],
    }),
  );
  ctx.figures.push(loss, accuracy);
  const body = epochs.length
    ? `<div class="charts"><figure data-figure="loss">${figureSvg(loss)}</figure><figure data-figure="accuracy">${figureSvg(accuracy)}</figure></div>`
    : '<p class="note">No epoch has finished yet: nothing to draw.</p>';
  return section('curves', 'Loss and accuracy', body + epochTable(run));
}

function epochTable(run: RunFiles): string {
  if (!run.epochs.length) return '';
  const best = bestValidation(run)?.epoch;
  const rows = run.epochs.map((r) => {
    const cells = [String(r.epoch), fixed(r.trainLoss), percent(r.trainAccuracy), fixed(r.valLoss), percent(r.valAccuracy ?? NaN), r.lr.toExponential(2), seconds(r.seconds), count(Math.round(r.samplesPerSecond))];
    return cells;
  });
  const highlight = run.epochs.map((r) => (r.epoch === best ? { class: 'highlight' } : undefined));
  const tableHtml = table(['epoch', 'train loss', 'train acc', 'val loss', 'val acc', 'lr', 'time', 'samples/s'], rows, { class: 'epochs' }, highlight);
  return `<details><summary class="note">Per-epoch table</summary><div class="table-wrap">${tableHtml}</div></details>`;
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

/** counts[true][predicted] of `predictions`, classes × classes. */
function confusionMatrix(predictions: readonly Prediction[], classes: number): number[][] {
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (const p of predictions) matrix[p.label][p.predicted] += 1;
  return matrix;
}

async function confusionSection(ctx: Context): Promise<string> {
  const C = classesOf(ctx.run);
  const fromSummary = ctx.run.summary?.test.confusionMatrix;
  const matrix = fromSummary ?? (ctx.evaluation ? confusionMatrix(ctx.evaluation.predictions, C) : null);
  if (!matrix) return section('confusion', 'Confusion matrix', '<p class="note">No test results: the run has not finished and has no checkpoint.</p>');
  const labels = Array.from({ length: C }, (_, c) => className(ctx, c));
  const figure = await chartFigure(
    'confusion',
    'Confusion matrix',
    matrixChart({
      title: 'Confusion matrix (test set)',
      subtitle: 'rows: true class; green: correct (by recall), red: errors (by count)',
      counts: matrix,
      labels,
      rowTitle: 'true class',
      columnTitle: 'predicted class',
      cellSize: C > 12 ? 20 : 36,
    }),
  );
  ctx.figures.push(figure);
  const rows = matrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    let worst = -1;
    row.forEach((n, p) => p !== c && n > 0 && (worst < 0 || n > row[worst]) && (worst = p));
    return [escapeHtml(labels[c]), count(total), percent(total ? row[c] / total : NaN), worst >= 0 ? `${escapeHtml(labels[worst])} (${row[worst]})` : '–'];
  });
  const source = fromSummary ? 'as measured at the end of training' : "from this report's evaluation";
  return section(
    'confusion',
    'Confusion matrix',
    `<div class="side"><figure data-figure="confusion">${figureSvg(figure)}</figure><div class="table-wrap">${table(['class', `test ${noun(ctx.data.test)}`, 'recall', 'most often taken for'], rows, { class: 'per-class' })}</div></div>`,
    `Test-set predictions of the best-validation weights, ${source}.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Misclassified test images

function digitPicture(set: Dataset, index: number): RgbImage {
  return grayImage(set.features.subarray(index * set.inputSize, (index + 1) * set.inputSize), set.width, set.height);
}

function mistakesSection(ctx: Context, limit: number): string {
  const { evaluation, data } = ctx;
  if (!evaluation) return section('mistakes', 'Misclassified test images', '<p class="note">No checkpoint to evaluate.</p>');
  if (!data.test.isImage) return mistakeRowsSection(ctx, evaluation, limit);
  const mistakes = mistakesByConfidence(evaluation.predictions);
  const shown = mistakes.slice(0, limit);
  const items = shown.map((m) => {
    const png = pngDataUri(toPng(digitPicture(data.test, m.index)));
    const [label, predicted] = [className(ctx, m.label), className(ctx, m.predicted)];
    return (
      `<figure class="mistake" data-index="${m.index}" data-predicted="${m.predicted}" data-label="${m.label}" data-confidence="${m.confidence}">` +
      image(png, `test image ${m.index}: a ${label}, predicted ${predicted}`, { class: 'pixels', width: data.test.width, height: data.test.height }) +
      `<figcaption><span class="pred">${escapeHtml(predicted)}</span> <span class="true">(true ${escapeHtml(label)})</span><br><span class="conf">${percent(m.confidence, 1)} sure</span></figcaption></figure>`
    );
  });
  const intro =
    mistakes.length === 0
      ? 'No test image is misclassified.'
      : `${count(mistakes.length)} of ${count(evaluation.count)} test images are misclassified (${percent(mistakes.length / evaluation.count)}); ` +
        `${shown.length < mistakes.length ? `the ${shown.length} the model was most sure about` : 'all of them'}, most confident first. ` +
        'Large red label: the prediction; below: the true label and the probability the model gave its prediction.';
  return section('mistakes', 'Misclassified test images', `<div class="gallery">${items.join('')}</div>`, intro);
}

/** Features shown per mistake row (the first ones; the rest are summarized). */
const MISTAKE_FEATURES = 12;

/** A table's mistakes as rows: index, true and predicted class, confidence, and the row's raw feature values. */
function mistakeRowsSection(ctx: Context, evaluation: SetEvaluation, limit: number): string {
  const set = ctx.data.test;
  const mistakes = mistakesByConfidence(evaluation.predictions);
  const shown = mistakes.slice(0, limit);
  const features = Math.min(set.inputSize, MISTAKE_FEATURES);
  const headers = ['row', 'true class', 'predicted', 'confidence', ...Array.from({ length: features }, (_, k) => escapeHtml(set.featureName(k))), ...(set.inputSize > features ? [`… ${set.inputSize - features} more`] : [])];
  const value = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : Number(v.toPrecision(5)).toString());
  const rows = shown.map((m) => {
    const x = set.sample(m.index);
    return [
      String(m.index),
      escapeHtml(className(ctx, m.label)),
      `<strong class="warning">${escapeHtml(className(ctx, m.predicted))}</strong>`,
      percent(m.confidence, 1),
      ...Array.from({ length: features }, (_, k) => value(x[k])),
      ...(set.inputSize > features ? [''] : []),
    ];
  });
  const intro =
    mistakes.length === 0
      ? 'No test sample is misclassified.'
      : `${count(mistakes.length)} of ${count(evaluation.count)} test samples are misclassified (${percent(mistakes.length / evaluation.count)}); ` +
        `${shown.length < mistakes.length ? `the ${shown.length} the model was most sure about` : 'all of them'}, most confident first, with their feature values as in the data (before standardization). ` +
        '"row": the sample\'s index in the test set.';
  return section('mistakes', 'Most confident mistakes', mistakes.length ? `<div class="table-wrap">${table(headers, rows, { class: 'mistakes' })}</div>` : '', intro);
}

// ---------------------------------------------------------------------------------------------
// First-layer weights as heat maps, before and after training

function weightGrid(layer: LayerWeights, ctx: Context, units: number): RgbImage {
  const { width, height } = ctx.data.test;
  const tiles = Array.from({ length: units }, (_, u) => weightImage(layer.weight.subarray(u * layer.inputs, (u + 1) * layer.inputs), width, height));
  // A few maps (a linear model's class templates) in two even rows, more in rows of 8.
  return tileGrid(tiles, units <= 2 * WEIGHT_MAP_COLUMNS ? Math.ceil(units / 2) : WEIGHT_MAP_COLUMNS, 2);
}

function weightsSection(ctx: Context, limit: number): string {
  const { model, run, data } = ctx;
  const title = 'First-layer weights';
  if (!model) return section('weights', title, '<p class="note">No checkpoint.</p>');
  const [trained, initial] = [model.weights[0], model.initial[0]];
  if (!data.test.isImage || trained.inputs !== data.test.inputSize) return featureWeightsSection(ctx, trained, initial);
  const units = Math.min(limit, trained.outputs);
  const before = weightGrid(initial, ctx, units);
  const after = weightGrid(trained, ctx, units);
  const beforeFigure = pictureFigure('weights-initial', 'First-layer weights at initialisation', before, PICTURE_SCALE);
  const afterFigure = pictureFigure('weights-trained', 'First-layer weights after training', after, PICTURE_SCALE);
  ctx.figures.push(beforeFigure, afterFigure);
  const what = run.config.spec.layers.length === 2 ? 'output class (the model is linear: one template per class)' : 'hidden unit';
  const shown = units < trained.outputs ? `the first ${units} of ${trained.outputs} units` : `all ${trained.outputs} units`;
  const picture = (figure: ReportFigure, img: RgbImage, caption: string, id: string) =>
    `<figure data-figure="${figure.name}" id="${id}">${image(pngDataUri(toPng(img)), figure.title, { class: 'pixels', width: img.width, height: img.height })}<figcaption>${caption}</figcaption></figure>`;
  const legend = `<span class="swatch" style="background: linear-gradient(90deg, rgb(${DIVERGING.slice(0, 3).join(',')}), white, rgb(${DIVERGING.slice(765, 768).join(',')}))"></span>`;
  return section(
    'weights',
    title,
    `<div class="weights">${picture(beforeFigure, before, `Before training (regenerated from the config: ${escapeHtml(describeInitScheme(run))}, seed ${run.config.seed})`, 'weights-before')}` +
      `${picture(afterFigure, after, `After training (${run.checkpoint?.which === 'best' ? 'best-validation' : 'last'} weights)`, 'weights-after')}</div>`,
    `One ${data.test.height}×${data.test.width} map per ${what}, ${shown}, in index order. ${legend} blue: a bright pixel there lowers the unit's input; red: raises it. ` +
      'Each map is scaled to its own largest |weight|.',
  );
}

/** A table's first layer per feature: how strongly the trained units read each input (the L2 norm of its weight column). */
function featureWeightsSection(ctx: Context, trained: LayerWeights, initial: LayerWeights): string {
  const set = ctx.data.test;
  const norms = (layer: LayerWeights) =>
    Array.from({ length: layer.inputs }, (_, k) => {
      let sum = 0;
      for (let u = 0; u < layer.outputs; u++) sum += layer.weight[u * layer.inputs + k] ** 2;
      return Math.sqrt(sum);
    });
  const after = norms(trained);
  const before = norms(initial);
  const order = after.map((_, k) => k).sort((a, b) => after[b] - after[a] || a - b);
  const shown = order.slice(0, 50);
  const rows = shown.map((k) => [escapeHtml(set.featureName(k)), fixed(after[k], 3), fixed(before[k], 3), after[k] > before[k] ? 'grew' : 'shrank']);
  return section(
    'weights',
    'First-layer weights by feature',
    `<div class="table-wrap">${table(['feature', 'weight norm, trained', 'at initialisation', ''], rows, { class: 'feature-weights' })}</div>`,
    `How strongly the first layer reads each input: the L2 norm of its column of weights (over the ${trained.outputs} units), largest first` +
      `${order.length > shown.length ? ` (the top ${shown.length} of ${order.length})` : ''}. The inputs are ${ctx.run.config.standardize && set.featureType === 'f32' ? 'standardized features, so the norms compare across features' : 'the features as given'}.`,
  );
}

function describeInitScheme(run: RunFiles): string {
  const init = run.config.init;
  return init.kind === 'uniform' ? `uniform ±${init.a}` : init.kind === 'normal' ? `normal σ=${init.std}` : init.kind === 'he' ? 'He normal' : 'Xavier uniform';
}

// ---------------------------------------------------------------------------------------------
// Weight and bias histograms

async function histogramsSection(ctx: Context): Promise<string> {
  const { model, run } = ctx;
  if (!model) return section('histograms', 'Weight and bias histograms', '<p class="note">No checkpoint.</p>');
  // Per layer, weight then bias, named as in checkpoints (PyTorch's nn.Linear names).
  const tensors = model.weights.flatMap((layer, l) =>
    (['weight', 'bias'] as const).map((role) => ({
      name: `layers.${l}.${role}`,
      role,
      shape: role === 'weight' ? [layer.outputs, layer.inputs] : [layer.outputs],
      trained: layer[role],
      init: model.initial[l][role],
    })),
  );
  const figures: ReportFigure[] = [];
  for (const { name, role, shape, trained, init } of tensors) {
    const withInit = role === 'weight';
    const range = (withInit ? finiteRange(trained, init) : finiteRange(trained)) ?? [0, 0];
    const stats = summarize(trained);
    const initStats = summarize(init);
    figures.push(
      await chartFigure(
        `histogram-${name}`,
        `${name} histogram`,
        histogramChart({
          title: `${name} [${shape.join('×')}]`,
          subtitle: [
            `mean ${stats.mean.toPrecision(2)} · std ${stats.std.toPrecision(2)} · range ${stats.min.toPrecision(2)} … ${stats.max.toPrecision(2)}`,
            withInit ? `dashed: at initialisation (std ${initStats.std.toPrecision(2)})` : 'biases start at zero',
          ],
          xTitle: role,
          histogram: histogram(trained, HISTOGRAM_BINS, range),
          outline: withInit ? histogram(init, HISTOGRAM_BINS, range) : undefined,
          color: role === 'weight' ? PALETTE[0] : PALETTE[1],
        }),
      ),
    );
  }
  ctx.figures.push(...figures);
  return section(
    'histograms',
    'Weight and bias histograms',
    `<div class="charts small">${figures.map((f) => `<figure data-figure="${escapeHtml(f.name)}">${figureSvg(f)}</figure>`).join('')}</div>`,
    `Trained values (${run.checkpoint?.which === 'best' ? 'best-validation' : 'last'} weights) per layer, ${HISTOGRAM_BINS} bins; weights also show their initial distribution (dashed outline). Biases start at zero.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Hidden-unit activations for sample images

/** The value range a hidden activation's colours span, and the map: sequential from 0, or diverging for tanh. */
function activationScale(activation: Activation, values: Float64Array): { low: number; high: number; lut: Uint8Array } {
  if (activation === 'tanh') return { low: -1, high: 1, lut: DIVERGING };
  if (activation === 'sigmoid') return { low: 0, high: 1, lut: SEQUENTIAL };
  return { low: 0, high: Math.max(1e-6, finiteRange(values)?.[1] ?? 1), lut: SEQUENTIAL };
}

function stripUri(values: ArrayLike<number>, scale: { low: number; high: number; lut: Uint8Array }): string {
  return pngDataUri(toPng(colorImage(values, values.length, 1, scale.lut, scale.low, scale.high)));
}

function activationsSection(ctx: Context): string {
  const { model, run, data } = ctx;
  const title = 'Hidden-unit activations';
  if (!model) return section('activations', title, '<p class="note">No checkpoint.</p>');
  const spec = run.config.spec;
  const C = classesOf(run);
  const acts = model.activations;
  const { indices } = acts;
  const widths = model.weights.slice(0, -1).map((layer) => layer.outputs);
  const scales = acts.hidden.map((values) => activationScale(spec.activation, values));
  const headers = [
    data.test.isImage ? 'image' : 'sample',
    ...widths.map((units, l) => `hidden ${l + 1} (${units} units)`),
    `output probabilities (${escapeHtml(className(ctx, 0))}–${escapeHtml(className(ctx, C - 1))})`,
    'prediction',
  ];
  const rows = indices.map((index, r) => {
    const probabilities = acts.probabilities.subarray(r * C, (r + 1) * C);
    const predicted = probabilities.indexOf(Math.max(...probabilities));
    const label = className(ctx, data.test.labels[index]);
    const digit = data.test.isImage
      ? image(pngDataUri(toPng(digitPicture(data.test, index))), `test image ${index}, a ${label}`, { class: 'pixels digit' })
      : `${index} (${escapeHtml(label)})`;
    const strips = acts.hidden.map((values, l) => {
      const row = values.subarray(r * widths[l], (r + 1) * widths[l]);
      const active = row.filter((v) => v > 0).length;
      return image(stripUri(row, scales[l]), `activations of hidden layer ${l + 1} for test ${data.test.isImage ? 'image' : 'sample'} ${index}`, {
        class: 'pixels strip',
        title: `${active} of ${row.length} units above 0; max ${Math.max(...row).toPrecision(3)}`,
      });
    });
    const output = image(stripUri(probabilities, { low: 0, high: 1, lut: SEQUENTIAL }), `output probabilities for test ${data.test.isImage ? 'image' : 'sample'} ${index}`, { class: 'pixels strip' });
    const verdict = `<strong${predicted === data.test.labels[index] ? '' : ' class="warning"'}>${escapeHtml(className(ctx, predicted))}</strong> ${percent(probabilities[predicted], 1)}`;
    return [digit, ...strips, output, verdict];
  });
  const layerNotes = acts.hidden.map((values, l) => {
    const units = widths[l];
    let dead = 0;
    for (let u = 0; u < units; u++) {
      let any = false;
      for (let r = 0; r < indices.length; r++) any ||= values[r * units + u] > 0;
      if (!any) dead += 1;
    }
    const active = values.filter((v) => v > 0).length / values.length;
    return spec.activation === 'relu'
      ? `hidden ${l + 1}: ${percent(active, 0)} of units active on average; ${dead} of ${units} silent on all ${indices.length} ${noun(data.test)}; colours span 0 to ${scales[l].high.toPrecision(3)}`
      : `hidden ${l + 1}: colours span ${scales[l].low} to ${scales[l].high}`;
  });
  const intro = widths.length
    ? `The first test ${data.test.isImage ? 'image' : 'sample'} of each class through the network (CPU reference, no dropout). Each strip is one layer, one column per unit in index order, ` +
      `${spec.activation === 'tanh' ? 'blue −1 to red +1' : 'dark (0) to yellow (high)'}. ${escapeHtml(layerNotes.join('. '))}.`
    : 'This model has no hidden layer (logistic regression): only its output probabilities are shown.';
  return section('activations', title, `<div class="table-wrap">${table(headers, rows, { class: 'activations' })}</div>`, intro);
}

// ---------------------------------------------------------------------------------------------
// Dataset overview

/** Features shown in the statistics table (a wide table is cut, and says so). */
const STATS_FEATURES = 100;

/** Per-feature statistics of a table's training split: min, mean, std, max (what standardization uses). */
function featureStatsTable(set: Dataset): string {
  const IN = set.inputSize;
  const shown = Math.min(IN, STATS_FEATURES);
  const rows: string[][] = [];
  for (let k = 0; k < shown; k++) {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < set.count; i++) {
      const v = set.features[i * IN + k];
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = sum / set.count;
    let squares = 0;
    for (let i = 0; i < set.count; i++) squares += (set.features[i * IN + k] - mean) ** 2;
    const std = Math.sqrt(squares / set.count);
    const show = (v: number) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : Number(v.toPrecision(5)).toString());
    rows.push([escapeHtml(set.featureName(k)), show(min), show(mean), show(std), show(max), std === 0 ? 'constant' : '']);
  }
  const note = IN > shown ? `<p class="note">The first ${shown} of ${IN} features.</p>` : '';
  return `<h3>Features of the training split</h3>${table(['feature', 'min', 'mean', 'std', 'max', ''], rows, { class: 'feature-stats', id: 'feature-stats' })}${note}`;
}

async function datasetSection(ctx: Context): Promise<string> {
  const { data, run } = ctx;
  const C = classesOf(run);
  const splits = (
    [
      ['train', data.train],
      ['validation', data.validation],
      ['test', data.test],
    ] as const
  ).flatMap(([name, set]) => (set && set.count > 0 ? [{ name, set }] : []));
  const classNames = Array.from({ length: C }, (_, c) => className(ctx, c));
  const chart = await chartFigure(
    'labels',
    'Label distribution',
    barChart({
      title: 'Label distribution per split',
      subtitle: splits.map(({ name, set }) => `${name} ${count(set.count)}`).join(' · '),
      categories: classNames,
      series: splits.map(({ name, set }) => ({ name, values: labelCounts(set.labels, C).map((n) => n / set.count) })),
      categoryTitle: 'class',
      valueTitle: 'share of the split',
      valueFormat: '.0%',
    }),
  );
  ctx.figures.push(chart);
  const set = data.train;
  let pictures = '';
  if (set.isImage) {
    const picked = firstOfEachClass(set.labels, C, SAMPLES_PER_CLASS);
    const blank: RgbImage = grayImage(new Uint8Array(set.inputSize), set.width, set.height);
    const tiles = picked.flatMap((indices) => Array.from({ length: SAMPLES_PER_CLASS }, (_, k) => (k < indices.length ? digitPicture(set, indices[k]) : blank)));
    const grid = tileGrid(tiles, SAMPLES_PER_CLASS, 2);
    ctx.figures.push(pictureFigure('samples', 'Training samples', grid, PICTURE_SCALE));
    const mean = (include?: (label: number) => boolean) => grayImage(meanImage(set.features, set.labels, set.inputSize, include), set.width, set.height);
    const means = [
      `<figure>${image(pngDataUri(toPng(mean())), 'mean training image', { class: 'pixels' })}<figcaption>all</figcaption></figure>`,
      ...classNames.map(
        (name, c) => `<figure>${image(pngDataUri(toPng(mean((label) => label === c))), `mean training image of class ${name}`, { class: 'pixels' })}<figcaption>${escapeHtml(name)}</figcaption></figure>`,
      ),
    ];
    pictures =
      `<figure data-figure="samples">${image(pngDataUri(toPng(grid)), `the first ${SAMPLES_PER_CLASS} training images of each class`, { class: 'pixels samples', width: grid.width, height: grid.height })}` +
      `<figcaption>The first ${SAMPLES_PER_CLASS} training images of each class, one class per row.</figcaption></figure>` +
      `<div><h3>Mean training image, overall and per class</h3><div class="means" id="mean-images">${means.join('')}</div>` +
      `<figure data-figure="labels">${figureSvg(chart)}</figure></div>`;
  } else {
    pictures = `<div class="table-wrap">${featureStatsTable(set)}</div><figure data-figure="labels">${figureSvg(chart)}</figure>`;
  }
  const validation = data.validation
    ? `${count(data.validation.count)} validation${run.config.validationShuffle ? ' (a seeded random hold-out)' : ' (the last samples of the training file)'}`
    : 'no validation';
  return section(
    'dataset',
    'Dataset',
    `<div class="dataset">${pictures}</div>`,
    `${escapeHtml(data.description)}: ${count(data.train.count)} training, ${validation} and ${count(data.test.count)} test ${noun(data.test)}` +
      `${run.config.trainSubset ? `; training used the first ${count(run.config.trainSubset)} of the training split` : ''}.`,
  );
}
