/**
 * Inline SVG charts (pure: data → markup, no scripts, no external assets): the open-vs-closed scatter of a
 * track and horizontal bar charts (failure categories).
 */
import { html, trusted, type SafeHtml } from './html.js';

export type Tone = 'good' | 'warn' | 'bad' | 'muted' | 'info';

export const TONE_COLORS: Record<Tone, string> = {
  good: '#2e7d32',
  warn: '#b26a00',
  bad: '#c62828',
  muted: '#78909c',
  info: '#1565c0',
};

export interface ScatterPoint {
  /** Submission id: also the `data-submission` of the point. */
  id: string;
  label: string;
  /** open stage score, 0..1 */
  x: number;
  /** closed stage score, 0..1 */
  y: number;
  tone: Tone;
  href?: string;
  /** Tooltip text (defaults to the label and both coordinates). */
  title?: string;
}

export interface ScatterOptions {
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Formats the coordinates in tooltips and data attributes. */
  format?: (value: number) => string;
}

const clamp01 = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);
/** A fixed-precision number for SVG attributes. */
const n = (v: number): string => String(Math.round(v * 10) / 10);

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Scatter of points in the unit square, one labelled dot each, a y = x reference line and 0..1 axes. */
export function scatterSvg(points: readonly ScatterPoint[], options: ScatterOptions): SafeHtml {
  const width = options.width ?? 480;
  const height = options.height ?? 420;
  const format = options.format ?? ((v: number) => v.toFixed(3));
  const m = { left: 56, right: 24, top: 16, bottom: 52 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const px = (v: number) => m.left + clamp01(v) * w;
  const py = (v: number) => m.top + (1 - clamp01(v)) * h;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const fontSize = 12;
  const charWidth = 6.8;

  const grid = ticks.map(
    (t) => html`<line x1="${n(px(t))}" y1="${n(m.top)}" x2="${n(px(t))}" y2="${n(m.top + h)}" class="grid"/>
<line x1="${n(m.left)}" y1="${n(py(t))}" x2="${n(m.left + w)}" y2="${n(py(t))}" class="grid"/>
<text x="${n(px(t))}" y="${n(m.top + h + 18)}" text-anchor="middle" class="tick">${t}</text>
<text x="${n(m.left - 8)}" y="${n(py(t) + 4)}" text-anchor="end" class="tick">${t}</text>`,
  );

  // Labels: placed next to their point, moved up or down until they overlap no other label or point.
  const placed: Box[] = points.map((p) => ({ x: px(p.x) - 5, y: py(p.y) - 5, w: 10, h: 10 }));
  const marks = points.map((p) => {
    const cx = px(p.x);
    const cy = py(p.y);
    const labelWidth = p.label.length * charWidth;
    const right = cx + 9 + labelWidth <= width - 4;
    const lx = right ? cx + 9 : cx - 9;
    let dy = 0;
    let box: Box = { x: right ? lx : lx - labelWidth, y: cy - fontSize + 4, w: labelWidth, h: fontSize + 2 };
    for (let k = 1; k <= 24 && placed.some((b) => overlaps(b, box)); k++) {
      dy = (k % 2 === 1 ? 1 : -1) * Math.ceil(k / 2) * (fontSize + 2);
      box = { ...box, y: cy - fontSize + 4 + dy };
    }
    placed.push(box);
    const title = p.title ?? `${p.label}: ${options.xLabel} ${format(p.x)}, ${options.yLabel} ${format(p.y)}`;
    const leader = dy === 0 ? null : html`<line x1="${n(cx)}" y1="${n(cy)}" x2="${n(right ? lx - 2 : lx + 2)}" y2="${n(cy + dy - 4)}" class="leader"/>`;
    const dot = html`<circle data-testid="scatter-point" data-submission="${p.id}" data-x="${format(p.x)}" data-y="${format(p.y)}" cx="${n(cx)}" cy="${
      n(cy)}" r="6" fill="${TONE_COLORS[p.tone]}" fill-opacity="0.85" stroke="#fff" stroke-width="1.5"><title>${title}</title></circle>`;
    const text = html`<text data-testid="scatter-label" x="${n(lx)}" y="${n(cy + 4 + dy)}" text-anchor="${right ? 'start' : 'end'}" class="point-label">${p.label}</text>`;
    const body = html`${leader}${dot}${text}`;
    return p.href ? html`<a href="${p.href}">${body}</a>` : body;
  });

  return html`<svg data-testid="scatter" class="chart" role="img" aria-label="${options.yLabel} against ${options.xLabel}" xmlns="http://www.w3.org/2000/svg" width="${
    width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="#fafafa" stroke="#b0bec5"/>
${grid}
<line x1="${n(px(0))}" y1="${n(py(0))}" x2="${n(px(1))}" y2="${n(py(1))}" class="diagonal"/>
<text x="${n(m.left + w / 2)}" y="${height - 10}" text-anchor="middle" class="axis-label">${options.xLabel}</text>
<text x="14" y="${n(m.top + h / 2)}" text-anchor="middle" transform="rotate(-90 14 ${n(m.top + h / 2)})" class="axis-label">${options.yLabel}</text>
${marks}
</svg>`;
}

export interface Bar {
  key: string;
  label: string;
  value: number;
  tone: Tone;
  title?: string;
}

/** Horizontal bars, one row per entry, the count written after each bar. `testId` names each bar group. */
export function horizontalBarsSvg(bars: readonly Bar[], options: { testId: string; width?: number; ariaLabel: string }): SafeHtml {
  const width = options.width ?? 480;
  const row = 28;
  const labelWidth = Math.max(90, ...bars.map((b) => b.label.length * 7.4 + 12));
  const valueWidth = 44;
  const barArea = Math.max(60, width - labelWidth - valueWidth);
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = bars.length * row + 8;
  const rows = bars.map((bar, i) => {
    const y = 4 + i * row;
    const barWidth = bar.value <= 0 ? 0 : Math.max(3, (bar.value / max) * barArea);
    return html`<g data-testid="${options.testId}" data-key="${bar.key}" data-count="${bar.value}">
<title>${bar.title ?? `${bar.label}: ${bar.value}`}</title>
<text x="${n(labelWidth - 10)}" y="${y + 18}" text-anchor="end" class="bar-label">${bar.label}</text>
<rect x="${n(labelWidth)}" y="${y + 5}" width="${n(barWidth)}" height="${row - 10}" rx="3" fill="${TONE_COLORS[bar.tone]}"/>
<text x="${n(labelWidth + barWidth + 6)}" y="${y + 18}" class="bar-value">${bar.value}</text>
</g>`;
  });
  return html`<svg class="chart" role="img" aria-label="${options.ariaLabel}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${rows}</svg>`;
}

export const svgStyles = trusted(`
svg.chart { font-family: inherit; background: #fff; }
svg.chart .grid { stroke: #e0e0e0; stroke-width: 1; }
svg.chart .diagonal { stroke: #90a4ae; stroke-dasharray: 5 4; stroke-width: 1; }
svg.chart .tick { font-size: 11px; fill: #546e7a; }
svg.chart .axis-label { font-size: 13px; fill: #263238; font-weight: 600; }
svg.chart .point-label { font-size: 12px; fill: #263238; }
svg.chart .leader { stroke: #90a4ae; stroke-width: 0.8; }
svg.chart .bar-label { font-size: 13px; fill: #263238; }
svg.chart .bar-value { font-size: 13px; fill: #263238; font-weight: 600; }
`);
