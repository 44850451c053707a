// The data: a grid of training images (one row per class) and each split's label distribution
// (uPlot grouped bars: each class's three bars sit at x = class − offset, class, class + offset).
import uPlot from 'uplot';
import type { DatasetSummary, LabelCounts } from '../protocol.ts';
import { formatCount, putGray, themeColor } from './dom.ts';

const SIDE = 28;
const GAP = 2;
const OFFSET = 0.28;
const SETS = [
  { key: 'train', label: 'training', color: '#1d4ed8' },
  { key: 'validation', label: 'validation', color: '#ea580c' },
  { key: 'test', label: 'test', color: '#16a34a' },
] as const;

export function renderSampleGrid(canvas: HTMLCanvasElement, dataset: DatasetSummary): void {
  const count = dataset.sampleLabels.length;
  const perClass = count / 10;
  canvas.width = perClass * (SIDE + GAP) - GAP;
  canvas.height = 10 * (SIDE + GAP) - GAP;
  const context = canvas.getContext('2d')!;
  for (let k = 0; k < count; k++) {
    const row = dataset.sampleLabels[k];
    const column = k % perClass;
    putGray(context, dataset.sampleImages.subarray(k * SIDE * SIDE, (k + 1) * SIDE * SIDE), SIDE, SIDE, column * (SIDE + GAP), row * (SIDE + GAP));
  }
  canvas.setAttribute('aria-label', `${perClass} training images of each digit, one row per digit 0 to 9`);
}

export class LabelDistribution {
  private plot: uPlot | undefined;

  constructor(
    private readonly container: HTMLElement,
    private readonly caption: HTMLElement,
  ) {}

  /** `names`: the classes' names (a table's); default the digits 0-9. */
  update(counts: DatasetSummary['labelCounts'], names?: readonly string[]): void {
    const C = counts.train.length;
    let top = 0;
    const x: number[] = [];
    const columns: (number | null)[][] = SETS.map(() => []);
    const fraction = (set: LabelCounts, c: number) => {
      const total = set.reduce((a, b) => a + b, 0);
      return total ? set[c] / total : null;
    };
    for (let c = 0; c < C; c++) {
      SETS.forEach((set, s) => {
        x.push(c + (s - 1) * OFFSET);
        columns.forEach((column, k) => column.push(k === s ? fraction(counts[set.key], c) : null));
        top = Math.max(top, fraction(counts[set.key], c) ?? 0);
      });
    }
    const what = names ? 'class' : 'digit';
    const totals = SETS.map((set) => `${formatCount(counts[set.key].reduce((a, b) => a + b, 0))} ${set.label}`);
    this.caption.textContent = `Share of each ${what} in each split (${totals.join(', ')} ${names ? 'rows' : 'images'}).`;
    this.plot?.destroy();
    this.plot = new uPlot(
      {
        width: Math.max(300, this.container.clientWidth),
        height: 220,
        scales: { x: { time: false, range: [-0.6, C - 0.4] }, y: { range: [0, names ? Math.min(1, top * 1.15 || 1) : 0.14] } },
        axes: [
          {
            stroke: themeColor('--muted'),
            label: what,
            splits: () => Array.from({ length: C }, (_, c) => c),
            values: (_u, v) => v.map((c) => names?.[c] ?? String(c)),
            grid: { show: false },
          },
          { stroke: themeColor('--muted'), grid: { stroke: themeColor('--line') }, values: (_u, v) => v.map((f) => (f == null ? '' : `${Math.round(100 * f)}%`)), size: 48 },
        ],
        series: [
          { label: what, value: (_u, v) => (v == null ? '–' : (names?.[Math.round(v)] ?? String(Math.round(v)))) },
          ...SETS.map((set) => ({
            label: set.label,
            fill: set.color,
            stroke: set.color,
            paths: uPlot.paths.bars!({ size: [0.9, Infinity] }),
            points: { show: false },
            value: (_u: uPlot, v: number | null) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`),
          })),
        ],
      },
      [x, ...columns],
      this.container,
    );
  }
}
