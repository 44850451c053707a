// The comparison of several runs (a search, a study): one HTML page with a table sorted by
// validation accuracy, validation curves of every run, and test accuracy per run beside the
// logistic-regression baseline. Selection is on validation accuracy only; test accuracy is shown
// for the record.
//
//   renderComparisonReport(runs, options) → { html, figures, rows }
//   writeComparisonReport(runs, options)  → writes the HTML (and PNG figures)
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describeModel, describeOptimizer, VERSION } from '../index.ts';
import { bestValidation, findBaseline, isLogisticRegression, loadRunFiles, writeFileAtomic, type RunFiles } from '../node.ts';
import { barChart, lineChart, MUTED, PALETTE, type LineSeries } from './charts.ts';
import { chartFigure, figureSvg, writeFigures, type ReportFigure } from './figures.ts';
import { count, escapeHtml, fixed, page, percent, seconds, section, table } from './html.ts';

export interface ComparisonRun {
  readonly dir: string;
  /** Name in the table and legends (default: the directory's name). */
  readonly label?: string;
}

export interface ComparisonOptions {
  readonly title?: string;
  /** A sentence or two under the title (what was varied, the command that ran the study). */
  readonly description?: string;
  /** The logistic-regression baseline: a run directory; undefined: a 784-10 run among `runs`, else the convention of findBaseline (webgpu-mlp/node) beside the first run; null: none. */
  readonly baseline?: string | null;
}

/** One table row: what the study varied and what it measured. */
export interface ComparisonRow {
  readonly label: string;
  readonly dir: string;
  readonly model: string;
  readonly optimizer: string;
  readonly lr: number;
  readonly weightDecay: number;
  readonly batchSize: number;
  readonly epochs: number;
  readonly bestEpoch: number | null;
  readonly valAccuracy: number | null;
  readonly testAccuracy: number | null;
  readonly testLoss: number | null;
  readonly secondsPerEpoch: number | null;
  readonly isBaseline: boolean;
}

export interface ComparisonReport {
  readonly html: string;
  readonly figures: ReportFigure[];
  /** Sorted by validation accuracy, best first (runs without one last). */
  readonly rows: ComparisonRow[];
}

function rowOf(run: RunFiles, label: string, isBaseline: boolean): ComparisonRow {
  const best = bestValidation(run);
  return {
    label,
    dir: run.dir,
    model: describeModel(run.config.spec),
    optimizer: describeOptimizer(run.config),
    lr: run.config.lr,
    weightDecay: run.config.optimizer.weightDecay,
    batchSize: run.config.batchSize,
    epochs: run.epochs.length,
    bestEpoch: best?.epoch ?? null,
    valAccuracy: best?.accuracy ?? null,
    testAccuracy: run.summary?.test.accuracy ?? null,
    testLoss: run.summary?.test.loss ?? null,
    secondsPerEpoch: run.summary?.timing.meanEpochSeconds ?? null,
    isBaseline,
  };
}

