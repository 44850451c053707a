// The confusion matrix as a table: rows are true classes, columns predictions; each cell is
// shaded by its share of the row (blue on the diagonal, red off it), recall in the last column.
import type { Analysis } from '../protocol.ts';
import { el, formatCount, percent } from './dom.ts';

export function renderConfusion(container: HTMLElement, analysis: Analysis): void {
  const classes = analysis.confusion.length;
  const name = (c: number) => analysis.classNames?.[c] ?? String(c);
  const head = el(
    'tr',
    {},
    el('th', { scope: 'col', class: 'corner' }, 'true ↓ / predicted →'),
    ...Array.from({ length: classes }, (_, c) => el('th', { scope: 'col' }, name(c))),
    el('th', { scope: 'col' }, 'recall'),
  );
  const rows = analysis.confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return el(
      'tr',
      {},
      el('th', { scope: 'row' }, name(t)),
      ...row.map((count, p) => {
        const share = total ? count / total : 0;
        // Off-diagonal shares are small: stretch them so that 10% of a row is clearly red.
        const strength = t === p ? share : Math.min(1, share * 8);
        const color = t === p ? `rgb(29 78 216 / ${(0.08 + 0.8 * strength).toFixed(3)})` : `rgb(220 38 38 / ${(0.75 * strength).toFixed(3)})`;
        return el('td', { style: `background:${count ? color : 'transparent'}`, class: t === p && strength > 0.55 ? 'strong' : undefined, title: `true ${name(t)}, predicted ${name(p)}: ${count}` }, count ? formatCount(count) : '·');
      }),
      el('td', { class: 'recall' }, total ? percent(row[t] / total) : '–'),
    );
  });
  const correct = analysis.confusion.reduce((sum, row, c) => sum + row[c], 0);
  const table = el(
    'table',
    { class: 'confusion', 'data-correct': correct, 'data-count': analysis.count },
    el('caption', {}, `Test set, ${analysis.source}: ${formatCount(correct)} of ${formatCount(analysis.count)} correct (${percent(analysis.accuracy, 2)})`),
    el('thead', {}, head),
    el('tbody', {}, ...rows),
  );
  container.replaceChildren(table);
}
