// The search space: the --grid syntax, grid expansion, seeded random sampling, points applied to
// training flags, and search files in JSON and YAML. No GPU.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/index.ts';
import { readSearchFile } from '../../src/experiments/search-file.ts';
import { applyPoint, gridPoints, parseAxis, pointLabel, pointSlug, randomPoints, type Axis } from '../../src/experiments/space.ts';

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-space-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('--grid KEY=VALUES', () => {
  it('parses listed values of every kind, with aliases', () => {
    expect(parseAxis('lr=0.1,0.01')).toEqual({ key: 'lr', kind: 'list', values: [0.1, 0.01] });
    expect(parseAxis('hidden=128,256-128,none')).toEqual({ key: 'hidden', kind: 'list', values: [[128], [256, 128], []] });
    expect(parseAxis('l2=0,1e-4')).toEqual({ key: 'weight-decay', kind: 'list', values: [0, 1e-4] });
    expect(parseAxis('batch=32,128')).toEqual({ key: 'batch-size', kind: 'list', values: [32, 128] });
    expect(parseAxis('optimizer=sgd,adam')).toEqual({ key: 'optimizer', kind: 'list', values: ['sgd', 'adam'] });
    expect(parseAxis('init=he,uniform:0.1')).toEqual({ key: 'init', kind: 'list', values: ['he', 'uniform:0.1'] });
  });

  it('parses ranges, log-uniform for lr and weight decay, uniform for dropout', () => {
    expect(parseAxis('lr=1e-4..1e-1')).toEqual({ key: 'lr', kind: 'range', low: 1e-4, high: 0.1, scale: 'log' });
    expect(parseAxis('dropout=0..0.5')).toEqual({ key: 'dropout', kind: 'range', low: 0, high: 0.5, scale: 'linear' });
  });

  it.each([
    ['lr', /expected KEY=VALUES/],
    ['speed=1,2', /unknown search key "speed"; keys: hidden, lr/],
    ['lr=0.1,fast', /lr: expected a number, found "fast"/],
    ['lr=0,0.1', /lr: expected a positive number, found 0/],
    ['dropout=0.2,1', /dropout: expected a rate in \[0, 1\), found 1/],
    ['batch-size=32,0.5', /expected an integer/],
    ['optimizer=adam,lion', /optimizer: expected one of sgd, momentum, nesterov, adagrad, adam, adamw, found "lion"/],
    ['hidden=256,128x64', /expected hidden widths joined by '-'/],
    ['lr=0.1,0.1', /lr: 0.1 is listed twice/],
    ['hidden=32..64', /hidden: takes listed values only/],
    ['weight-decay=0..1e-3', /log-uniform range needs LOW > 0/],
    ['lr=0.1..0.01', /needs LOW < HIGH/],
  ])('refuses %s', (text, message) => {
    expect(() => parseAxis(text)).toThrow(message);
  });
});

describe('grid expansion', () => {
  it('is every combination, the first axis varying slowest', () => {
    const points = gridPoints([parseAxis('lr=0.1,0.01'), parseAxis('hidden=32,64-32'), parseAxis('dropout=0,0.5')]);
    expect(points).toHaveLength(8);
    expect(points.map(pointLabel)).toEqual([
      'lr=0.1 hidden=32 dropout=0',
      'lr=0.1 hidden=32 dropout=0.5',
      'lr=0.1 hidden=64-32 dropout=0',
      'lr=0.1 hidden=64-32 dropout=0.5',
      'lr=0.01 hidden=32 dropout=0',
      'lr=0.01 hidden=32 dropout=0.5',
      'lr=0.01 hidden=64-32 dropout=0',
      'lr=0.01 hidden=64-32 dropout=0.5',
    ]);
    expect(pointSlug(points[2])).toBe('lr-0.1_hidden-64-32_dropout-0');
  });

  it('refuses ranges and repeated keys', () => {
    expect(() => gridPoints([parseAxis('lr=1e-3..1e-1')])).toThrow(/lr is a range: ranges need --random N/);
    expect(() => gridPoints([parseAxis('lr=0.1'), parseAxis('lr=0.2')])).toThrow(/lr is given twice/);
    expect(() => gridPoints([])).toThrow(/nothing to search/);
  });
});

