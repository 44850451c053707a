// Run locks as a user meets them: a second `train` on a run directory another train is writing is
// refused (exit 2, naming the holder) whatever its flags, --overwrite and --resume included, and the
// first run finishes intact; `export` says it reads a directory being written; a run killed with -9
// is resumed with a notice that its stale lock was taken over; two searches sharing --dir likewise.
// The first process is paused (SIGSTOP) while the others try, so that however fast this machine
// trains, it is still writing when they do; a paused process keeps its lock.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/runs/lock.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'webgpu-mlp.mjs');
const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-run-locks-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The CLI in the background: its output so far, and its exit. */
function background(...args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: work, env: { ...process.env, FORCE_COLOR: '0' } });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

/** Resolves once `path` exists; fails if `exited` comes first. */
async function waitForFile(path: string, exited: Promise<unknown>, out: { stderr: string }): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  while (!existsSync(path)) {
    if (done) throw new Error(`exited before ${path} appeared; stderr: ${out.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ourStderr = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('Warning: maxDynamic'))
    .join('\n');

const lockHolder = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; startedAt: string; command: string };

describe('two trains on one run directory', () => {
  const run = join(work, 'R');
  const first = ['train', '--layers', '784,64,10', '--train-subset', '3000', '--epochs', '2', '--lr', '0.003', '--no-report', '--run-dir', run];

  it('refuses --overwrite and --resume while the first writes it; the first finishes intact', async () => {
    const writer = background(...first);
    await waitForFile(join(run, 'config.json'), writer.exited, writer.out);
    writer.child.kill('SIGSTOP');
    const { pid, startedAt, command } = lockHolder(run);
    expect(pid).toBe(writer.child.pid);
    expect(command).toBe(`webgpu-mlp ${first.join(' ')}`);
    const holder = `pid ${pid} on host ${hostname()}, started ${startedAt}`;

    const overwrite = cli('train', '--layers', '784,32,10', '--train-subset', '1000', '--epochs', '1', '--no-report', '--run-dir', run, '--overwrite');
    expect(overwrite.code).toBe(2);
    expect(ourStderr(overwrite.stderr)).toMatch(new RegExp(`^error: ${run} is in use by another webgpu-mlp process, ${holder} \\(\\d+ s ago\\): webgpu-mlp train .* --run-dir ${run}\\. `));
    expect(overwrite.stderr).toContain(`Wait for it to finish, or stop it (kill ${pid}) and try again, or choose another directory.`);
    console.log(`train --overwrite while another train writes R:\n${ourStderr(overwrite.stderr)}`);

    const resume = cli('train', '--resume', run);
    expect(resume.code).toBe(2);
    expect(ourStderr(resume.stderr)).toMatch(new RegExp(`^error: ${run} is in use by another webgpu-mlp process, ${holder}`));
    console.log(`train --resume R meanwhile:\n${ourStderr(resume.stderr)}`);

    // export and report read it, after saying so (what they read is the run as it is now).
    const exported = cli('export', run, '--out', join(work, 'mlruns'));
    expect(exported.stdout).toContain(`note: ${run} is being written by pid ${pid} on host ${hostname()} (started ${startedAt}: webgpu-mlp train`);
    expect(exported.stdout).toContain('; reading it as it is now');
    console.log(`export R meanwhile:\n${exported.stdout.split('\n')[0]}`);
    const report = cli('report', run, '--no-png', '--out', join(work, 'R-now.html'));
    expect(report.stdout.split('\n')[0]).toBe(exported.stdout.split('\n')[0]);

    writer.child.kill('SIGCONT');
    expect(await writer.exited).toBe(0);
    expect(ourStderr(writer.out.stderr)).toBe('');
    // Everything in R is the first run's: its config (3,000 images, 2 epochs, its command) and its summary.
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ trainSubset: 3000, epochs: 2, command: first.slice(0) });
    expect(config.spec.layers).toEqual([784, 64, 10]);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    expect(summary.epochs).toBe(2);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(existsSync(join(run, LOCK_FILE))).toBe(false);
    // Released: nothing about locks now; a finished run is refused for its own reason.
    expect(cli('export', run, '--out', join(work, 'mlruns')).stdout).not.toContain('being written');
    expect(cli('train', '--resume', run).stderr).toMatch(/this run has finished/);
  });

  it('resumes a run killed with -9, saying it took over the stale lock', async () => {
    const killed = join(work, 'killed');
    const writer = background('train', '--layers', '784,64,10', '--train-subset', '3000', '--epochs', '2', '--no-report', '--checkpoint-every', '1', '--run-dir', killed);
    await waitForFile(join(killed, 'last.safetensors'), writer.exited, writer.out);
    const { pid, startedAt } = lockHolder(killed);
    writer.child.kill('SIGKILL');
    await writer.exited;
    expect(existsSync(join(killed, LOCK_FILE))).toBe(true);

    const resumed = cli('train', '--resume', killed);
    expect(ourStderr(resumed.stderr)).toBe('');
    expect(resumed.code).toBe(0);
    const notice = `took over a stale lock on ${killed} left by pid ${pid} on ${hostname()}, started ${startedAt} (webgpu-mlp train `;
    expect(resumed.stdout).toContain(notice);
    expect(resumed.stdout).toMatch(/: that process is gone$/m);
    console.log(`train --resume after kill -9:\n${resumed.stdout.split('\n').find((line) => line.startsWith('took over'))}`);
    expect(existsSync(join(killed, 'summary.json'))).toBe(true);
    expect(existsSync(join(killed, LOCK_FILE))).toBe(false);
  });
});

describe('two searches sharing --dir', () => {
  const dir = join(work, 'search');
  const search = ['search', '--grid', 'lr=0.01,0.003', '--layers', '784,16,10', '--train-subset', '2000', '--val-split', '500', '--batch-size', '50',
    '--epochs', '1', '--no-retrain', '--no-report', '--dir', dir];

  it('refuses the second (same or other definition, or a train there) while the first runs; the first finishes', async () => {
    const first = background(...search);
    await waitForFile(join(dir, 'search.json'), first.exited, first.out);
    first.child.kill('SIGSTOP');
    const { pid, startedAt } = lockHolder(dir);
    expect(pid).toBe(first.child.pid);
    const holder = `error: ${dir} is in use by another webgpu-mlp process, pid ${pid} on host ${hostname()}, started ${startedAt}`;

    const same = cli(...search);
    expect(same.code).toBe(2);
    expect(ourStderr(same.stderr)).toMatch(new RegExp(`^${holder} \\(\\d+ s ago\\): webgpu-mlp search --grid lr=0\\.01,0\\.003 `));
    console.log(`the same search meanwhile:\n${ourStderr(same.stderr)}`);
    const other = cli(...search.map((arg) => (arg === 'lr=0.01,0.003' ? 'lr=0.1' : arg)));
    expect(other.code).toBe(2);
    expect(ourStderr(other.stderr)).toMatch(new RegExp(`^${holder}`));
    const train = cli('train', '--layers', '784,16,10', '--train-subset', '1000', '--epochs', '1', '--no-report', '--run-dir', dir, '--overwrite');
    expect(train.code).toBe(2);
    expect(ourStderr(train.stderr)).toMatch(new RegExp(`^${holder}`));

    first.child.kill('SIGCONT');
    expect(await first.exited).toBe(0);
    expect(ourStderr(first.out.stderr)).toBe('');
    expect(first.out.stdout).toMatch(/^2 runs trained in /m);
    expect(existsSync(join(dir, 'results.csv'))).toBe(true);
    // Every lock released: the search's and each trial's.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    for (const trial of readdirSync(join(dir, 'trials'))) expect(existsSync(join(dir, 'trials', trial, LOCK_FILE)), trial).toBe(false);
    // The same command again: nothing held, every trial already done.
    const again = cli(...search);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/^already done: /gm)).toHaveLength(2);
  });
});
