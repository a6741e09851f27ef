// WCAG contrast for the brand colour: text drawn on it is white or dark, whichever
// reaches AA (4.5:1); when neither does, the one with the higher ratio.

export const LIGHT_TEXT = '#ffffff';
export const DARK_TEXT = '#111827';

/** [r, g, b] 0–255 from #rgb, #rgba, #rrggbb or #rrggbbaa; null otherwise. */
export function parseHex(color: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{3,8})$/i.exec(color.trim());
  if (!m) return null;
  let h = m[1];
  if (h.length === 3 || h.length === 4) h = [...h.slice(0, 3)].map((c) => c + c).join('');
  else if (h.length === 6 || h.length === 8) h = h.slice(0, 6);
  else return null;
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

function channel(v: number): number {
  const s = v / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

export function luminance([r, g, b]: [number, number, number]): number {
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

export function contrastRatio(a: [number, number, number], b: [number, number, number]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The text colour for a background: white when it reaches AA, else dark when that does, else the better one. */
export function textColorOn(background: string): string {
  const bg = parseHex(background);
  if (!bg) return LIGHT_TEXT;
  const white = contrastRatio(bg, [255, 255, 255]);
  const dark = contrastRatio(bg, parseHex(DARK_TEXT) as [number, number, number]);
  if (white >= 4.5) return LIGHT_TEXT;
  if (dark >= 4.5) return DARK_TEXT;
  return white >= dark ? LIGHT_TEXT : DARK_TEXT;
}
