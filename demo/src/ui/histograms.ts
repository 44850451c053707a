// Weight and bias histograms per layer (uPlot bars), updated with each model snapshot.
import uPlot from 'uplot';
import type { ModelSnapshot } from '../protocol.ts';
import { el, formatCount, themeColor } from './dom.ts';

const BINS = 41;
const HEIGHT = 150;

/** One parameter tensor, named as in checkpoints (PyTorch's nn.Linear: layers.0.weight, layers.0.bias). */
interface Tensor {
  readonly name: string;
  readonly role: 'weight' | 'bias';
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

function tensorsOf(model: ModelSnapshot): Tensor[] {
  return model.layers.flatMap((layer, l) => [
    { name: `layers.${l}.weight`, role: 'weight' as const, shape: [layer.outputs, layer.inputs], values: layer.weight },
    { name: `layers.${l}.bias`, role: 'bias' as const, shape: [layer.outputs], values: layer.bias },
  ]);
}

interface Histogram {
  readonly centres: number[];
  readonly counts: number[];
  readonly mean: number;
  readonly std: number;
}

function histogram(values: Float32Array): Histogram {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  // All-equal values (zero biases at initialisation) get a unit-wide range around them.
  if (max - min < 1e-12) {
    min -= 0.5;
    max += 0.5;
  }
  const width = (max - min) / BINS;
  const counts = new Array<number>(BINS).fill(0);
  for (const v of values) counts[Math.min(BINS - 1, Math.floor((v - min) / width))] += 1;
  return { centres: counts.map((_, i) => min + (i + 0.5) * width), counts, mean, std: Math.sqrt(squares / values.length) };
}

export class Histograms {
  private charts = new Map<string, { plot: uPlot; caption: HTMLElement }>();
  private key = '';

  constructor(private readonly container: HTMLElement) {}

  update(model: ModelSnapshot): void {
    const tensors = tensorsOf(model);
    const key = tensors.map((t) => `${t.name}:${t.shape.join('x')}`).join(',');
    if (key !== this.key) this.build(tensors);
    this.key = key;
    for (const tensor of tensors) {
      const h = histogram(tensor.values);
      const { plot, caption } = this.charts.get(tensor.name)!;
      caption.textContent = `${tensor.name} [${tensor.shape.join('×')}] · ${formatCount(tensor.values.length)} values · mean ${h.mean.toPrecision(2)} · std ${h.std.toPrecision(2)}`;
      plot.setData([h.centres, h.counts]);
    }
  }

  private build(tensors: readonly Tensor[]): void {
    for (const { plot } of this.charts.values()) plot.destroy();
    this.charts.clear();
    this.container.replaceChildren();
    for (const tensor of tensors) {
      const caption = el('figcaption', {});
      const holder = el('div', { class: 'histogram-plot' });
      this.container.append(el('figure', { class: 'histogram' }, caption, holder));
      const plot = new uPlot(
        {
          width: Math.max(240, holder.clientWidth),
          height: HEIGHT,
          legend: { show: false },
          cursor: { show: false },
          scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.05] } },
          axes: [
            { stroke: themeColor('--muted'), grid: { show: false }, values: (_u, v) => v.map((x) => (x == null ? '' : String(+x.toPrecision(2)))) },
            { stroke: themeColor('--muted'), grid: { stroke: themeColor('--line') }, size: 48 },
          ],
          series: [{}, { label: 'count', fill: tensor.role === 'weight' ? '#1d4ed8aa' : '#ea580caa', stroke: tensor.role === 'weight' ? '#1d4ed8' : '#ea580c', paths: uPlot.paths.bars!({ size: [1, Infinity], gap: 1 }), points: { show: false } }],
        },
        [[], []],
        holder,
      );
      new ResizeObserver(() => plot.setSize({ width: Math.max(240, holder.clientWidth), height: HEIGHT })).observe(holder);
      this.charts.set(tensor.name, { plot, caption });
    }
  }
}