describe('random search', () => {
  const axes: Axis[] = [parseAxis('lr=1e-4..1e-1'), parseAxis('dropout=0..0.5'), parseAxis('hidden=64,128,256-128')];

  it('draws the same points from the same seed, other points from another', () => {
    const a = randomPoints(axes, 12, 7);
    expect(randomPoints(axes, 12, 7)).toEqual(a);
    expect(randomPoints(axes, 12, 8)).not.toEqual(a);
    // The first N of a longer draw are the N of a shorter one: growing a search keeps its trials.
    expect(randomPoints(axes, 20, 7).slice(0, 12)).toEqual(a);
  });

  it('stays within each range, log-uniformly for lr, with distinct points of 3 significant digits', () => {
    const points = randomPoints(axes, 400, 1);
    const lrs = points.map((p) => p.lr as number);
    expect(Math.min(...lrs)).toBeGreaterThanOrEqual(1e-4);
    expect(Math.max(...lrs)).toBeLessThanOrEqual(0.1);
    // Log-uniform over three decades: about a third of the draws in each decade.
    const decade = lrs.filter((lr) => lr >= 1e-3 && lr < 1e-2).length / lrs.length;
    expect(decade).toBeGreaterThan(0.25);
    expect(decade).toBeLessThan(0.42);
    for (const p of points) {
      expect(p.dropout as number).toBeGreaterThanOrEqual(0);
      expect(p.dropout as number).toBeLessThanOrEqual(0.5);
      expect(Number((p.lr as number).toPrecision(3))).toBe(p.lr);
      expect([[64], [128], [256, 128]]).toContainEqual(p.hidden);
    }
    expect(new Set(points.map((p) => JSON.stringify(p))).size).toBe(points.length);
  });

  it('refuses more samples than a listed space holds', () => {
    expect(() => randomPoints([parseAxis('lr=0.1,0.01'), parseAxis('hidden=32,64')], 4, 1)).toThrow(/--random 4 over a space of only 4 points: run the grid instead/);
    expect(randomPoints([parseAxis('lr=0.1,0.01'), parseAxis('hidden=32,64')], 3, 1)).toHaveLength(3);
  });
});

describe('points as training options', () => {
  it('replaces exactly the options the point names; hidden keeps the input and output widths', () => {
    const base = { layers: [784, 300, 10], epochs: 3 };
    const options = applyPoint(base, { hidden: [64, 32], 'weight-decay': 1e-4, optimizer: 'momentum', init: 'normal:0.01' });
    const config = resolveConfig(options);
    expect(config.spec.layers).toEqual([784, 64, 32, 10]);
    expect(config.optimizer.kind).toBe('momentum');
    expect(config.optimizer.weightDecay).toBe(1e-4);
    expect(config.init).toEqual({ kind: 'normal', std: 0.01 });
    expect(config.epochs).toBe(3);
    expect(config.lr).toBe(resolveConfig(base).lr);
    expect(resolveConfig(applyPoint(base, { hidden: [] })).spec.layers).toEqual([784, 10]);
  });

  it('reads options from objects as the command line does: camel or kebab case, values typed or as text', () => {
    const config = resolveConfig({ layers: '784,100,10', 'batch-size': 32, valShuffle: true, lr: '0.5' });
    expect(config.spec.layers).toEqual([784, 100, 10]);
    expect(config.batchSize).toBe(32);
    expect(config.validationShuffle).toBe(true);
    expect(config.lr).toBe(0.5);
    expect(() => resolveConfig({ lr: 'fast' })).toThrow(/option lr: expected a number, found "fast"/);
    expect(() => resolveConfig({ 'learning-rate': 0.1 })).toThrow(/unknown option "learning-rate"; the training options are: layers, activation/);
  });
});

describe('search files', () => {
  it('reads the same search from JSON and YAML', async () => {
    const json = join(work, 'search.json');
    writeFileSync(json, JSON.stringify({ base: { epochs: 4, layers: [784, 50, 10] }, grid: { lr: [0.1, 0.01], hidden: ['32', [64, 32]], dropout: '0..0.5' }, random: 5, seed: 3 }));
    const yaml = join(work, 'search.yaml');
    writeFileSync(yaml, ['base:', '  epochs: 4', '  layers: [784, 50, 10]', 'grid:', '  lr: [0.1, 0.01]', '  hidden: ["32", [64, 32]]', '  dropout: 0..0.5', 'random: 5', 'seed: 3', ''].join('\n'));
    const fromJson = await readSearchFile(json);
    expect(await readSearchFile(yaml)).toEqual(fromJson);
    expect(fromJson.axes).toEqual([
      { key: 'lr', kind: 'list', values: [0.1, 0.01] },
      { key: 'hidden', kind: 'list', values: [[32], [64, 32]] },
      { key: 'dropout', kind: 'range', low: 0, high: 0.5, scale: 'linear' },
    ]);
    expect(fromJson).toMatchObject({ random: 5, seed: 3, base: { epochs: 4 } });
  });

  it('names the file and the problem', async () => {
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'grid:\n  lr: [0.1, -1]\n');
    await expect(readSearchFile(bad)).rejects.toThrow(`${bad}: lr: expected a positive number, found -1`);
    writeFileSync(bad, 'grid: {lr: [0.1]}\nrandomly: 3\n');
    await expect(readSearchFile(bad)).rejects.toThrow(/unknown key randomly/);
    writeFileSync(bad, 'grid: [unclosed\n');
    await expect(readSearchFile(bad)).rejects.toThrow(/not valid YAML/);
    await expect(readSearchFile(join(work, 'missing.json'))).rejects.toThrow(/cannot read \(ENOENT\)/);
  });
});
