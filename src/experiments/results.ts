// The record a search or study keeps of each finished run (result.json in its run directory), and
// the tables made of them: sorted by validation accuracy, best first, with the epoch at which each
// run's validation accuracy peaked. Written as CSV (every field) and Markdown (what varied), and
// printed as aligned text.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeLrSchedule, type TrainConfig } from '../index.ts';
import { writeFileAtomic, type RunStatus, type TrainingRunResult } from '../node.ts';
import type { SearchPoint } from './space.ts';

export const RESULT_FILE = 'result.json';

/**
 * 'trial': a search run, trained and validated without a test set; 'run': a study run (tested once);
 * 'baseline': the logistic regression; 'final': the selected configuration retrained and tested.
 */
export type RunRole = 'trial' | 'run' | 'baseline' | 'final';

export interface RunRecord {
  /** The run directory's name, inside the search or study directory. */
  readonly name: string;
  readonly role: RunRole;
  /** What the run is, in words: "hidden=256 lr=0.01", "tanh". */
  readonly label: string;
  readonly point?: SearchPoint;
  readonly config: TrainConfig;
  readonly status: RunStatus;
  /** Epochs trained. */
  readonly epochs: number;
  /** The epoch of the best validation accuracy (null without validation). */
  readonly bestEpoch: number | null;
  readonly valAccuracy: number | null;
  readonly valLoss: number | null;
  readonly testAccuracy: number | null;
  readonly testLoss: number | null;
  /** Median training time of an epoch (validation excluded). */
  readonly secondsPerEpoch: number;
  /** The whole run: building the engine, training, validation, checkpoints, test (not the report). */
  readonly wallSeconds: number;
  readonly adapter: string;
  readonly finishedAt: string;
}

/**
 * The median epoch time: a run's first epoch also pays for compiling the pipelines of shapes no
 * earlier run used (seconds on lavapipe), which a mean would spread over the run.
 */
function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function recordOf(run: Pick<RunRecord, 'name' | 'role' | 'label' | 'point'>, result: TrainingRunResult): RunRecord {
  const history = result.history;
  return {
    ...run,
    config: result.config,
    status: result.status,
    epochs: history.length,
    bestEpoch: result.best?.epoch ?? null,
    valAccuracy: result.best?.valAccuracy ?? null,
    valLoss: result.best?.valLoss ?? null,
    testAccuracy: result.summary?.test.accuracy ?? null,
    testLoss: result.summary?.test.loss ?? null,
    secondsPerEpoch: median(history.map((r) => r.seconds)),
    wallSeconds: result.wallSeconds,
    adapter: result.adapter,
    finishedAt: new Date().toISOString(),
  };
}

export async function readRecord(runDir: string): Promise<RunRecord | null> {
  const path = join(runDir, RESULT_FILE);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunRecord;
  } catch {
    return null; // a torn or foreign file: the run is trained again
  }
}

