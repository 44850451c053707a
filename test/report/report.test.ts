// The run report end to end, as a user gets it: train a small MLP and its logistic-regression
// baseline with the CLI, write the report with the CLI, open it in headless Chromium with every
// request recorded, check that each section rendered (elements present, images decoded, charts
// drawn with a size), and save screenshots to test-results/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decode } from 'fast-png';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RESULTS = join(root, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** From shared/ENVIRONMENT.md; no WebGPU needed here: the report is a static page. */
const CHROMIUM_FLAGS = ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

const work = mkdtempSync(join(tmpdir(), 'webgpu-mlp-report-'));
const runs = join(work, 'runs');
const mlp = join(runs, 'mlp');
const baseline = join(runs, 'baseline-784-10');

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(root, 'bin', 'webgpu-mlp.mjs'), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Small and quick: 3,000 training images, 2 epochs, validated on the usual 10,000. */
const TRAIN = ['--train-subset', '3000', '--epochs', '2', '--lr', '0.003'];

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}. Install it with: sudo bash scripts/setup-system.sh --browser (or apt-get install chromium), or set CHROMIUM_PATH.`);
  }
  for (const [dir, layers] of [
    [mlp, '784,32,10'],
    [baseline, '784,10'],
  ]) {
    const { code, stderr } = cli('train', '--layers', layers, ...TRAIN, '--run-dir', dir);
    expect(code, stderr).toBe(0);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Opens a local HTML file, recording every request and every console error. */
async function open(path: string): Promise<{ page: Page; requests: string[]; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => message.type() === 'error' && problems.push(`console error: ${message.text()}`));
  await page.goto(pathToFileURL(path).href);
  return { page, requests, problems };
}

/** Every <img> decoded (natural size > 0) and every inline chart drawn with a size and marks. */
async function renderedMedia(page: Page): Promise<{ images: number; brokenImages: string[]; charts: number; emptyCharts: string[] }> {
  return page.evaluate(() => {
    const images = [...document.images];
    const charts = [...document.querySelectorAll('figure > svg')];
    return {
      images: images.length,
      brokenImages: images.filter((img) => !(img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0)).map((img) => img.alt),
      charts: charts.length,
      emptyCharts: charts
        .filter((svg) => {
          const box = svg.getBoundingClientRect();
          return !(box.width > 50 && box.height > 50 && svg.querySelectorAll('path, rect').length > 3);
        })
        .map((svg) => svg.getAttribute('aria-label') ?? '?'),
    };
  });
}

describe('webgpu-mlp report RUN_DIR', () => {
  it('writes a self-contained report that renders every section offline, and PNG figures', async () => {
    const started = performance.now();
    // A figure left by an earlier report of another model goes; the new ones replace it.
    await mkdir(join(mlp, 'figures'), { recursive: true });
    writeFileSync(join(mlp, 'figures', 'histogram-layers.7.weight.png'), 'stale');
    const { code, stdout, stderr } = cli('report', mlp);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^report: .*report\.html/m);
    const htmlPath = join(mlp, 'report.html');
    const html = readFileSync(htmlPath, 'utf8');
    // Nothing to fetch: no external sources or links at all (the SVG namespace is not a request).
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain("Content-Security-Policy");
    console.log(`report: CLI took ${((performance.now() - started) / 1000).toFixed(1)} s for ${(html.length / 1024).toFixed(0)} KiB of HTML`);

    const summary = JSON.parse(readFileSync(join(mlp, 'summary.json'), 'utf8'));
    const baselineSummary = JSON.parse(readFileSync(join(baseline, 'summary.json'), 'utf8'));
    const { page, requests, problems } = await open(htmlPath);

    for (const id of ['summary', 'curves', 'confusion', 'mistakes', 'weights', 'histograms', 'activations', 'dataset']) {
      const box = await page.locator(`[data-section="${id}"]`).boundingBox();
      expect(box, id).not.toBeNull();
      expect(box!.height, id).toBeGreaterThan(60);
    }
    expect(Number(await page.locator('#test-accuracy').getAttribute('data-value'))).toBe(summary.test.accuracy);
    // The baseline was found beside the run by the naming convention.
    expect(await page.locator('#baseline').getAttribute('data-state')).toBe('found');
    expect(Number(await page.locator('#baseline').getAttribute('data-accuracy'))).toBe(baselineSummary.test.accuracy);
    expect(await page.locator('#baseline').textContent()).toMatch(/fewer test errors/);

    // Curves: loss and accuracy; confusion matrix with a per-class table of 10 rows.
    expect(await page.locator('[data-figure="loss"] svg').count()).toBe(1);
    expect(await page.locator('[data-figure="accuracy"] svg').count()).toBe(1);
    expect(await page.locator('[data-figure="confusion"] svg text').allTextContents()).toContain(String(summary.test.confusionMatrix[3][3]));
    expect(await page.locator('table.per-class tbody tr').count()).toBe(10);

    // Gallery: only mistakes, most confident first, no more than the limit.
    const mistakes = await page.locator('figure.mistake').evaluateAll((figures) =>
      figures.map((f) => ({ predicted: (f as HTMLElement).dataset.predicted, label: (f as HTMLElement).dataset.label, confidence: Number((f as HTMLElement).dataset.confidence) })),
    );
    expect(mistakes.length).toBeGreaterThan(0);
    expect(mistakes.length).toBeLessThanOrEqual(48);
    for (const m of mistakes) expect(m.predicted).not.toBe(m.label);
    expect(mistakes.map((m) => m.confidence)).toEqual([...mistakes.map((m) => m.confidence)].sort((a, b) => b - a));

    // Weights before/after, a histogram per tensor (2 layers × weight, bias), one activation row per class.
    expect(await page.locator('#weights-before img').count()).toBe(1);
    expect(await page.locator('#weights-after img').count()).toBe(1);
    expect(await page.locator('[data-section="histograms"] figure svg').count()).toBe(4);
    expect(await page.locator('table.activations tbody tr').count()).toBe(10);
    expect(await page.locator('table.activations img.strip').count()).toBe(20);
    expect(await page.locator('#mean-images img').count()).toBe(11);

    const media = await renderedMedia(page);
    expect(media.brokenImages).toEqual([]);
    expect(media.emptyCharts).toEqual([]);
    expect(media.charts).toBe(8); // loss, accuracy, confusion, 4 histograms, label distribution
    console.log(`report: ${media.images} images and ${media.charts} charts rendered`);

    expect(requests).toEqual([pathToFileURL(htmlPath).href]);
    expect(problems).toEqual([]);
    await mkdir(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, 'report.png'), fullPage: true });
    await page.close();

    // PNG figures for documents, each a decodable image.
    const figures = readdirSync(join(mlp, 'figures')).sort();
    expect(figures).toEqual(
      [
        'accuracy.png',
        'confusion.png',
        'histogram-layers.0.bias.png',
        'histogram-layers.0.weight.png',
        'histogram-layers.1.bias.png',
        'histogram-layers.1.weight.png',
        'labels.png',
        'loss.png',
        'samples.png',
        'weights-initial.png',
        'weights-trained.png',
      ].sort(),
    );
    for (const file of figures) {
      const png = decode(readFileSync(join(mlp, 'figures', file)));
      expect(png.width, file).toBeGreaterThan(100);
      expect(png.height, file).toBeGreaterThan(100);
    }
  }, 120_000);

  it('compares several runs on one page, sorted by validation accuracy', async () => {
    const out = join(work, 'comparison.html');
    const { code, stderr } = cli('report', mlp, baseline, '--out', out, '--title', 'MLP against its baseline');
    expect(code, stderr).toBe(0);
    const { page, requests, problems } = await open(out);
    const rows = await page.locator('#comparison-table tbody tr').count();
    expect(rows).toBe(2);
    const accuracies = await page.locator('#comparison-table tbody tr td:nth-child(8)').allTextContents();
    expect(Number.parseFloat(accuracies[0])).toBeGreaterThanOrEqual(Number.parseFloat(accuracies[1]));
    expect(await page.locator('#comparison-table tr[data-baseline="true"]').count()).toBe(1);
    expect(await page.locator('#comparison-table tr[data-selected="true"]').count()).toBe(1);
    const media = await renderedMedia(page);
    expect(media.charts).toBe(3);
    expect(media.emptyCharts).toEqual([]);
    expect(requests).toEqual([pathToFileURL(out).href]);
    expect(problems).toEqual([]);
    await page.screenshot({ path: join(RESULTS, 'report-comparison.png'), fullPage: true });
    await page.close();
  }, 60_000);

  it('says what is wrong with a directory that is not a run', () => {
    const missing = cli('report', join(work, 'nowhere'));
    expect(missing.stderr).toMatch(/nowhere: no such directory/);
    expect(missing.code).toBe(2);
    const notRun = cli('report', work);
    expect(notRun.stderr).toMatch(/no config\.json here; is this a run directory/);
    expect(notRun.code).toBe(2);
    const twoWithoutOut = cli('report', mlp, baseline);
    expect(twoWithoutOut.stderr).toMatch(/comparing several runs needs --out/);
    expect(twoWithoutOut.code).toBe(2);
  });

  it('exports the run to MLflow file-store layout', () => {
    const mlruns = join(work, 'mlruns');
    const { code, stdout, stderr } = cli('export', mlp, '--out', mlruns, '--experiment', 'report-test');
    expect(code, stderr).toBe(0);
    const runPath = /→ (\S+)/.exec(stdout)![1];
    expect(readFileSync(join(runPath, 'metrics', 'val_accuracy'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readFileSync(join(runPath, 'params', 'layers'), 'utf8')).toBe('784-32-10');
    expect(existsSync(join(runPath, 'artifacts', 'report.html'))).toBe(true);
  });
});
