// Accuracy bench: `npm run bench:accuracy` trains every architecture of the classic MNIST MLP
// studies with a good recipe, plus the default model and a best-effort recipe, each through the
// real CLI (`webgpu-mlp train`), and compares the test accuracy with the published figure.
//   --only=NAME[,NAME]   run only these rows      --markdown   print the table for bench/RESULTS.md
//   --write              replace the Accuracy section of bench/RESULTS.md with this run's table
//   --runs=DIR           where run directories go (default runs/accuracy)
//   --reuse              take a row from its run directory when that holds a finished run of the same command
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Entry {
  readonly name: string;
  /** Test accuracy the classic studies published for this architecture (undefined: ours only). */
  readonly published?: number;
  readonly args: readonly string[];
}

// Recipes: Adam with a cosine schedule; dropout on hidden layers where it pays. Chosen on
// validation accuracy only (the test set is evaluated once per run, after training).
const ENTRIES: readonly Entry[] = [
  { name: '784-10', published: 0.925, args: ['--layers', '784,10', '--lr', '0.003', '--epochs', '30'] },
  { name: '784-30-10', published: 0.964, args: ['--layers', '784,30,10', '--dropout', '0', '--lr', '0.003', '--epochs', '30'] },
  { name: '784-128-10', published: 0.967, args: ['--layers', '784,128,10', '--dropout', '0.2', '--epochs', '20'] },
  { name: '784-256-10', published: 0.977, args: ['--layers', '784,256,10', '--dropout', '0.2', '--epochs', '20'] },
  { name: '784-128-64-10', published: 0.976, args: ['--layers', '784,128,64,10', '--dropout', '0.2', '--epochs', '20'] },
  { name: '784-256-64-10', published: 0.98, args: ['--layers', '784,256,64,10', '--dropout', '0.2', '--epochs', '20'] },
  { name: '784-256-128-10 (the defaults of npm run train)', published: 0.97, args: [] },
  { name: 'best effort: 784-800-800-10', args: ['--layers', '784,800,800,10', '--dropout', '0.4', '--lr', '0.001', '--epochs', '40'] },
];

interface Result {
  entry: Entry;
  accuracy: number;
  bestEpoch: number;
  epochs: number;
  adapter: string;
  runDir: string;
}

const root = join(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = option('only')?.split(',');
const runsDir = option('runs') ?? join('runs', 'accuracy');

function slug(name: string): string {
  return name.replace(/[^a-z0-9-]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
}

/** Whether `runDir` holds a finished run trained with exactly these arguments. */
function finishedWith(runDir: string, args: readonly string[]): boolean {
  if (!existsSync(join(runDir, 'summary.json'))) return false;
  const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
  return JSON.stringify(config.command) === JSON.stringify(args);
}

function run(entry: Entry): Result {
  const runDir = join(runsDir, slug(entry.name));
  const args = ['train', ...entry.args, '--run-dir', runDir, '--overwrite'];
  if (argv.includes('--reuse') && finishedWith(runDir, args)) {
    console.error(`\n== ${entry.name}: reusing ${runDir}`);
  } else {
    console.error(`\n== ${entry.name}: webgpu-mlp ${args.join(' ')}`);
    const child = spawnSync(process.execPath, [join(root, 'bin', 'webgpu-mlp.mjs'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (child.status !== 0) throw new Error(`${entry.name}: train exited with ${child.status}`);
  }
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
  return {
    entry,
    accuracy: summary.test.accuracy,
    bestEpoch: summary.bestEpoch,
    epochs: summary.epochs,
    adapter: summary.adapter,
    runDir,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function markdown(results: readonly Result[]): string {
  const lines = [
    '| architecture | published | ours (test) | best epoch / epochs | command |',
    '|---|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const verdict = r.entry.published === undefined ? '' : r.accuracy >= r.entry.published ? ' ✓' : ' ✗';
    const command = `\`npm run train${r.entry.args.length ? ' -- ' + r.entry.args.join(' ') : ''}\``;
    lines.push(
      `| ${r.entry.name} | ${r.entry.published === undefined ? '–' : pct(r.entry.published)} | ${pct(r.accuracy)}${verdict} | ` +
        `${r.bestEpoch} / ${r.epochs} | ${command} |`,
    );
  }
  return lines.join('\n');
}

const START = '<!-- accuracy:start -->';
const END = '<!-- accuracy:end -->';

function writeResults(results: readonly Result[]): void {
  const path = join(root, 'bench', 'RESULTS.md');
  const text = readFileSync(path, 'utf8');
  const section = [
    START,
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:accuracy -- --write\` on ${results[0].adapter}.`,
    'Each row is one run with seed 1 (50,000 training images, 10,000 validation for selecting the epoch, test evaluated once);',
    '"best epoch" is the validation-selected epoch whose weights were tested. The runs shared the machine with other work,',
    'so their timings say nothing (see Training speed); each run\'s metrics.csv has them.',
    '',
    markdown(results),
    END,
  ].join('\n');
  const next = text.includes(START)
    ? text.slice(0, text.indexOf(START)) + section + text.slice(text.indexOf(END) + END.length)
    : `${text.trimEnd()}\n\n## Accuracy\n\n${section}\n`;
  writeFileSync(path, next);
}

const entries = only ? ENTRIES.filter((e) => only.includes(e.name) || only.includes(slug(e.name))) : ENTRIES;
if (entries.length === 0) throw new Error(`--only matched nothing; names: ${ENTRIES.map((e) => slug(e.name)).join(', ')}`);
const results = entries.map(run);
console.log(`\n${markdown(results)}`);
if (argv.includes('--write')) writeResults(results);
