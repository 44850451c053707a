// A figure is a chart or picture the report shows and also writes as a PNG file (for people who
// paste figures into documents). Charts keep their SVG for inlining into the page.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Spec } from 'vega';
import { writeFileAtomic } from '../node.ts';
import { renderSvg, svgToPng } from './charts.ts';
import { inlineSvg } from './html.ts';
import { toPng, upscale, type RgbImage } from './images.ts';

export interface ReportFigure {
  /** File stem: the PNG is written as `${name}.png`. */
  readonly name: string;
  readonly title: string;
  readonly png: Uint8Array;
  /** Charts only: the SVG the page inlines. */
  readonly svg?: string;
}

/** Renders a Vega spec once to SVG (for the page) and to PNG at twice its size (for documents). */
export async function chartFigure(name: string, title: string, spec: Spec): Promise<ReportFigure> {
  const svg = await renderSvg(spec);
  return { name, title, svg, png: svgToPng(svg) };
}

/** A pixel picture as a figure, enlarged `scale`× with sharp pixels so it stays crisp when pasted. */
export function pictureFigure(name: string, title: string, picture: RgbImage, scale: number): ReportFigure {
  return { name, title, png: toPng(upscale(picture, scale)) };
}

/** The chart's SVG ready to sit inline in the page. */
export function figureSvg(figure: ReportFigure): string {
  if (!figure.svg) throw new Error(`figure ${figure.name} is a picture, not a chart`);
  return inlineSvg(figure.svg, figure.name.replace(/[^a-z0-9-]/gi, '-'), figure.title);
}

/** Writes each figure as DIR/<name>.png (atomically); returns the paths. */
export async function writeFigures(dir: string, figures: readonly ReportFigure[]): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const figure of figures) {
    const path = join(dir, `${figure.name}.png`);
    await writeFileAtomic(path, figure.png);
    paths.push(path);
  }
  return paths;
}
