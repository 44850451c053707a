// Draw a digit (mouse, pen or touch: pointer events) and see the class probabilities update as
// you draw. The drawing is preprocessed as MNIST was (centred by mass, scaled into a 20×20 box
// inside 28×28) and the 28×28 result shown, since that is what the model sees.
import { grayFromRgba, preprocessDigit } from 'webgpu-mlp';
import { el, frameThrottle, percent, putGray } from './dom.ts';

const SIDE = 28;
/** Pen width as a fraction of the canvas: MNIST strokes are 2–3 px of a 20-px-high digit. */
const PEN_FRACTION = 0.065;

export class DrawingPad {
  private readonly context: CanvasRenderingContext2D;
  private readonly bars: { row: HTMLElement; fill: HTMLElement; value: HTMLElement }[] = [];
  private last: { x: number; y: number } | undefined;
  private inked = false;
  /** Strokes drawn since the drawing was last sent for prediction. */
  private strokedSinceSubmit = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly preview: HTMLCanvasElement,
    list: HTMLElement,
    private readonly verdict: HTMLElement,
    /** Sends the model input (u8 [784], pixels as MNIST stores them) off for prediction. */
    private readonly onInput: (input: Uint8Array) => void,
  ) {
    this.context = canvas.getContext('2d', { willReadFrequently: true })!;
    for (let c = 0; c < 10; c++) {
      const fill = el('span', { class: 'fill' });
      const value = el('span', { class: 'value' }, '–');
      const row = el('li', { 'data-class': c, 'data-probability': '' }, el('span', { class: 'digit-label' }, String(c)), el('span', { class: 'bar' }, fill), value);
      this.bars.push({ row, fill, value });
      list.append(row);
    }
    this.clear();
    const changed = frameThrottle(() => this.submit());
    canvas.addEventListener('pointerdown', (event) => {
      canvas.setPointerCapture(event.pointerId);
      this.last = this.point(event);
      this.stroke(this.last, this.last);
      changed();
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!this.last) return;
      for (const e of event.getCoalescedEvents?.() ?? [event]) {
        const next = this.point(e);
        this.stroke(this.last, next);
        this.last = next;
      }
      changed();
    });
    const end = () => {
      this.last = undefined;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.context.fillStyle = '#000';
    this.context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
    this.strokedSinceSubmit = false;
    putGray(this.preview.getContext('2d')!, new Uint8Array(SIDE * SIDE), SIDE, SIDE);
    this.showProbabilities(undefined);
  }

  /** Predicts the current drawing again (e.g. after the model changed). */
  refresh(): void {
    if (this.inked) this.submit();
  }

  /**
   * Shows class probabilities; `latest` when they belong to the last drawing sent. The verdict's
   * data-state is 'done' once they match what is on the pad, 'pending' while newer strokes wait.
   */
  showProbabilities(probabilities: readonly number[] | undefined, latest = true): void {
    if (!this.inked) probabilities = undefined; // a late answer for a drawing already cleared
    let best = -1;
    this.bars.forEach(({ row, fill, value }, c) => {
      const p = probabilities?.[c];
      row.dataset.probability = p === undefined ? '' : String(p);
      fill.style.width = p === undefined ? '0' : percent(p);
      value.textContent = p === undefined ? '–' : percent(p);
      if (p !== undefined && (best < 0 || p > probabilities![best])) best = c;
    });
    this.bars.forEach(({ row }, c) => row.classList.toggle('top', c === best));
    this.verdict.textContent = best >= 0 ? `${best}` : this.inked ? 'No model yet' : 'Draw a digit';
    this.verdict.dataset.predicted = best < 0 ? '' : String(best);
    this.verdict.dataset.state = latest && !this.strokedSinceSubmit ? 'done' : 'pending';
  }

  private point(event: PointerEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * this.canvas.width,
      y: ((event.clientY - rect.top) / rect.height) * this.canvas.height,
    };
  }

  private stroke(from: { x: number; y: number }, to: { x: number; y: number }): void {
    const { context } = this;
    context.strokeStyle = '#fff';
    context.lineWidth = PEN_FRACTION * this.canvas.width;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x + 0.01, to.y);
    context.stroke();
    this.inked = true;
    this.strokedSinceSubmit = true;
    this.verdict.dataset.state = 'pending';
  }

  private submit(): void {
    this.strokedSinceSubmit = false;
    const pixels = preprocessDigit(grayFromRgba(this.context.getImageData(0, 0, this.canvas.width, this.canvas.height)));
    putGray(this.preview.getContext('2d')!, pixels, SIDE, SIDE);
    this.onInput(pixels);
  }
}
