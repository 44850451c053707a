// First-layer weights as 28×28 heat maps, one per unit: red where a bright pixel raises the unit's
// input, blue where it lowers it, each map scaled to its own largest |weight|.
import type { ModelSnapshot } from '../protocol.ts';

const SIDE = 28;
const GAP = 2;
/** Units shown at most (the rest are listed as hidden). */
const MAX_UNITS = 128;
const COLUMNS = 16;

/** Diverging blue–white–red for v in [-1, 1]. */
function diverging(v: number): [number, number, number] {
  const t = Math.min(1, Math.abs(v));
  const [r, g, b] = v >= 0 ? [178, 24, 43] : [33, 102, 172];
  return [Math.round(255 + (r - 255) * t), Math.round(255 + (g - 255) * t), Math.round(255 + (b - 255) * t)];
}

export function renderWeights(canvas: HTMLCanvasElement, caption: HTMLElement, model: ModelSnapshot): void {
  // The first layer's weight, [units, inputs] row-major (nn.Linear's layout).
  const { weight, outputs: units, inputs } = model.layers[0];
  if (inputs !== SIDE * SIDE) {
    caption.textContent = `The first layer takes ${inputs} inputs, not a 28×28 image.`;
    return;
  }
  const shown = Math.min(units, MAX_UNITS);
  const columns = Math.min(COLUMNS, shown);
  const rows = Math.ceil(shown / columns);
  canvas.width = columns * (SIDE + GAP) - GAP;
  canvas.height = rows * (SIDE + GAP) - GAP;
  const context = canvas.getContext('2d')!;
  context.clearRect(0, 0, canvas.width, canvas.height);
  for (let u = 0; u < shown; u++) {
    const w = weight.subarray(u * inputs, (u + 1) * inputs);
    let scale = 0;
    for (const v of w) scale = Math.max(scale, Math.abs(v));
    const image = context.createImageData(SIDE, SIDE);
    for (let i = 0; i < inputs; i++) {
      const [r, g, b] = diverging(scale > 0 ? w[i] / scale : 0);
      image.data.set([r, g, b, 255], 4 * i);
    }
    context.putImageData(image, (u % columns) * (SIDE + GAP), Math.floor(u / columns) * (SIDE + GAP));
  }
  const what = model.layers.length === 1 ? 'output class (the model is linear)' : 'hidden unit of the first layer';
  canvas.setAttribute('aria-label', `Heat maps of the first-layer weights, ${shown} units`);
  caption.textContent =
    `One 28×28 map per ${what}${shown < units ? ` (the first ${shown} of ${units})` : ` (${units})`}, ${model.source}. ` +
    'Red: a bright pixel there raises the unit; blue: lowers it; each map scaled to its largest |weight|.';
}
