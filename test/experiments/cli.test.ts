// `train`'s automatic report (and --no-report), and `search` / `study` as a user meets them: usage
// errors, the study list, and Ctrl-C in the middle of a search followed by the same command, which
// skips the finished trials and continues the interrupted one.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, CliProcess, ourStderr } from '../reliability/helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-experiments-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SMALL = ['--layers', '784,16,10', '--train-subset', '500', '--val-split', '1000', '--epochs', '1'];

describe('train writes its report unless --no-report', () => {
  it('by default: report.html and PNG figures, said on stdout', () => {
    const run = join(work, 'reported');
    const { code, stdout, stderr } = cli(work, ['train', ...SMALL, '--run-dir', run]);
    expect(ourStderr(stderr)).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^report ${run}/report\\.html \\(\\d+ PNG figures, [\\d.]+ s\\)$`, 'm'));
    expect(existsSync(join(run, 'report.html'))).toBe(true);
    expect(readdirSync(join(run, 'figures')).filter((f) => f.endsWith('.png')).length).toBeGreaterThan(5);
  });

  it('with --no-report: the run directory without them', () => {
    const run = join(work, 'unreported');
    const { code, stdout } = cli(work, ['train', ...SMALL, '--run-dir', run, '--no-report']);
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/^report /m);
    expect(existsSync(join(run, 'summary.json'))).toBe(true);
    expect(existsSync(join(run, 'report.html'))).toBe(false);
    expect(existsSync(join(run, 'figures'))).toBe(false);
  });
});

describe('search and study usage', () => {
  it.each([
    [['search', '--grid', 'lr'], /expected KEY=VALUES/],
    [['search', '--grid', 'lr=0.1,0.01', '--lr', '0.5'], /--lr is searched by the lr axis; drop --lr/],
    [['search', '--grid', 'lr=1e-4..1e-1'], /lr is a range: ranges need --random N/],
    [['search', '--grid', 'lr=0.1,0.01', '--random', '5'], /--random 5 over a space of only 2 points/],
    [['search'], /nothing to search: give at least one axis/],
    [['search', '--config', join(work, 'none.yaml')], /none\.yaml: cannot read \(ENOENT\)/],
    [['search', '--grid', 'hidden=16', '--epochs', '0'], /epochs must be an integer ≥ 1, found 0/],
    [['search', '--grid', 'hidden=16', '--val-split', '0'], /a search selects on validation accuracy: --val-split must hold out some training images/],
    [['study', 'dropout'], /unknown study "dropout"; studies: activations, depth-width/],
    [['study'], /name a study:/],
  ])('refuses %j with exit code 2', (args, message) => {
    const { code, stderr } = cli(work, args);
    expect(stderr).toMatch(message);
    expect(code).toBe(2);
  });

  it('lists the studies', () => {
    const { code, stdout } = cli(work, ['study', '--list']);
    expect(code).toBe(0);
    for (const name of ['activations', 'depth-width', 'loss-activation', 'optimizers', 'grid']) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });
});

describe('Ctrl-C during a search, then the same command', () => {
  // 5,000 images at batch 50: 100 steps per epoch, so the signal lands inside a trial. (The shapes of
  // search.test.ts: with a warm shader cache nothing new is compiled.)
  const args = ['search', '--grid', 'lr=0.01,0.003,0.001', '--layers', '784,16,10', '--train-subset', '5000', '--val-split', '1000', '--batch-size', '50',
    '--epochs', '2', '--no-retrain', '--dir', join(work, 'search')];

  it('stops with exit 130 and the interrupted trial saved; the same command skips finished trials and continues', { timeout: 300_000 }, async () => {
    const child = new CliProcess(work, args);
    await child.waitFor((e) => e.type === 'message' && String(e.text).includes('[2/3] trial'));
    await child.waitFor((e) => e.type === 'progress' && Number(e.step) >= 10);
    child.child.kill('SIGINT');
    const { code } = await child.exited;
    expect(ourStderr(child.stderr)).toBe('');
    expect(code).toBe(130);
    expect(child.messages().some((m) => m.startsWith('interrupted; run the same command again to continue (finished runs are skipped): webgpu-mlp search'))).toBe(true);
    const trials = join(work, 'search', 'trials');
    const finished = readdirSync(trials).filter((t) => existsSync(join(trials, t, 'result.json')));
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(finished.length).toBeLessThan(3);

    const again = cli(work, args);
    expect(ourStderr(again.stderr)).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/search: 3 trials \(grid\) in .* \(continuing: finished trials are skipped\)/);
    expect(again.stdout.match(/^already done: /gm)).toHaveLength(finished.length);
    expect(again.stdout).toMatch(/; resuming at epoch \d, step \d+$/m);
    expect(again.stdout).toMatch(new RegExp(`^${3 - finished.length} runs? trained in .*; ${finished.length} already done, skipped`, 'm'));
    expect(again.stdout).toMatch(/^selected on validation accuracy: trials\/00\d-lr-/m);
    expect(readdirSync(trials).filter((t) => existsSync(join(trials, t, 'result.json')))).toHaveLength(3);
  });
});