export function writeRecord(runDir: string, record: RunRecord): Promise<void> {
  return writeFileAtomic(join(runDir, RESULT_FILE), new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n'));
}

/** Runs that finished training (completed or early-stopped): the ones a selection may pick. */
export function finished(record: RunRecord): boolean {
  return record.status === 'completed' || record.status === 'early-stopped';
}

/** Best validation accuracy first; runs without one last; ties keep their order (the earlier run wins). */
export function sortByValidation(records: readonly RunRecord[]): RunRecord[] {
  return records
    .map((record, index) => ({ record, index }))
    .sort((a, b) => (b.record.valAccuracy ?? -1) - (a.record.valAccuracy ?? -1) || a.index - b.index)
    .map(({ record }) => record);
}

const percent = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(2)}%`);

/** The settings a table may show, as text: the ones that differ between rows become columns. */
const SETTINGS: readonly [string, (c: TrainConfig) => string][] = [
  ['layers', (c) => c.spec.layers.join('-')],
  ['activation', (c) => (c.spec.layers.length > 2 ? c.spec.activation : '–')],
  ['loss', (c) => c.spec.loss],
  ['dropout', (c) => (c.spec.layers.length > 2 ? String(c.spec.dropout) : '–')],
  ['init', (c) => (c.init.kind === 'uniform' ? `uniform:${c.init.a}` : c.init.kind === 'normal' ? `normal:${c.init.std}` : c.init.kind)],
  ['optimizer', (c) => (c.optimizer.kind === 'momentum' || c.optimizer.kind === 'nesterov' ? `${c.optimizer.kind} ${c.optimizer.momentum}` : c.optimizer.kind)],
  ['lr', (c) => String(c.lr)],
  ['schedule', (c) => describeLrSchedule(c)],
  ['weight decay', (c) => String(c.optimizer.weightDecay)],
  ['batch', (c) => String(c.batchSize)],
  ['epochs', (c) => String(c.epochs)],
  ['train images', (c) => (c.trainSubset ? String(c.trainSubset) : 'all')],
  ['validation', (c) => String(c.validation)],
  ['seed', (c) => String(c.seed)],
];

export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Settings every row shares: [name, value]. */
  readonly fixed: readonly (readonly [string, string])[];
}

/**
 * The table of `records` in the order given: the run, the settings that vary between rows, the
 * epoch at which validation accuracy peaked, validation (and, when any run was tested, test)
 * accuracy, and time per epoch.
 */
export function resultTable(records: readonly RunRecord[]): Table {
  // '–' marks a setting that plays no part in a run (a logistic regression's activation): not a difference.
  const values = (get: (c: TrainConfig) => string) => [...new Set(records.map((r) => get(r.config)).filter((v) => v !== '–'))];
  const varying = SETTINGS.filter(([, get]) => values(get).length > 1);
  const fixed = SETTINGS.filter(([, get]) => values(get).length === 1 && !varying.some(([, g]) => g === get)).map(([name, get]) => [name, values(get)[0]] as const);
  const tested = records.some((r) => r.testAccuracy !== null);
  const anyStatus = records.some((r) => r.status !== 'completed');
  const columns = [
    '#',
    'run',
    ...varying.map(([name]) => name),
    'peak epoch',
    'val acc',
    'val loss',
    ...(tested ? ['test acc'] : []),
    's/epoch',
    ...(anyStatus ? ['status'] : []),
  ];
  const rows = records.map((r, i) => [
    String(i + 1),
    r.role === 'baseline' ? `${r.label} (baseline)` : r.label,
    ...varying.map(([, get]) => get(r.config)),
    r.bestEpoch === null ? `– / ${r.epochs}` : `${r.bestEpoch} / ${r.epochs}`,
    percent(r.valAccuracy),
    r.valLoss === null ? '–' : r.valLoss.toFixed(4),
    ...(tested ? [percent(r.testAccuracy)] : []),
    r.secondsPerEpoch.toFixed(2),
    ...(anyStatus ? [r.status] : []),
  ]);
  return { columns, rows, fixed };
}

const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');

export function tableMarkdown(table: Table): string {
  const numeric = (column: string) => !['run', 'layers', 'activation', 'loss', 'init', 'optimizer', 'schedule', 'status'].includes(column);
  const lines = [
    `| ${table.columns.map(escapeCell).join(' | ')} |`,
    `|${table.columns.map((c) => (numeric(c) ? '---:' : '---')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
  if (table.fixed.length) lines.push('', `All runs: ${table.fixed.map(([name, value]) => `${name} ${value}`).join(', ')}.`);
  return lines.join('\n');
}

/** Aligned columns for a terminal. */
export function tableText(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i <= 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ').trimEnd();
  return [line(table.columns), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n');
}

const CSV_COLUMNS = [
  'rank', 'name', 'role', 'label', 'layers', 'activation', 'loss', 'dropout', 'init', 'optimizer', 'momentum', 'lr', 'schedule',
  'weight_decay', 'batch_size', 'epochs_budget', 'train_subset', 'validation', 'seed', 'status', 'epochs', 'best_epoch',
  'val_accuracy', 'val_loss', 'test_accuracy', 'test_loss', 'seconds_per_epoch', 'wall_seconds',
] as const;

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Every field of every record, in the order given (rank = position). */
export function recordsCsv(records: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  records.forEach((r, i) => {
    const c = r.config;
    const values: (string | number | null)[] = [
      i + 1, r.name, r.role, r.label, c.spec.layers.join('-'), c.spec.activation, c.spec.loss, c.spec.dropout,
      SETTINGS.find(([n]) => n === 'init')![1](c), c.optimizer.kind, c.optimizer.momentum, c.lr, describeLrSchedule(c),
      c.optimizer.weightDecay, c.batchSize, c.epochs, c.trainSubset, c.validation, c.seed, r.status, r.epochs, r.bestEpoch,
      r.valAccuracy, r.valLoss, r.testAccuracy, r.testLoss, r.secondsPerEpoch, r.wallSeconds,
    ];
    lines.push(values.map(csvCell).join(','));
  });
  return lines.join('\n') + '\n';
}
