/**
 * Small pure helpers shared by the web renderers: HTML escaping and how numbers and durations are written.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and (double- or single-quoted) attribute values. */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Markup that is already safe: interpolating it into `html` does not escape it again. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Marks trusted markup (built by these renderers) as safe. Never pass data from the database here. */
export const trusted = (markup: string): SafeHtml => new SafeHtml(markup);

function interpolate(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/**
 * A tagged template for markup: every interpolation is HTML-escaped unless it is `SafeHtml` (the result of
 * another `html` template); arrays are joined; null, undefined and false render as nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += interpolate(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/**
 * Scores and win rates: four decimals in the usual range, exponent form for tiny (or huge) values so that
 * the floor of a failed submission (e.g. 5e-324) is not shown as 0.0000. Same rule as the CLI table.
 */
export function formatScore(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (value === 0 || (Math.abs(value) >= 1e-4 && Math.abs(value) < 1e4)) return value.toFixed(4);
  return value.toExponential(2);
}

/** Pearson's r as printed on the track page: three decimals, or "n/a" (fewer than 3 points, or undefined). */
export function formatCorrelation(r: number | null, points: number): string {
  if (points < 3 || r === null || !Number.isFinite(r)) return 'n/a';
  return r.toFixed(3);
}

/** "2024-05-01T10:00:00.000Z" → "2024-05-01 10:00:00 UTC"; anything unparsable is returned as given. */
export function formatTimestamp(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
