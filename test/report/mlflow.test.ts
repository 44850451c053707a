// Export to MLflow's file store: the files and formats MLflow's FileStore reads (meta.yaml fields,
// "timestamp value step" metric lines, params and tags without newlines), on a run directory
// written here by hand so the test needs no training.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/train/config.ts';
import { experimentNameOf, exportToMlflow } from '../../src/report/mlflow.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-mlflow-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FINISHED_AT = '2026-01-02T03:04:05.000Z';
const WALL_SECONDS = 10;

/** A finished two-epoch run of two steps per epoch, with a best checkpoint and a report. */
function writeRun(dir: string): void {
  mkdirSync(join(dir, 'figures'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...DEFAULT_CONFIG, epochs: 2, version: '0.1.0', adapter: 'test adapter', command: ['train'] }));
  const epochs = [
    { epoch: 1, trainLoss: 0.5, trainAccuracy: 0.8, valLoss: 0.4, valAccuracy: 0.85, lr: 0.001, seconds: 3, samplesPerSecond: 1000, evalSeconds: 1 },
    { epoch: 2, trainLoss: 0.25, trainAccuracy: 0.9, valLoss: 0.3, valAccuracy: 0.9, lr: 0.0005, seconds: 4, samplesPerSecond: 900, evalSeconds: 1 },
  ];
  writeFileSync(join(dir, 'metrics.jsonl'), epochs.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileSync(join(dir, 'steps.csv'), 't,epoch,loss\n1,1,0.7\n2,1,0.3\n3,2,0.2\n4,2,1e-7\n');
  writeFileSync(
    join(dir, 'summary.json'),
    JSON.stringify({
      version: '0.1.0',
      finishedAt: FINISHED_AT,
      reason: 'completed',
      adapter: 'test adapter',
      device: 'gpu',
      parameters: 10,
      epochs: 2,
      bestEpoch: 2,
      validation: { loss: 0.3, accuracy: 0.9 },
      test: { loss: 0.31, accuracy: 0.89, correct: 89, count: 100, confusionMatrix: [], perClassAccuracy: [] },
      timing: { wallSeconds: WALL_SECONDS, trainSeconds: 7, meanEpochSeconds: 3.5, samplesPerSecond: 950 },
    }),
  );
  writeFileSync(join(dir, 'best.safetensors'), 'weights');
  writeFileSync(join(dir, 'report.html'), '<!doctype html>');
  writeFileSync(join(dir, 'figures', 'loss.png'), 'png');
}

const run = join(work, "my 'run'");
writeRun(run);
const root = join(work, 'mlruns');

