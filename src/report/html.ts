// The HTML around the figures: one self-contained page (styles inline, images as data URIs,
// charts as inline SVG) whose Content-Security-Policy forbids any network request, so opening it
// offline shows exactly what it showed when written.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Attributes from an object; undefined and false are left out, true gives a bare attribute. */
export function attributes(attrs: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(attrs)
    .filter(([, value]) => value !== undefined && value !== false)
    .map(([name, value]) => (value === true ? ` ${name}` : ` ${name}="${escapeHtml(value as string | number)}"`))
    .join('');
}

/**
 * An SVG document made ready to sit inline in a page: ids (clip paths, gradients) prefixed so
 * several charts never collide, scaled to its container, labelled for screen readers.
 */
export function inlineSvg(svg: string, prefix: string, label: string): string {
  return svg
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`)
    .replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(label)}" `);
}

export function image(src: string, alt: string, attrs: Record<string, string | number | boolean | undefined> = {}): string {
  return `<img${attributes({ src, alt, ...attrs })}>`;
}

/** A table of already-escaped cell HTML; `rowAttrs[i]` adds attributes to body row i (a highlight). */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  attrs: Record<string, string | undefined> = {},
  rowAttrs: readonly (Record<string, string | undefined> | undefined)[] = [],
): string {
  const head = `<thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead>`;
  const body = `<tbody>${rows.map((row, i) => `<tr${attributes(rowAttrs[i] ?? {})}>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('')}</tbody>`;
  return `<table${attributes(attrs)}>${head}${body}</table>`;
}

export function section(id: string, title: string, body: string, intro?: string): string {
  return `<section id="${id}" data-section="${id}"><h2>${escapeHtml(title)}</h2>${intro ? `<p class="intro">${intro}</p>` : ''}${body}</section>`;
}

export function percent(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${(100 * value).toFixed(digits)}%` : '–';
}

export function fixed(value: number | undefined, digits = 4): string {
  return value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

export function seconds(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value < 120) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(value / 60);
  return minutes < 120 ? `${minutes} min ${Math.round(value % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Only inline styles and data: images; no script, font, frame or fetch may reach the network. */
const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

const STYLE = `
:root { --bg: #f4f5f7; --panel: #fff; --text: #1c2430; --muted: #5b6676; --line: #dde1e7; --accent: #1d4ed8; --good: #15803d; --bad: #b91c1c;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif; font-size: 15px; line-height: 1.45; color: var(--text); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 0 20px 40px; }
header.top { padding: 22px 0 6px; }
h1 { margin: 0; font-size: 1.6rem; }
h2 { margin: 0 0 6px; font-size: 1.15rem; }
h3 { margin: 12px 0 6px; font-size: 0.95rem; }
.sub { margin: 4px 0 0; color: var(--muted); font-size: 0.9rem; }
nav { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 8px 0; background: var(--bg); border-bottom: 1px solid var(--line); font-size: 0.88rem; }
nav a { color: var(--accent); text-decoration: none; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-top: 16px; }
.intro, .note { color: var(--muted); font-size: 0.9rem; margin: 0 0 10px; max-width: 80ch; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; margin: 14px 0 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .detail { color: var(--muted); font-size: 0.82rem; }
.card.hero .value { color: var(--good); font-size: 1.9rem; }
.baseline { margin: 12px 0 0; padding: 10px 14px; border-left: 4px solid var(--accent); background: var(--panel); border-radius: 0 8px 8px 0; }
.baseline.missing { border-left-color: #d97706; color: var(--muted); }
.warning { color: #b45309; }
details.config { margin-top: 12px; }
details.config summary { cursor: pointer; color: var(--muted); }
dl.kv { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 2px 20px; margin: 8px 0; font-size: 0.9rem; }
dl.kv div { display: flex; justify-content: space-between; gap: 10px; border-bottom: 1px dotted var(--line); padding: 2px 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; font-variant-numeric: tabular-nums; text-align: right; overflow-wrap: anywhere; }
code { font-size: 0.88em; background: #8881; padding: 0 4px; border-radius: 3px; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 12px 20px; align-items: start; }
.charts.small { grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); }
figure { margin: 0; min-width: 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 4px; }
img.pixels { image-rendering: pixelated; display: block; }
.side { display: grid; grid-template-columns: minmax(0, auto) minmax(260px, 1fr); gap: 20px; align-items: start; }
@media (max-width: 820px) { .side, .charts { grid-template-columns: minmax(0, 1fr); } }
table { border-collapse: collapse; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right; }
th { color: var(--muted); font-weight: 600; background: #f9fafb; }
td:first-child, th:first-child { text-align: left; }
tr.highlight td { background: #eff6ff; font-weight: 600; }
table.comparison td:nth-child(-n+3), table.comparison th:nth-child(-n+3) { text-align: left; }
figure.wide { grid-column: 1 / -1; }
.table-wrap { overflow-x: auto; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(84px, 1fr)); gap: 10px; }
.mistake { text-align: center; border: 1px solid var(--line); border-radius: 8px; padding: 6px 4px 4px; }
.mistake img { width: 56px; height: 56px; margin: 0 auto; }
.mistake figcaption { margin: 2px 0 0; color: var(--text); font-size: 0.8rem; line-height: 1.25; }
.mistake .pred { color: var(--bad); font-weight: 700; font-size: 1rem; }
.mistake .conf { color: var(--muted); }
.weights { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
.weights img { width: 100%; max-width: 480px; height: auto; }
table.activations td { vertical-align: middle; padding: 3px 8px; }
table.activations th { text-align: left; }
table.activations img.digit { width: 36px; height: 36px; }
table.activations img.strip { width: 100%; min-width: 120px; height: 22px; }
table.activations td:has(> img.strip) { width: 40%; }
.swatch { display: inline-block; width: 120px; height: 10px; vertical-align: middle; border: 1px solid var(--line); }
.dataset { display: grid; grid-template-columns: minmax(0, auto) minmax(0, 1fr); gap: 20px; align-items: start; }
@media (max-width: 820px) { .dataset { grid-template-columns: minmax(0, 1fr); } }
.dataset img.samples { width: 100%; max-width: 420px; height: auto; }
.means { display: flex; flex-wrap: wrap; gap: 8px; }
.means figure { text-align: center; }
.means img { width: 56px; height: 56px; }
footer { margin-top: 20px; color: var(--muted); font-size: 0.82rem; }
`;
