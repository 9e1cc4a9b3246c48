import { formatBytes, formatDuration, formatSpan, parseBytes, parseDuration } from '../../domain/units.js';

describe('durations (domain/units.ts)', () => {
  it('writes limits in the largest whole unit, and reads them back exactly', () => {
    expect(formatDuration(18_000_000)).toBe('5h');
    expect(formatDuration(20_000)).toBe('20s');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(86_400_000)).toBe('1d');
    for (const ms of [1, 999, 1500, 20_000, 18_000_000, 36_000_000, 86_400_000, 90_000_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
    expect(parseDuration('300m')).toBe(18_000_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(() => parseDuration('soon')).toThrow(/"soon" is not a duration: write e\.g\. "45s"/);
    expect(() => parseDuration(-1)).toThrow(/non-negative/);
  });

  it('writes elapsed times for people', () => {
    expect(formatSpan(850)).toBe('850ms');
    expect(formatSpan(42_500)).toBe('42.5s');
    expect(formatSpan(45_000)).toBe('45s');
    expect(formatSpan(59_990)).toBe('1m'); // rounds up into minutes, never "60s"
    expect(formatSpan(600_000)).toBe('10m');
    expect(formatSpan(412_000)).toBe('6m 52s');
    expect(formatSpan(36_000_000)).toBe('10h');
    expect(formatSpan(7_440_000)).toBe('2h 04m');
    expect(formatSpan(86_400_000 * 1.5)).toBe('1d 12h');
    expect(formatSpan(-1)).toBe('an unknown time');
    expect(formatSpan(Number.NaN)).toBe('an unknown time');
  });
});

describe('sizes (domain/units.ts)', () => {
  it('writes binary units with at most one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(12)).toBe('12 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3 GiB');
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MiB'); // 1023.999 KiB carries into MiB
    expect(formatBytes(2_000_000_000)).toBe('1.9 GiB');
    expect(() => formatBytes(-1)).toThrow(/non-negative/);
  });

  it('reads decimal, binary and Docker units', () => {
    expect(parseBytes('2GB')).toBe(2_000_000_000);
    expect(parseBytes('2g')).toBe(2 * 1024 ** 3);
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes(formatBytes(20 * 1024 * 1024).replace(' ', ''))).toBe(20 * 1024 * 1024);
    expect(() => parseBytes('2 furlongs')).toThrow(/"2 furlongs" is not a size/);
  });
});
