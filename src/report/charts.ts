// Charts as Vega specifications, rendered headless in Node to SVG (Vega's own SVG renderer, no
// DOM or canvas needed) and rasterised to PNG with resvg. The builders take plain numbers and
// return a Vega spec, so run reports and study comparisons draw with one look:
//
//   lineChart      curves (loss, accuracy) with markers (test accuracy) and rules (baseline, best epoch)
//   barChart       grouped bars, vertical or horizontal (label counts, test accuracy per run)
//   histogramChart pre-binned counts, with an optional outline of a second histogram
//   matrixChart    a confusion matrix: correct cells green by recall, errors red by count
import { Resvg } from '@resvg/resvg-js';
import { parse, View, type Spec } from 'vega';
import type { Histogram, Point } from './stats.ts';

/** Fonts tried in order by browsers and by resvg (DejaVu ships with most Linux desktops and Chromium's Debian package). */
export const CHART_FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Tableau 10, Vega's default categorical palette. */
export const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#ff9da6', '#9d755d', '#bab0ac'];
export const MUTED = '#9ca3af';

const CONFIG = {
  font: CHART_FONT,
  background: 'white',
  title: { fontSize: 14, fontWeight: 600, anchor: 'start', offset: 10, color: '#111827', subtitleColor: '#4b5563', subtitleFontSize: 11 },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 500,
    labelColor: '#374151',
    titleColor: '#111827',
    gridColor: '#e5e7eb',
    domainColor: '#9ca3af',
    tickColor: '#9ca3af',
  },
  legend: { labelFontSize: 11, titleFontSize: 11, symbolStrokeWidth: 2, labelColor: '#374151', labelLimit: 260 },
} as const;

export type LineStyle = 'line' | 'thin' | 'dashed' | 'points';

export interface LineSeries {
  readonly name: string;
  readonly points: readonly Point[];
  readonly color?: string;
  /** line (default); thin: faint and narrow (per-step noise); dashed; points: a line with a dot per point. */
  readonly style?: LineStyle;
}

export interface ChartMarker {
  readonly x: number;
  readonly y: number;
  readonly label: string;
  readonly color?: string;
}

export interface ChartRule {
  /** 'x': a vertical line at x = value; 'y': a horizontal line at y = value. */
  readonly axis: 'x' | 'y';
  readonly value: number;
  readonly label?: string;
  readonly color?: string;
}

export interface ChartFrame {
  readonly title?: string;
  /** Smaller lines under the title (units, what the shading means, statistics): one string per line. */
  readonly subtitle?: string | readonly string[];
  /** Plot area size in pixels (axes, titles and legend come on top). */
  readonly width?: number;
  readonly height?: number;
}

export interface LineChartOptions extends ChartFrame {
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly LineSeries[];
  readonly markers?: readonly ChartMarker[];
  readonly rules?: readonly ChartRule[];
  readonly yScale?: 'linear' | 'log';
  /** d3-format strings for tick labels, e.g. '.1%' or '~s'. */
  readonly xFormat?: string;
  readonly yFormat?: string;
  readonly yDomain?: readonly [number, number];
  readonly legend?: 'bottom' | 'right' | 'none';
}

function frame(options: ChartFrame, defaults: { width: number; height: number }): Record<string, unknown> {
  const subtitle = typeof options.subtitle === 'string' ? options.subtitle : options.subtitle ? [...options.subtitle] : undefined;
  const title = options.title || subtitle ? { text: options.title ?? '', ...(subtitle ? { subtitle } : {}) } : undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: options.width ?? defaults.width,
    height: options.height ?? defaults.height,
    padding: 8,
    config: CONFIG,
    ...(title ? { title } : {}),
  };
}

const STYLE = {
  line: { strokeWidth: 2, strokeOpacity: 1, strokeDash: [] as number[] },
  thin: { strokeWidth: 0.8, strokeOpacity: 0.45, strokeDash: [] as number[] },
  dashed: { strokeWidth: 1.8, strokeOpacity: 1, strokeDash: [6, 4] },
  points: { strokeWidth: 2, strokeOpacity: 1, strokeDash: [] as number[] },
} as const;

