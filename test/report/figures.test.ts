// The report's drawing pieces: Vega chart builders rendered headless to SVG and PNG, pixel
// pictures (tiles, colour maps, PNG encoding), and the HTML helpers that inline them.
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { barChart, histogramChart, lineChart, matrixChart, renderSvg, svgToPng } from '../../src/report/charts.ts';
import { escapeHtml, inlineSvg, table } from '../../src/report/html.ts';
import { colorImage, DIVERGING, grayImage, parseColor, SEQUENTIAL, tileGrid, toPng, upscale, weightImage } from '../../src/report/images.ts';
import { histogram } from '../../src/report/stats.ts';

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
/** Items Vega drew for marks of one type (each item is a <path> inside its mark's container). */
const markItems = (svg: string, type: 'rect' | 'line' | 'symbol') =>
  [...svg.matchAll(new RegExp(`aria-roledescription="${type} mark container"[^>]*>((?:<path[^>]*/>)*)`, 'g'))].reduce((n, m) => n + (m[1].match(/<path/g)?.length ?? 0), 0);
const svgSize = (svg: string) => {
  const match = /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
  return { width: Number(match![1]), height: Number(match![2]) };
};

describe('charts', () => {
  it('draws a line chart with its series, markers and rules', async () => {
    const svg = await renderSvg(
      lineChart({
        title: 'Loss',
        xTitle: 'epoch',
        yTitle: 'loss',
        series: [
          { name: 'train', points: [{ x: 1, y: 0.5 }, { x: 2, y: 0.3 }, { x: 3, y: 0.2 }] },
          { name: 'validation', points: [{ x: 1, y: 0.6 }, { x: 2, y: 0.4 }], style: 'points' },
        ],
        markers: [{ x: 3, y: 0.25, label: 'test 0.25' }],
        rules: [{ axis: 'y', value: 0.45, label: 'baseline' }],
      }),
    );
    expect(svg).toMatch(/^<svg /);
    const labels = texts(svg);
    for (const text of ['Loss', 'epoch', 'loss', 'train', 'validation', 'test 0.25', 'baseline']) expect(labels).toContain(text);
    // Two lines; the validation series' two dots and the marker's diamond.
    expect(markItems(svg, 'line')).toBe(2);
    expect(markItems(svg, 'symbol')).toBe(3);
  });

  it('leaves out what a log scale cannot show (a series of non-positive values)', async () => {
    const svg = await renderSvg(
      lineChart({
        xTitle: 'x',
        yTitle: 'y',
        yScale: 'log',
        series: [
          { name: 'positive', points: [{ x: 0, y: 1 }, { x: 1, y: 10 }] },
          { name: 'never positive', points: [{ x: 0, y: 0 }, { x: 1, y: -1 }] },
        ],
      }),
    );
    expect(texts(svg)).toContain('positive');
    expect(texts(svg)).not.toContain('never positive');
  });

  it('draws one bar per value, grouped by series, with formatted labels', async () => {
    const svg = await renderSvg(
      barChart({
        categories: ['a', 'b', 'c'],
        series: [
          { name: 'one', values: [0.25, 0.5, 0.75] },
          { name: 'two', values: [0.1, 0.2, 0.3] },
        ],
        categoryTitle: 'category',
        valueTitle: 'share',
        valueFormat: '.0%',
        labels: true,
      }),
    );
    expect(markItems(svg, 'rect')).toBe(6);
    const labels = texts(svg);
    for (const text of ['25%', '50%', '75%', '10%', 'one', 'two', 'a', 'b', 'c']) expect(labels).toContain(text);
  });

  it('draws a histogram as one rect per bin', async () => {
    const h = histogram([1, 2, 2, 3, 3, 3], 3);
    const svg = await renderSvg(histogramChart({ title: 'h', xTitle: 'value', histogram: h, outline: h }));
    expect(markItems(svg, 'rect')).toBe(3);
    expect(markItems(svg, 'line')).toBe(1);
  });

  it('writes every non-zero count of a confusion matrix in its cell', async () => {
    const counts = [
      [50, 2, 0],
      [0, 40, 7],
      [1, 0, 60],
    ];
    const svg = await renderSvg(matrixChart({ counts, labels: ['0', '1', '2'], rowTitle: 'true', columnTitle: 'predicted' }));
    const labels = texts(svg);
    for (const n of [50, 2, 40, 7, 1, 60]) expect(labels).toContain(String(n));
    expect(markItems(svg, 'rect')).toBe(9);
  });

  it('rasterises SVG to PNG at twice its size', async () => {
    const svg = await renderSvg(lineChart({ xTitle: 'x', yTitle: 'y', series: [{ name: 's', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }], width: 200, height: 100 }));
    const png = decode(svgToPng(svg));
    const size = svgSize(svg);
    expect(png.width).toBe(2 * size.width);
    expect(png.height).toBe(2 * size.height);
  });
});

