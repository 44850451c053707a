// The test images the model gets wrong with the most confidence: what it predicted, what the
// label says, and the probability it gave its prediction.
import type { Analysis } from '../protocol.ts';
import { el, formatCount, imageCanvas, percent } from './dom.ts';

const SIDE = 28;

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
