/**
 * Durations and sizes, read and written in one place (issue 14: there were three duration formatters and
 * three byte formatters, each with its own idea of units and rounding).
 *
 * - Limits are written as the operator wrote them ("300m", "24h"): parseDuration and formatDuration are exact
 *   inverses on whole units, so a limit printed in a message can be pasted back into a config.
 * - Elapsed times are written for people (formatSpan): "850ms", "42.5s", "6m 52s", "2h 04m", "1d 3h".
 * - Sizes are binary (KiB, MiB, GiB = 1024^k), as Docker, cgroups and `docker stats` count memory and disk; the
 *   parser also takes decimal units (kB, MB, GB) and Docker's single letters (2g = 2 GiB).
 *
 * Plain TypeScript with no imports: the workflow bundle (temporal.config.ts) uses it too.
 */

export const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "45s" → 45 000, "300m" → 18 000 000, "24h", "1.5h", or a number of milliseconds as it is. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`duration must be a non-negative number of ms, got ${value}`);
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) throw new Error(`"${value}" is not a duration: write e.g. "45s", "300m", "24h" or a number of milliseconds`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

/** A limit in the largest whole unit: 18 000 000 → "5h", 20 000 → "20s", 1500 → "1500ms" (parseDuration reads it back). */
export function formatDuration(ms: number): string {
  if (ms % UNIT_MS.d === 0 && ms > 0) return `${ms / UNIT_MS.d}d`;
  if (ms % UNIT_MS.h === 0 && ms > 0) return `${ms / UNIT_MS.h}h`;
  if (ms % UNIT_MS.m === 0 && ms > 0) return `${ms / UNIT_MS.m}m`;
  if (ms % UNIT_MS.s === 0 && ms > 0) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}

/** An elapsed time for people: "850ms", "42.5s", "45s", "6m 52s", "6m", "2h 04m", "2h", "1d 3h"; "an unknown time" for NaN or < 0. */
export function formatSpan(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'an unknown time';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 59_950) return `${Number((ms / 1000).toFixed(1))}s`;
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const totalMinutes = Math.round(ms / 60_000);
  const h = Math.floor(totalMinutes / 60);
  if (h < 24) return totalMinutes % 60 === 0 ? `${h}h` : `${h}h ${String(totalMinutes % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

export const KiB = 1024;
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
const KB = 1000;
const MB = 1000 ** 2;
const GB = 1000 ** 3;

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  m: MiB,
  g: GiB,
  t: 1024 * GiB,
  kib: KiB,
  mib: MiB,
  gib: GiB,
  tib: 1024 * GiB,
  kb: KB,
  mb: MB,
  gb: GB,
  tb: 1000 * GB,
};

/** "200MB" → 200 000 000, "2GiB" and "2g" (Docker's way) → 2 147 483 648, "1234" → 1234. */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`a size must be a non-negative number of bytes, got ${value}`);
    return Math.round(value);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`"${value}" is not a size: write e.g. "200MB", "2GB", "512MiB", "2g" or a number of bytes`);
  return Math.round(Number(match[1]) * unit);
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** 12 → "12 B", 1536 → "1.5 KiB", 20 971 520 → "20 MiB", 3 × 2^30 → "3 GiB" (one decimal at most, none when whole). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`a size must be a non-negative number of bytes, got ${bytes}`);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.96 KiB would print as "1024 KiB": carry into the next unit instead.
  if (unit > 0 && Number(value.toFixed(1)) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${Number(value.toFixed(1))} ${BINARY_UNITS[unit]}`;
}
