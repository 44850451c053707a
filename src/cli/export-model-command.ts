// `webgpu-mlp export`: a model for other runtimes (--format onnx: one .onnx file; --format tfjs: a
// TensorFlow.js Layers directory) from a checkpoint or a run directory, or runs for a tracker
// (--format mlflow, the default: report-command.ts does that part).
import type { Command } from 'commander';
import { describeModel, type InputTransform } from '../index.ts';
import { exportCheckpointFile } from '../node.ts';
import { EXIT, UsageError } from './errors.ts';

const MODEL_FORMATS = ['onnx', 'tfjs'] as const;
type ModelFormat = (typeof MODEL_FORMATS)[number];
export const EXPORT_FORMATS = ['mlflow', ...MODEL_FORMATS] as const;
export const EXPORT_INPUTS = ['bytes', 'identity'] as const;

export interface ExportCommandFlags {
  format: (typeof EXPORT_FORMATS)[number];
  out?: string;
  /** Absent: the checkpoint's own (bytes for image models, raw values for tables). */
  input?: (typeof EXPORT_INPUTS)[number];
  experiment: string;
  artifacts: boolean;
}

/** Options that belong to the other kind of export, given on the command line: a usage error. */
function refuseForeignOptions(command: Command | undefined, format: string, names: string[]): void {
  const given = names.filter((name) => command?.getOptionValueSource(name) === 'cli');
  if (given.length > 0) {
    const flags = given.map((name) => (name === 'artifacts' ? '--no-artifacts' : `--${name}`)).join(', ');
    throw new UsageError(`${flags} ${given.length > 1 ? 'do' : 'does'} not apply to --format ${format}`);
  }
}

function formatBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

export async function exportModelCommand(paths: string[], flags: ExportCommandFlags, command?: Command): Promise<number> {
  if (flags.format === 'mlflow') {
    refuseForeignOptions(command, flags.format, ['input']);
    const { exportCommand } = await import('./report-command.ts');
    return exportCommand(paths, { format: 'mlflow', out: flags.out ?? 'mlruns', experiment: flags.experiment, artifacts: flags.artifacts });
  }
  const format: ModelFormat = flags.format;
  if (!MODEL_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, found ${JSON.stringify(format)}`);
  refuseForeignOptions(command, format, ['experiment', 'artifacts']);
  if (paths.length !== 1) {
    throw new UsageError(`--format ${format} exports one checkpoint (a .safetensors file or a run directory), found ${paths.length} paths`);
  }
  const what = format === 'onnx' ? 'FILE.onnx' : 'DIR';
  if (!flags.out) throw new UsageError(`--format ${format} needs --out ${what}`);
  if (flags.input !== undefined && !EXPORT_INPUTS.includes(flags.input)) throw new UsageError(`--input must be one of ${EXPORT_INPUTS.join(', ')}, found ${JSON.stringify(flags.input)}`);

  const result = await exportCheckpointFile(paths[0], format, flags.out, flags.input ? { input: flags.input } : {});
  const input: InputTransform = result.input;
  const kind = format === 'onnx' ? 'ONNX model' : 'TensorFlow.js Layers model';
  console.log(`${result.checkpoint} → ${kind}: ${describeModel(result.spec)}`);
  for (const file of result.files) console.log(`  ${file.path}  ${formatBytes(file.bytes)}`);
  console.log(
    input === 'bytes'
      ? `input: float32 [N, ${result.spec.layers[0]}] of values 0..255 (divided by 255 inside the model); outputs: class probabilities`
      : input === 'identity'
        ? `input: float32 [N, ${result.spec.layers[0]}] as the model saw it in training (pixels / 255, or table values); outputs: class probabilities`
        : `input: float32 [N, ${result.spec.layers[0]}] of raw feature values, standardized inside the model ((x − mean) / std per feature); outputs: class probabilities`,
  );
  return EXIT.ok;
}