describe('exportToMlflow', () => {
  it("writes the experiment, MLflow's default experiment and its trash folder", async () => {
    const result = await exportToMlflow(run, { root, experiment: "it's a test" });
    expect(existsSync(join(root, '.trash'))).toBe(true);
    expect(readFileSync(join(root, '0', 'meta.yaml'), 'utf8')).toContain("name: 'Default'\n");
    const meta = readFileSync(join(root, result.experimentId, 'meta.yaml'), 'utf8');
    expect(meta).toContain(`experiment_id: '${result.experimentId}'\n`);
    expect(meta).toContain("name: 'it''s a test'\n");
    expect(meta).toContain(`artifact_location: '${pathToFileURL(join(root, result.experimentId)).href}'\n`);
    expect(meta).toContain("lifecycle_stage: 'active'\n");
    expect(experimentNameOf(meta)).toBe("it's a test");
    expect(result.experimentId).toMatch(/^\d+$/);
  });

  it('writes the run: meta.yaml, params, tags, metrics and artifacts', async () => {
    const result = await exportToMlflow(run, { root });
    const end = Date.parse(FINISHED_AT);
    const start = end - 1000 * WALL_SECONDS;
    const meta = readFileSync(join(result.runPath, 'meta.yaml'), 'utf8');
    expect(result.runId).toMatch(/^[0-9a-f]{32}$/);
    for (const line of [
      `run_id: '${result.runId}'`,
      `run_uuid: '${result.runId}'`,
      `experiment_id: '${result.experimentId}'`,
      "run_name: 'my ''run'''",
      'status: 3', // FINISHED
      'source_type: 4', // LOCAL
      `start_time: ${start}`,
      `end_time: ${end}`,
      "lifecycle_stage: 'active'",
      `artifact_uri: '${pathToFileURL(join(result.runPath, 'artifacts')).href}'`,
      'tags: []',
      'deleted_time: null',
    ]) {
      expect(meta.split('\n')).toContain(line);
    }
    const param = (key: string) => readFileSync(join(result.runPath, 'params', key), 'utf8');
    expect(param('layers')).toBe('784-256-128-10');
    expect(param('optimizer')).toBe('adam');
    expect(param('lr')).toBe('0.001');
    expect(param('min_lr_factor')).toBe('0.01');
    expect(readFileSync(join(result.runPath, 'tags', 'mlflow.runName'), 'utf8')).toBe("my 'run'");
    expect(readFileSync(join(result.runPath, 'tags', 'mlflow.note.content'), 'utf8')).toMatch(/Test accuracy 89\.00% with the weights of epoch 2 of 2/);

    const metric = (key: string) =>
      readFileSync(join(result.runPath, 'metrics', key), 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => line.split(' ').map(Number));
    // Epoch 1 trains for 3 s and validates for 1 s; epoch 2 trains for 4 s more.
    expect(metric('train_loss')).toEqual([
      [start + 3000, 0.5, 1],
      [start + 8000, 0.25, 2],
    ]);
    expect(metric('val_accuracy')).toEqual([
      [start + 4000, 0.85, 1],
      [start + 9000, 0.9, 2],
    ]);
    // Steps spread over their epoch's training time; values keep their full precision.
    expect(metric('train_loss_step')).toEqual([
      [start + 1500, 0.7, 1],
      [start + 3000, 0.3, 2],
      [start + 6000, 0.2, 3],
      [start + 8000, 1e-7, 4],
    ]);
    expect(metric('test_accuracy')).toEqual([[end, 0.89, 2]]);
    expect(result.values).toBe(2 * 7 + 4 + 3);
    for (const line of readFileSync(join(result.runPath, 'metrics', 'train_loss_step'), 'utf8').split('\n').filter(Boolean)) {
      expect(line).toMatch(/^\d+ \S+ \d+$/);
    }
    expect(readdirSync(join(result.runPath, 'artifacts')).sort()).toEqual(['best.safetensors', 'config.json', 'figures', 'metrics.jsonl', 'report.html', 'steps.csv', 'summary.json']);
  });

  it('replaces the run when exported again, and finds the experiment by name', async () => {
    const first = await exportToMlflow(run, { root, experiment: 'again' });
    const second = await exportToMlflow(run, { root, experiment: 'again', artifacts: false });
    expect(second.runPath).toBe(first.runPath);
    expect(readFileSync(join(second.runPath, 'metrics', 'train_loss'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readdirSync(join(second.runPath, 'artifacts'))).toEqual([]);
    const experiments = readdirSync(root).filter((name) => existsSync(join(root, name, 'meta.yaml')) && experimentNameOf(readFileSync(join(root, name, 'meta.yaml'), 'utf8')) === 'again');
    expect(experiments).toEqual([first.experimentId]);
    // Run ids are unique across experiments (MLflow looks runs up by id alone).
    const elsewhere = await exportToMlflow(run, { root, experiment: 'elsewhere' });
    expect(elsewhere.runId).not.toBe(first.runId);
  });

  it("reads experiment names as MLflow's own YAML writer spells them", () => {
    expect(experimentNameOf('artifact_location: file:///x\nname: Default\n')).toBe('Default');
    expect(experimentNameOf('name: "tab\\tname"\n')).toBe('tab\tname');
    expect(experimentNameOf('no name here\n')).toBeUndefined();
  });
});