/** Lines over a shared x axis; log y drops non-positive values (they have no place on it). */
export function lineChart(options: LineChartOptions): Spec {
  const log = options.yScale === 'log';
  const keep = (p: Point) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!log || p.y > 0);
  const series = options.series
    .map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length], points: s.points.filter(keep) }))
    .filter((s) => s.points.length > 0);
  const markers = (options.markers ?? []).filter(keep).map((m) => ({ ...m, color: m.color ?? '#111827' }));
  const xRules = (options.rules ?? []).filter((r) => r.axis === 'x').map((r) => ({ ...r, color: r.color ?? MUTED, label: r.label ?? '' }));
  const yRules = (options.rules ?? []).filter((r) => r.axis === 'y' && (!log || r.value > 0)).map((r) => ({ ...r, color: r.color ?? MUTED, label: r.label ?? '' }));
  const data = [
    ...series.map((s, i) => ({ name: `s${i}`, values: s.points.map((p) => ({ x: p.x, y: p.y })) })),
    { name: 'markers', values: markers },
    { name: 'xrules', values: xRules },
    { name: 'yrules', values: yRules },
  ];
  const fields = (field: 'x' | 'y') => [
    ...series.map((_, i) => ({ data: `s${i}`, field })),
    { data: 'markers', field },
    ...(field === 'x' ? [{ data: 'xrules', field: 'value' }] : [{ data: 'yrules', field: 'value' }]),
  ];
  const legend = options.legend ?? 'bottom';
  const spec = {
    ...frame(options, { width: 400, height: 230 }),
    data,
    scales: [
      { name: 'x', type: 'linear', range: 'width', zero: false, nice: false, domain: { fields: fields('x') } },
      {
        name: 'y',
        type: log ? 'log' : 'linear',
        range: 'height',
        zero: false,
        nice: true,
        domain: options.yDomain ? [...options.yDomain] : { fields: fields('y') },
      },
      { name: 'color', type: 'ordinal', domain: series.map((s) => s.name), range: series.map((s) => s.color) },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: options.xTitle, grid: true, tickMinStep: 1, ...(options.xFormat ? { format: options.xFormat } : {}) },
      { orient: 'left', scale: 'y', title: options.yTitle, grid: true, ...(options.yFormat ? { format: options.yFormat } : {}) },
    ],
    legends:
      legend === 'none' || series.length === 0
        ? []
        : [{ stroke: 'color', orient: legend, symbolType: 'stroke', ...(legend === 'bottom' ? { direction: 'horizontal', columns: 2, columnPadding: 16 } : {}) }],
    marks: [
      ...series.flatMap((s, i) => {
        const style = STYLE[s.style ?? 'line'];
        const line = {
          type: 'line',
          from: { data: `s${i}` },
          encode: { enter: { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, stroke: { value: s.color }, ...mapValues(style) } },
        };
        const dots = {
          type: 'symbol',
          from: { data: `s${i}` },
          encode: { enter: { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, fill: { value: s.color }, size: { value: 30 } } },
        };
        return s.style === 'points' ? [line, dots] : [line];
      }),
      {
        type: 'rule',
        from: { data: 'xrules' },
        encode: { enter: { x: { scale: 'x', field: 'value' }, y: { value: 0 }, y2: { signal: 'height' }, stroke: { field: 'color' }, strokeDash: { value: [3, 3] } } },
      },
      {
        type: 'text',
        from: { data: 'xrules' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'value' },
            y: { signal: 'height - 3' },
            // At the foot of the rule (curves seldom go there), on its inner side.
            align: { signal: "scale('x', datum.value) > width / 2 ? 'right' : 'left'" },
            dx: { signal: "scale('x', datum.value) > width / 2 ? -4 : 4" },
            text: { field: 'label' },
            fill: { value: '#4b5563' },
            baseline: { value: 'bottom' },
            fontSize: { value: 10 },
          },
        },
      },
      {
        type: 'rule',
        from: { data: 'yrules' },
        encode: { enter: { y: { scale: 'y', field: 'value' }, x: { value: 0 }, x2: { signal: 'width' }, stroke: { field: 'color' }, strokeDash: { value: [6, 3] }, strokeWidth: { value: 1.5 } } },
      },
      {
        type: 'text',
        from: { data: 'yrules' },
        encode: { enter: { y: { scale: 'y', field: 'value' }, x: { value: 4 }, dy: { value: -4 }, text: { field: 'label' }, fill: { field: 'color' }, baseline: { value: 'bottom' }, fontSize: { value: 10 } } },
      },
      {
        type: 'symbol',
        from: { data: 'markers' },
        encode: { enter: { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, shape: { value: 'diamond' }, size: { value: 140 }, fill: { field: 'color' }, stroke: { value: 'white' }, strokeWidth: { value: 1.5 } } },
      },
      {
        type: 'text',
        from: { data: 'markers' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'x' },
            y: { scale: 'y', field: 'y' },
            // Labels point into the plot: left of markers in the right half, right of the others.
            align: { signal: "scale('x', datum.x) > width / 2 ? 'right' : 'left'" },
            dx: { signal: "scale('x', datum.x) > width / 2 ? -10 : 10" },
            dy: { value: -10 },
            text: { field: 'label' },
            fill: { field: 'color' },
            fontWeight: { value: 600 },
            fontSize: { value: 11 },
          },
        },
      },
    ],
  };
  return spec as unknown as Spec;
}