export async function renderComparisonReport(runs: readonly (string | ComparisonRun)[], options: ComparisonOptions = {}, outPath?: string): Promise<ComparisonReport> {
  if (runs.length === 0) throw new Error('renderComparisonReport: no runs to compare');
  const entries = runs.map((r) => (typeof r === 'string' ? { dir: r } : r));
  const loaded = await Promise.all(entries.map(async (e) => ({ run: await loadRunFiles(e.dir), label: e.label })));
  const items = loaded.map(({ run, label }) => ({ run, label: label ?? run.name, isBaseline: isLogisticRegression(run.config.spec) }));
  if (!items.some((i) => i.isBaseline) && options.baseline !== null) {
    const lookup = await findBaseline(items.find((i) => !i.isBaseline)!.run, options.baseline);
    if (lookup.kind === 'found') items.push({ run: lookup.run, label: `${lookup.run.name} (baseline)`, isBaseline: true });
  }
  const rows = items.map((i) => rowOf(i.run, i.label, i.isBaseline));
  const order = rows.map((_, i) => i).sort((a, b) => (rows[b].valAccuracy ?? -1) - (rows[a].valAccuracy ?? -1));
  const sorted = order.map((i) => rows[i]);
  const colors = items.map((item, i) => (item.isBaseline ? MUTED : PALETTE[i % PALETTE.length]));

  const curves: LineSeries[] = items.map((item, i) => ({
    name: item.label,
    color: colors[i],
    style: item.isBaseline ? 'dashed' : 'line',
    points: item.run.epochs.filter((r) => r.valAccuracy !== undefined).map((r) => ({ x: r.epoch, y: r.valAccuracy! })),
  }));
  const legend = items.length > 6 ? 'right' : 'bottom';
  const validation = await chartFigure(
    'comparison-validation',
    'Validation accuracy per epoch',
    lineChart({ title: 'Validation accuracy per epoch', xTitle: 'epoch', yTitle: 'validation accuracy', yFormat: '.1%', series: curves, legend }),
  );
  const lossCurves: LineSeries[] = items.map((item, i) => ({
    ...curves[i],
    points: item.run.epochs.filter((r) => r.valLoss !== undefined).map((r) => ({ x: r.epoch, y: r.valLoss! })),
  }));
  const validationLoss = await chartFigure(
    'comparison-validation-loss',
    'Validation loss per epoch',
    lineChart({ title: 'Validation loss per epoch', subtitle: 'log scale', xTitle: 'epoch', yTitle: 'validation loss', yScale: 'log', series: lossCurves, legend }),
  );
  const tested = sorted.filter((r) => r.testAccuracy !== null);
  const accuracies = tested.map((r) => r.testAccuracy!);
  const low = Math.min(...accuracies);
  const testBars = await chartFigure(
    'comparison-test-accuracy',
    'Test accuracy per run',
    barChart({
      title: 'Test accuracy per run',
      subtitle: 'sorted by validation accuracy (the selection criterion); baseline in grey',
      orientation: 'horizontal',
      width: 560,
      labels: true,
      categories: tested.map((r) => r.label),
      series: [{ name: 'test accuracy', values: accuracies }],
      categoryColors: tested.map((r) => (r.isBaseline ? MUTED : undefined)),
      categoryTitle: '',
      valueTitle: 'test accuracy',
      valueFormat: '.1%',
      labelFormat: '.2%',
      // Start the axis below the worst run so the differences between good runs show.
      valueDomain: accuracies.length ? [Math.max(0, Math.floor((low - 0.02) * 50) / 50), 1] : undefined,
    }),
  );
  const figures = [testBars, validation, validationLoss];

  const best = sorted.find((r) => !r.isBaseline && r.valAccuracy !== null);
  const baseline = rows.find((r) => r.isBaseline);
  const outDir = outPath ? dirname(resolve(outPath)) : undefined;
  const link = (row: ComparisonRow) => {
    const report = join(row.dir, 'report.html');
    return outDir && existsSync(report) ? `<a href="${escapeHtml(relative(outDir, report))}">${escapeHtml(row.label)}</a>` : escapeHtml(row.label);
  };
  const tableRows = sorted.map((r, i) => [
    `${i + 1}. ${link(r)}`,
    escapeHtml(r.model),
    escapeHtml(r.optimizer),
    String(r.lr),
    String(r.weightDecay),
    String(r.batchSize),
    r.bestEpoch === null ? '–' : `${r.bestEpoch} / ${r.epochs}`,
    r.valAccuracy === null ? '–' : percent(r.valAccuracy),
    r.testAccuracy === null ? '–' : percent(r.testAccuracy),
    fixed(r.testLoss ?? undefined),
    r.secondsPerEpoch === null ? '–' : seconds(r.secondsPerEpoch),
  ]);
  // The selected run (best validation accuracy) is highlighted; the baseline is marked.
  const rowAttrs = sorted.map((r) => (r === best ? { class: 'highlight', 'data-selected': 'true' } : r.isBaseline ? { 'data-baseline': 'true' } : undefined));
  const tableHtml = table(
    ['run', 'model', 'optimizer', 'lr', 'weight decay', 'batch', 'best epoch', 'val acc', 'test acc', 'test loss', 'time/epoch'],
    tableRows,
    { class: 'comparison', id: 'comparison-table' },
    rowAttrs,
  );
  const title = options.title ?? `Comparison of ${runs.length} runs`;
  const headline = best
    ? `<p class="baseline" id="selected">Selected on validation accuracy: <strong>${escapeHtml(best.label)}</strong> (${escapeHtml(best.model)}), validation ${percent(best.valAccuracy!)}` +
      `${best.testAccuracy !== null ? `, test ${percent(best.testAccuracy)}` : ''}` +
      `${baseline?.testAccuracy != null ? `; logistic regression: test ${percent(baseline.testAccuracy)}` : '; no logistic-regression baseline among the runs'}.</p>`
    : '';
  const body =
    `<header class="top" id="summary" data-section="summary"><h1>${escapeHtml(title)}</h1>` +
    `<p class="sub">${count(rows.length)} runs · webgpu-mlp ${escapeHtml(VERSION)}${options.description ? ` · ${escapeHtml(options.description)}` : ''}</p>${headline}</header>` +
    section('runs', 'Runs', `<div class="table-wrap">${tableHtml}</div>`, 'Sorted by best validation accuracy; the selected run is highlighted. Test accuracy is measured once per run, with its best-validation weights.') +
    section(
      'comparison',
      'Curves and test accuracy',
      `<div class="charts">${figures.map((f) => `<figure data-figure="${f.name}"${f === testBars ? ' class="wide"' : ''}>${figureSvg(f)}</figure>`).join('')}</div>`,
    ) +
    `<footer>Written by <code>webgpu-mlp</code> ${escapeHtml(VERSION)} on ${escapeHtml(new Date().toISOString())}.</footer>`;
  return { html: page(title, body), figures, rows: sorted };
}

export interface WriteComparisonOptions extends ComparisonOptions {
  readonly out: string;
  /** Folder for PNG figures (default: beside the HTML, in figures/); false writes none. */
  readonly pngDir?: string | false;
}

export async function writeComparisonReport(
  runs: readonly (string | ComparisonRun)[],
  options: WriteComparisonOptions,
): Promise<{ htmlPath: string; pngPaths: string[]; report: ComparisonReport }> {
  const htmlPath = resolve(options.out);
  const report = await renderComparisonReport(runs, options, htmlPath);
  await writeFileAtomic(htmlPath, new TextEncoder().encode(report.html));
  const pngPaths = options.pngDir === false ? [] : await writeFigures(resolve(options.pngDir ?? join(dirname(htmlPath), 'figures')), report.figures);
  return { htmlPath, pngPaths, report };
}
