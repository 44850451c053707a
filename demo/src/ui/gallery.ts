// The test images the model gets wrong with the most confidence: what it predicted, what the
// label says, and the probability it gave its prediction.
import type { Analysis } from '../protocol.ts';
import { el, formatCount, imageCanvas, percent } from './dom.ts';

const SIDE = 28;

/** A table's most confident mistakes, as rows: class, prediction, confidence and the first feature values. */
export function renderMistakeRows(container: HTMLElement, summary: HTMLElement, analysis: Analysis, features: readonly string[]): void {
  const rows = analysis.rows ?? [];
  const name = (c: number) => analysis.classNames?.[c] ?? String(c);
  summary.textContent =
    analysis.mistakes === 0
      ? 'No mistakes on the test rows.'
      : `${formatCount(analysis.mistakes)} test rows misclassified (${analysis.source}); the ${rows.length} most confident mistakes:`;
  const shown = features.slice(0, rows[0]?.values.length ?? 0);
  const head = el('tr', {}, ...['row', 'true class', 'predicted', 'confidence', ...shown].map((text) => el('th', { scope: 'col' }, text)));
  const body = rows.map((r) =>
    el('tr', { 'data-predicted': r.predicted, 'data-label': r.label }, el('td', {}, String(r.index)), el('td', {}, name(r.label)), el('td', { class: 'pred' }, name(r.predicted)), el('td', {}, percent(r.confidence, 0)), ...r.values.map((v) => el('td', {}, String(Number(v.toPrecision(4)))))),
  );
  container.replaceChildren(...(rows.length ? [el('table', { class: 'mistake-rows' }, el('thead', {}, head), el('tbody', {}, ...body))] : []));
}

export function renderGallery(container: HTMLElement, summary: HTMLElement, analysis: Analysis): void {
  summary.textContent =
    analysis.mistakes === 0
      ? 'No mistakes on the test set.'
      : `${formatCount(analysis.mistakes)} test images misclassified (${analysis.source}); the ${analysis.gallery.length} most confident mistakes:`;
  container.replaceChildren(
    ...analysis.gallery.map((item) =>
      el(
        'figure',
        { class: 'mistake', 'data-predicted': item.predicted, 'data-label': item.label },
        imageCanvas(item.image, SIDE, `test image ${item.index}: a ${item.label}, predicted ${item.predicted}`),
        el(
          'figcaption',
          {},
          el('span', { class: 'pred' }, `${item.predicted}`),
          el('span', { class: 'vs' }, ` (true ${item.label})`),
          el('br'),
          el('span', { class: 'conf' }, percent(item.confidence, 0)),
        ),
      ),
    ),
  );
}
