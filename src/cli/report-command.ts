// `webgpu-mlp report` (a run's HTML report and PNG figures, or a comparison of several runs) and
// `webgpu-mlp export` (a run's metrics in a tracker's format: MLflow's file store).
// The report module is loaded on use: Vega and resvg add start-up time that other commands (and
// --no-report runs) need not pay.
import { MlpError } from '../index.ts';
import { lockNote, type ReportWriter } from '../node.ts';
import type { ComparisonWriter } from '../experiments/runner.ts';
import { EXIT, UsageError } from './errors.ts';

/** Writes a tested run's report on the device it trained on: what train, search and study call at the end. */
export function reportWriter(): ReportWriter {
  return async (runDir, { data, gpu, device }) => {
    const { writeRunReport } = await import('../report/run-report.ts');
    const { htmlPath, pngPaths, report } = await writeRunReport(runDir, { gpu, data, device });
    return `report ${htmlPath} (${pngPaths.length} PNG figures, ${report.seconds.toFixed(1)} s)`;
  };
}

/** Writes the comparison page of a search or study. */
export function comparisonWriter(): ComparisonWriter {
  return async (runs, options) => {
    const { writeComparisonReport } = await import('../report/comparison.ts');
    const { htmlPath, pngPaths } = await writeComparisonReport(runs, options);
    return [htmlPath, ...pngPaths];
  };
}

/** "note: DIR is being written by pid N ...; reading it as it is now", for each run dir another process holds. */
function noteLocked(runDirs: readonly string[]): void {
  for (const dir of runDirs) {
    const note = lockNote(dir);
    if (note) console.log(`note: ${note}`);
  }
}

export interface ReportFlags {
  out?: string;
  /** A folder, or false for --no-png. */
  png?: string | false;
  device: 'gpu' | 'cpu' | 'auto';
  baseline?: string;
  title?: string;
}

/** A run directory that is missing or malformed is a usage error (exit 2), said in one sentence. */
async function asUsage<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof MlpError && (error.code === 'RUN_DIR' || error.code === 'CONFIG')) throw new UsageError(error.message);
    throw error;
  }
}

export async function reportCommand(runDirs: string[], flags: ReportFlags): Promise<number> {
  const pngDir = flags.png === false ? false : flags.png;
  noteLocked(runDirs);
  if (runDirs.length > 1) {
    if (!flags.out) throw new UsageError('comparing several runs needs --out FILE for the comparison page');
    const { writeComparisonReport } = await import('../report/comparison.ts');
    const { htmlPath, pngPaths, report } = await asUsage(() =>
      writeComparisonReport(runDirs, { out: flags.out!, pngDir, baseline: flags.baseline, title: flags.title }),
    );
    console.log(`comparison of ${report.rows.length} runs: ${htmlPath}`);
    if (pngPaths.length) console.log(`${pngPaths.length} PNG figures in ${pngPaths[0].replace(/[/\\][^/\\]+$/, '')}`);
    return EXIT.ok;
  }
  const { writeRunReport } = await import('../report/run-report.ts');
  const { htmlPath, pngPaths, report } = await asUsage(() =>
    writeRunReport(runDirs[0], { out: flags.out, pngDir, device: flags.device, baseline: flags.baseline }),
  );
  for (const note of report.notes) console.log(`note: ${note}`);
  console.log(`report: ${htmlPath} (${(report.html.length / 1024).toFixed(0)} KiB, ${report.seconds.toFixed(1)} s)`);
  if (pngPaths.length) console.log(`${pngPaths.length} PNG figures in ${pngPaths[0].replace(/[/\\][^/\\]+$/, '')}`);
  return EXIT.ok;
}

export interface ExportFlags {
  format: 'mlflow';
  out: string;
  experiment: string;
  artifacts: boolean;
}

export async function exportCommand(runDirs: string[], flags: ExportFlags): Promise<number> {
  for (const dir of runDirs) {
    noteLocked([dir]);
    const { exportToMlflow } = await import('../report/mlflow.ts');
    const result = await asUsage(() => exportToMlflow(dir, { root: flags.out, experiment: flags.experiment, artifacts: flags.artifacts }));
    console.log(`${dir} → ${result.runPath} (experiment ${flags.experiment}, id ${result.experimentId}; ${result.values} metric values)`);
  }
  console.log(
    `open in MLflow: mlflow ui --backend-store-uri ${flags.out} (MLflow 3.13 and later: set MLFLOW_ALLOW_FILE_STORE=true, ` +
      `or import it with mlflow migrate-filestore --source ${flags.out} --target sqlite:///mlflow.db)`,
  );
  return EXIT.ok;
}