function mapValues(style: (typeof STYLE)[LineStyle]): Record<string, { value: unknown }> {
  return Object.fromEntries(Object.entries(style).map(([key, value]) => [key, { value }]));
}

export interface BarSeries {
  readonly name: string;
  readonly values: readonly number[];
  readonly color?: string;
}

export interface BarChartOptions extends ChartFrame {
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  /** Title of the category axis and of the value axis. */
  readonly categoryTitle: string;
  readonly valueTitle: string;
  /** vertical: categories along x (default); horizontal: categories down y (long names, many runs). */
  readonly orientation?: 'vertical' | 'horizontal';
  /** d3-format of the value axis ticks, and of the bar labels unless labelFormat says otherwise. */
  readonly valueFormat?: string;
  readonly labelFormat?: string;
  readonly valueDomain?: readonly [number, number];
  /** Print each bar's value at its end. */
  readonly labels?: boolean;
  /** Per-category colours (single-series charts): e.g. the baseline in grey. */
  readonly categoryColors?: readonly (string | undefined)[];
}

/** Bars, grouped by series when there are several. */
export function barChart(options: BarChartOptions): Spec {
  const horizontal = options.orientation === 'horizontal';
  const [cat, val] = horizontal ? (['y', 'x'] as const) : (['x', 'y'] as const);
  const [catSize, valSize] = horizontal ? (['height', 'width'] as const) : (['width', 'height'] as const);
  const single = options.series.length === 1;
  const values = options.series.flatMap((s, si) =>
    options.categories.map((category, ci) => ({
      category,
      series: s.name,
      value: s.values[ci],
      color: (single ? options.categoryColors?.[ci] : undefined) ?? s.color ?? PALETTE[si % PALETTE.length],
    })),
  );
  const format = options.valueFormat ?? '~s';
  const defaultSize = horizontal ? { width: 420, height: Math.max(80, 22 * options.categories.length * options.series.length) } : { width: 460, height: 220 };
  const bar = {
    type: 'rect',
    from: { data: 'facet' },
    encode: {
      enter: {
        [cat]: { scale: 'pos', field: 'series' },
        [catSize]: { scale: 'pos', band: 1 },
        [val]: { scale: 'value', field: 'value' },
        [`${val}2`]: { scale: 'value', value: options.valueDomain?.[0] ?? 0 },
        fill: { field: 'color' },
      },
    },
  };
  const label = {
    type: 'text',
    from: { data: 'facet' },
    encode: {
      enter: {
        [cat]: { scale: 'pos', field: 'series', band: 0.5 },
        [val]: { scale: 'value', field: 'value' },
        text: { signal: `format(datum.value, '${options.labelFormat ?? format}')` },
        fill: { value: '#111827' },
        fontSize: { value: 10 },
        ...(horizontal ? { dx: { value: 4 }, baseline: { value: 'middle' }, align: { value: 'left' } } : { dy: { value: -3 }, align: { value: 'center' }, baseline: { value: 'bottom' } }),
      },
    },
  };
  const spec = {
    ...frame(options, defaultSize),
    data: [{ name: 'table', values }],
    scales: [
      { name: 'category', type: 'band', domain: [...options.categories], range: catSize, padding: 0.2 },
      {
        name: 'value',
        type: 'linear',
        domain: options.valueDomain ? [...options.valueDomain] : { data: 'table', field: 'value' },
        range: valSize === 'height' ? 'height' : 'width',
        nice: true,
        zero: !options.valueDomain,
      },
      { name: 'color', type: 'ordinal', domain: options.series.map((s) => s.name), range: options.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]) },
    ],
    axes: [
      { orient: horizontal ? 'left' : 'bottom', scale: 'category', title: options.categoryTitle, labelLimit: 220 },
      { orient: horizontal ? 'bottom' : 'left', scale: 'value', title: options.valueTitle, grid: true, format, ...(horizontal ? { tickCount: 5 } : {}) },
    ],
    legends: single ? [] : [{ fill: 'color', orient: 'top', direction: 'horizontal' }],
    marks: [
      {
        type: 'group',
        from: { facet: { data: 'table', name: 'facet', groupby: 'category' } },
        encode: { enter: { [cat]: { scale: 'category', field: 'category' } } },
        // Inside each category's group, the band's size shadows 'width' (or 'height'): series split it.
        signals: [{ name: catSize, update: "bandwidth('category')" }],
        scales: [{ name: 'pos', type: 'band', range: catSize, domain: options.series.map((s) => s.name), padding: single ? 0 : 0.08 }],
        marks: options.labels ? [bar, label] : [bar],
      },
    ],
  };
  return spec as unknown as Spec;
}

