// Small DOM helpers shared by the views.

type Attributes = Record<string, string | number | boolean | undefined>;

/** Creates an element with attributes (`class`, `aria-*`, `data-*`, ...) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

/** The element with this id; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no element #${id}`);
  return element as T;
}

/** Draws u8 grayscale pixels [height, width] (255 = ink) as light ink on black, like MNIST. */
export function putGray(context: CanvasRenderingContext2D, pixels: ArrayLike<number>, width: number, height: number, x = 0, y = 0): void {
  const image = context.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = pixels[i];
    image.data[4 * i] = v;
    image.data[4 * i + 1] = v;
    image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, x, y);
}

/** A canvas showing one 28×28 image, scaled up by CSS (pixelated). */
export function imageCanvas(pixels: ArrayLike<number>, side: number, label: string): HTMLCanvasElement {
  const canvas = el('canvas', { width: side, height: side, role: 'img', 'aria-label': label, class: 'digit' });
  putGray(canvas.getContext('2d')!, pixels, side, side);
  return canvas;
}

export function percent(fraction: number, digits = 1): string {
  return `${(100 * fraction).toFixed(digits)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Calls `draw` at most once per animation frame however often it is scheduled. */
export function frameThrottle(draw: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      draw();
    });
  };
}

/** A colour from the page's theme (CSS custom property), for canvases, which cannot use currentColor. */
export function themeColor(property: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(property).trim() || '#555';
}
