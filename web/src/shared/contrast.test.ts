import { describe, expect, it } from 'vitest';
import { contrastRatio, DARK_TEXT, LIGHT_TEXT, parseHex, textColorOn } from './contrast';

describe('brand colour contrast', () => {
  it('parses the hex forms safeColor lets through', () => {
    expect(parseHex('#2563eb')).toEqual([0x25, 0x63, 0xeb]);
    expect(parseHex('#fa0')).toEqual([0xff, 0xaa, 0x00]);
    expect(parseHex('#fa08')).toEqual([0xff, 0xaa, 0x00]);
    expect(parseHex('#11223344')).toEqual([0x11, 0x22, 0x33]);
    expect(parseHex('red')).toBeNull();
    expect(parseHex('#12345')).toBeNull();
  });

  it('computes WCAG ratios', () => {
    expect(contrastRatio([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrastRatio([255, 255, 255], [255, 255, 255])).toBeCloseTo(1, 5);
  });

  it('puts white on dark brand colours and dark text on light ones, each reaching AA', () => {
    expect(textColorOn('#2563eb')).toBe(LIGHT_TEXT); // blue: 5.2:1 with white
    expect(textColorOn('#111827')).toBe(LIGHT_TEXT);
    expect(textColorOn('#facc15')).toBe(DARK_TEXT); // yellow: white would be 1.5:1
    expect(textColorOn('#ffffff')).toBe(DARK_TEXT);
    expect(textColorOn('#22c55e')).toBe(DARK_TEXT); // green: white 2.3:1, dark 8:1
    for (const c of ['#2563eb', '#facc15', '#22c55e', '#dc2626', '#ff8800', '#7c3aed']) {
      const text = parseHex(textColorOn(c))!;
      expect(contrastRatio(parseHex(c)!, text)).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('falls back to white for a colour it cannot read', () => {
    expect(textColorOn('rebeccapurple')).toBe(LIGHT_TEXT);
  });
});