export interface HistogramChartOptions extends ChartFrame {
  readonly histogram: Histogram;
  readonly xTitle: string;
  readonly color?: string;
  /** A second histogram over the same bins, drawn as a grey outline (e.g. the initial weights). */
  readonly outline?: Histogram;
}

export function histogramChart(options: HistogramChartOptions): Spec {
  const bins = (h: Histogram) => h.counts.map((count, i) => ({ x0: h.edges[i], x1: h.edges[i + 1], count }));
  const outline = options.outline
    ? [...bins(options.outline).map((b) => ({ x: b.x0, count: b.count })), { x: options.outline.edges.at(-1)!, count: options.outline.counts.at(-1)! }]
    : [];
  const spec = {
    ...frame(options, { width: 300, height: 130 }),
    data: [
      { name: 'bins', values: bins(options.histogram) },
      { name: 'outline', values: outline },
    ],
    scales: [
      { name: 'x', type: 'linear', range: 'width', zero: false, nice: false, domain: [options.histogram.edges[0], options.histogram.edges.at(-1)!] },
      { name: 'y', type: 'linear', range: 'height', nice: true, zero: true, domain: { fields: [{ data: 'bins', field: 'count' }, { data: 'outline', field: 'count' }] } },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: options.xTitle, tickCount: 5, format: '~g' },
      { orient: 'left', scale: 'y', title: 'count', grid: true, tickCount: 4, format: '~s' },
    ],
    marks: [
      {
        type: 'rect',
        from: { data: 'bins' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'x0' },
            x2: { scale: 'x', field: 'x1', offset: -0.5 },
            y: { scale: 'y', field: 'count' },
            y2: { scale: 'y', value: 0 },
            fill: { value: options.color ?? PALETTE[0] },
          },
        },
      },
      {
        type: 'line',
        from: { data: 'outline' },
        encode: { enter: { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'count' }, interpolate: { value: 'step-after' }, stroke: { value: '#374151' }, strokeWidth: { value: 1.2 }, strokeDash: { value: [3, 2] } } },
      },
    ],
  };
  return spec as unknown as Spec;
}

