// `webgpu-mlp report` (a run's HTML report and PNG figures, or a comparison of several runs) and
// `webgpu-mlp export` (a run's metrics in a tracker's format: MLflow's file store).
import { ConfigError } from '../train/config.ts';
import { writeComparisonReport } from '../report/comparison.ts';
import { exportToMlflow } from '../report/mlflow.ts';
import { ReportError } from '../report/run-files.ts';
import { writeRunReport } from '../report/run-report.ts';
import { EXIT, UsageError } from './errors.ts';

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
    if (error instanceof ReportError || error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

export async function reportCommand(runDirs: string[], flags: ReportFlags): Promise<number> {
  const pngDir = flags.png === false ? false : flags.png;
  if (runDirs.length > 1) {
    if (!flags.out) throw new UsageError('comparing several runs needs --out FILE for the comparison page');
    const { htmlPath, pngPaths, report } = await asUsage(() =>
      writeComparisonReport(runDirs, { out: flags.out!, pngDir, baseline: flags.baseline, title: flags.title }),
    );
    console.log(`comparison of ${report.rows.length} runs: ${htmlPath}`);
    if (pngPaths.length) console.log(`${pngPaths.length} PNG figures in ${pngPaths[0].replace(/[/\\][^/\\]+$/, '')}`);
    return EXIT.ok;
  }
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
    const result = await asUsage(() => exportToMlflow(dir, { root: flags.out, experiment: flags.experiment, artifacts: flags.artifacts }));
    console.log(`${dir} → ${result.runPath} (experiment ${flags.experiment}, id ${result.experimentId}; ${result.values} metric values)`);
  }
  console.log(
    `open in MLflow: mlflow ui --backend-store-uri ${flags.out} (MLflow 3.13 and later: set MLFLOW_ALLOW_FILE_STORE=true, ` +
      `or import it with mlflow migrate-filestore --source ${flags.out} --target sqlite:///mlflow.db)`,
  );
  return EXIT.ok;
}
