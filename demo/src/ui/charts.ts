// Live training curves (uPlot): loss per step with its moving average and validation loss per
// epoch; accuracy on the epoch so far (train) and per epoch (validation). x is in epochs.
import uPlot from 'uplot';
import type { EpochRecord, ProgressEvent } from 'webgpu-mlp';
import { frameThrottle, themeColor } from './dom.ts';

/** Weight of the newest step in the loss curve's exponential moving average. */
const SMOOTHING = 0.05;
const HEIGHT = 240;
const COLORS = { step: '#9ec5fe', smooth: '#1d4ed8', validation: '#ea580c', train: '#1d4ed8' };

type Column = (number | null)[];

function chart(container: HTMLElement, title: string, series: uPlot.Series[], y: uPlot.Scale & { label: string; format: (v: number) => string }): uPlot {
  const options: uPlot.Options = {
    title,
    width: Math.max(300, container.clientWidth),
    height: HEIGHT,
    scales: { x: { time: false }, y: { distr: y.distr, range: y.range } },
    axes: [
      { label: 'epoch', stroke: themeColor('--muted'), grid: { stroke: themeColor('--line') } },
      { label: y.label, stroke: themeColor('--muted'), grid: { stroke: themeColor('--line') }, values: (_u, values) => values.map((v) => (v == null ? '' : y.format(v))), size: 56 },
    ],
    series: [{ label: 'epoch', value: (_u, v) => (v == null ? '–' : v.toFixed(2)) }, ...series],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  const plot = new uPlot(options, [[], ...series.map(() => [])], container);
  new ResizeObserver(() => plot.setSize({ width: Math.max(300, container.clientWidth), height: HEIGHT })).observe(container);
  return plot;
}

export class TrainingCharts {
  private readonly loss: uPlot;
  private readonly accuracy: uPlot;
  private lossData: [number[], Column, Column, Column] = [[], [], [], []];
  private accuracyData: [number[], Column, Column] = [[], [], []];
  private smoothed: number | undefined;
  private stepsPerEpoch = 1;
  private readonly redraw = frameThrottle(() => {
    this.loss.setData(this.lossData);
    this.accuracy.setData(this.accuracyData);
  });

  constructor(lossContainer: HTMLElement, accuracyContainer: HTMLElement) {
    const lossValue = (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(4));
    this.loss = chart(
      lossContainer,
      'Loss',
      [
        { label: 'train (step)', stroke: COLORS.step, width: 1, value: lossValue, points: { show: false } },
        { label: 'train (average)', stroke: COLORS.smooth, width: 2, value: lossValue, points: { show: false } },
        { label: 'validation', stroke: COLORS.validation, width: 2, spanGaps: true, value: lossValue, points: { show: true, size: 7, fill: COLORS.validation } },
      ],
      { label: 'loss (log scale)', distr: 3, format: (v) => String(+v.toPrecision(2)) },
    );
    const accuracyValue = (_u: uPlot, v: number | null) => (v == null ? '–' : `${(100 * v).toFixed(2)}%`);
    this.accuracy = chart(
      accuracyContainer,
      'Accuracy',
      [
        { label: 'train (epoch so far)', stroke: COLORS.train, width: 2, value: accuracyValue, points: { show: false } },
        { label: 'validation', stroke: COLORS.validation, width: 2, spanGaps: true, value: accuracyValue, points: { show: true, size: 7, fill: COLORS.validation } },
      ],
      { label: 'accuracy', distr: 1, range: (_u, min) => [Math.max(0, Math.min(min ?? 0, 0.9) - 0.02), 1], format: (v) => `${Math.round(100 * v)}%` },
    );
  }

  reset(stepsPerEpoch: number): void {
    this.stepsPerEpoch = stepsPerEpoch;
    this.lossData = [[], [], [], []];
    this.accuracyData = [[], [], []];
    this.smoothed = undefined;
    this.redraw();
  }

  addProgress(event: ProgressEvent): void {
    // The trainer's own count (reset's is the page's estimate before the first event).
    this.stepsPerEpoch = event.stepsPerEpoch;
    const [x, step, smooth, validation] = this.lossData;
    event.stepLosses.forEach((loss, i) => {
      if (!Number.isFinite(loss)) return;
      this.smoothed = this.smoothed === undefined ? loss : SMOOTHING * loss + (1 - SMOOTHING) * this.smoothed;
      x.push((event.firstStep + i) / this.stepsPerEpoch);
      step.push(loss);
      smooth.push(this.smoothed);
      validation.push(null);
    });
    const [ax, train, val] = this.accuracyData;
    ax.push(event.epoch - 1 + event.step / event.stepsPerEpoch);
    train.push(event.accuracy);
    val.push(null);
    this.redraw();
  }

  addEpoch(record: EpochRecord): void {
    if (record.valLoss !== undefined) setAt(this.lossData[0], this.lossData[3], record.epoch, record.valLoss, this.lossData);
    if (record.valAccuracy !== undefined) setAt(this.accuracyData[0], this.accuracyData[2], record.epoch, record.valAccuracy, this.accuracyData);
    this.redraw();
  }
}

/** Sets `column` at x (appending a point there if the curve has none yet). */
function setAt(xs: number[], column: Column, x: number, value: number, all: Column[]): void {
  let i = xs.length - 1;
  while (i >= 0 && xs[i] > x + 1e-9) i--;
  if (i >= 0 && Math.abs(xs[i] - x) < 1e-9) {
    column[i] = value;
    return;
  }
  xs.splice(i + 1, 0, x);
  for (const other of all.slice(1)) other.splice(i + 1, 0, other === column ? value : null);
}
