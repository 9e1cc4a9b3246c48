/**
 * The benchmark table's ratio column: measured ÷ reference, and "n/a" with its reason when the reference is at or
 * below zero (a negative growth once printed a ratio of −1.9 that read as met).
 */
import { describe, expect, it } from '@jest/globals';
import { ratioOf, ratioText, row } from '../../bench/support.js';

describe('benchmark ratios', () => {
  it('divides by a positive reference', () => {
    expect(ratioOf(3, 2)).toEqual({ ratio: 1.5, ratioNote: null });
    expect(ratioText(row('f', 3, 'MB', 'ref', 2))).toBe('1.50');
  });

  it('prints n/a with the reason for a reference at or below zero', () => {
    const negative = row('growth', 0.4, 'MB', 'same, small size', -0.21, 'MB');
    expect(negative.ratio).toBeNull();
    expect(negative.ratioNote).toBe('n/a: the reference is -0.210 (at or below zero)');
    expect(ratioText(negative)).toBe('n/a: the reference is -0.210 (at or below zero)');
    const zero = row('growth', 0.4, 'MB', 'same, small size', 0, 'MB');
    expect(zero.ratio).toBeNull();
    expect(ratioText(zero)).toBe('n/a: the reference is 0 (at or below zero)');
  });

  it('keeps a ratio the row gives, and shows a dash where there is no reference', () => {
    expect(row('f', 1, '', 'ref', 4, '', { ratio: 0.9 }).ratio).toBe(0.9);
    expect(ratioText(row('f', 1, '', 'config', null))).toBe('–');
  });
});