export interface MatrixChartOptions extends ChartFrame {
  /** counts[row][column], e.g. [true class][predicted class]. */
  readonly counts: readonly (readonly number[])[];
  readonly labels: readonly string[];
  readonly rowTitle: string;
  readonly columnTitle: string;
  readonly cellSize?: number;
}

/**
 * A confusion matrix. Diagonal cells are green by their row's recall; off-diagonal cells red by
 * their count relative to the largest off-diagonal count, so a handful of errors next to a
 * thousand correct answers still shows.
 */
export function matrixChart(options: MatrixChartOptions): Spec {
  const n = options.labels.length;
  const cell = options.cellSize ?? 36;
  let maxOff = 0;
  options.counts.forEach((row, r) => row.forEach((count, c) => r !== c && (maxOff = Math.max(maxOff, count))));
  const cells = options.counts.flatMap((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, c) => {
      const diagonal = r === c;
      const level = diagonal ? (total ? count / total : 0) : maxOff ? count / maxOff : 0;
      return {
        row: options.labels[r],
        column: options.labels[c],
        count,
        diagonal,
        level,
        text: count === 0 ? '' : String(count),
        ink: level > 0.55 ? 'white' : '#111827',
      };
    });
  });
  const spec = {
    ...frame(options, { width: n * cell, height: n * cell }),
    data: [{ name: 'cells', values: cells }],
    scales: [
      { name: 'x', type: 'band', domain: [...options.labels], range: 'width' },
      { name: 'y', type: 'band', domain: [...options.labels], range: 'height' },
      { name: 'good', type: 'linear', domain: [0, 1], range: { scheme: 'greens' } },
      { name: 'bad', type: 'linear', domain: [0, 1], range: { scheme: 'reds' } },
    ],
    axes: [
      { orient: 'top', scale: 'x', title: options.columnTitle, domain: false, ticks: false, labelPadding: 4 },
      { orient: 'left', scale: 'y', title: options.rowTitle, domain: false, ticks: false, labelPadding: 4 },
    ],
    marks: [
      {
        type: 'rect',
        from: { data: 'cells' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'column' },
            width: { scale: 'x', band: 1, offset: -1 },
            y: { scale: 'y', field: 'row' },
            height: { scale: 'y', band: 1, offset: -1 },
            fill: [
              { test: 'datum.count === 0', value: '#f9fafb' },
              { test: 'datum.diagonal', scale: 'good', field: 'level' },
              { scale: 'bad', field: 'level' },
            ],
          },
        },
      },
      {
        type: 'text',
        from: { data: 'cells' },
        encode: {
          enter: {
            x: { scale: 'x', field: 'column', band: 0.5 },
            y: { scale: 'y', field: 'row', band: 0.5 },
            text: { field: 'text' },
            fill: { field: 'ink' },
            align: { value: 'center' },
            baseline: { value: 'middle' },
            fontSize: { value: cell >= 30 ? 11 : 9 },
          },
        },
      },
    ],
  };
  return spec as unknown as Spec;
}

/** Renders a spec to an SVG document with Vega's headless SVG renderer (no DOM, no network). */
export async function renderSvg(spec: Spec): Promise<string> {
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG document with resvg at `scale` × its size, on white, with the system's fonts. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return new Uint8Array(resvg.render().asPng());
}