describe('pictures', () => {
  it('parses the colour notations Vega schemes return', () => {
    expect(parseColor('rgb(1, 22, 255)')).toEqual([1, 22, 255]);
    expect(parseColor('#0a1B2c')).toEqual([10, 27, 44]);
    expect(() => parseColor('blue')).toThrow(/cannot parse colour/);
  });

  it('maps negative weights to blue, zero to near white, positive to red', () => {
    const image = weightImage([-2, 0, 2, 1], 4, 1);
    const [neg, zero, pos] = [0, 1, 2].map((i) => [...image.data.subarray(3 * i, 3 * i + 3)]);
    expect(neg[2]).toBeGreaterThan(neg[0]);
    expect(pos[0]).toBeGreaterThan(pos[2]);
    for (const channel of zero) expect(channel).toBeGreaterThan(220);
    expect([...DIVERGING.subarray(0, 3)]).toEqual(neg);
  });

  it('clamps values outside the colour range and paints NaN grey', () => {
    const image = colorImage([-5, 0.5, 5, NaN], 4, 1, SEQUENTIAL, 0, 1);
    expect([...image.data.subarray(0, 3)]).toEqual([...SEQUENTIAL.subarray(0, 3)]);
    expect([...image.data.subarray(6, 9)]).toEqual([...SEQUENTIAL.subarray(765, 768)]);
    expect([...image.data.subarray(9, 12)]).toEqual([128, 128, 128]);
  });

  it('draws digits as dark ink on white', () => {
    expect([...grayImage([0, 255], 2, 1).data]).toEqual([255, 255, 255, 0, 0, 0]);
    expect([...grayImage([0, 255], 2, 1, false).data]).toEqual([0, 0, 0, 255, 255, 255]);
  });

  it('tiles images row by row with gaps, and enlarges them with sharp pixels', () => {
    const tile = (v: number) => grayImage([v, v], 2, 1, false);
    const grid = tileGrid([tile(10), tile(20), tile(30)], 2, 1, 255);
    expect([grid.width, grid.height]).toEqual([5, 3]);
    const at = (x: number, y: number) => grid.data[3 * (y * grid.width + x)];
    expect([at(0, 0), at(1, 0), at(2, 0), at(3, 0), at(4, 0)]).toEqual([10, 10, 255, 20, 20]);
    expect([at(0, 1), at(0, 2), at(3, 2)]).toEqual([255, 30, 255]);
    const big = upscale(tile(7), 3, 2);
    expect([big.width, big.height]).toEqual([6, 2]);
    expect(new Set(big.data)).toEqual(new Set([7]));
    expect(() => tileGrid([tile(1), grayImage([1], 1, 1)], 2)).toThrow(/tile 1 is 1×1, expected 2×1/);
  });

  it('encodes PNGs that decode to the same pixels', () => {
    const image = colorImage([0, 0.5, 1, 0.25, 0.75, 0.1], 3, 2, SEQUENTIAL, 0, 1);
    const png = decode(toPng(image));
    expect([png.width, png.height, png.channels]).toEqual([3, 2, 3]);
    expect([...png.data]).toEqual([...image.data]);
  });
});

describe('html helpers', () => {
  it('escapes text for elements and attributes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('prefixes SVG ids and their references so inline charts never collide', () => {
    const svg = '<svg width="1"><clipPath id="clip1"></clipPath><g clip-path="url(#clip1)"></g><use href="#clip1"/></svg>';
    const inline = inlineSvg(svg, 'loss', 'Loss "chart"');
    expect(inline).toContain('id="loss-clip1"');
    expect(inline).toContain('url(#loss-clip1)');
    expect(inline).toContain('href="#loss-clip1"');
    expect(inline).toMatch(/^<svg role="img" aria-label="Loss &quot;chart&quot;" width="1">/);
  });

  it('adds attributes to chosen table rows', () => {
    const html = table(['a', 'b'], [['1', '2'], ['3', '4']], { class: 't' }, [undefined, { class: 'highlight' }]);
    expect(html).toBe('<table class="t"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr><tr class="highlight"><td>3</td><td>4</td></tr></tbody></table>');
  });
});
