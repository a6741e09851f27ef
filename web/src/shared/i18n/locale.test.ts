import { describe, expect, it } from 'vitest';
import { interpolate, pickLocale } from './locale';

describe('pickLocale', () => {
  const cases: Array<{ why: string; data: string | null; browser: string[]; language: string; tag: string; dir?: string }> = [
    { why: 'data-locale wins over the browser', data: 'de', browser: ['fr-FR', 'en'], language: 'de', tag: 'de' },
    { why: 'a region in data-locale falls back to its language', data: 'de-AT', browser: [], language: 'de', tag: 'de-AT' },
    { why: 'data-locale is matched without regard to case', data: 'ES', browser: [], language: 'es', tag: 'ES' },
    { why: 'data-locale without region takes the browser region of that language for dates', data: 'de', browser: ['en-US', 'de-CH'], language: 'de', tag: 'de-CH' },
    { why: 'an unshipped data-locale falls through to the browser', data: 'it', browser: ['es-MX'], language: 'es', tag: 'es-MX' },
    { why: 'a malformed data-locale is ignored', data: 'de_<script>', browser: ['fr'], language: 'fr', tag: 'fr' },
    { why: 'the first shipped browser language, region falling back (de-AT → de)', data: null, browser: ['de-AT', 'fr'], language: 'de', tag: 'de-AT' },
    { why: 'unshipped browser languages are skipped', data: '', browser: ['it-IT', 'pt', 'fr-CA'], language: 'fr', tag: 'fr-CA' },
    { why: 'Arabic is right to left', data: 'ar', browser: [], language: 'ar', tag: 'ar', dir: 'rtl' },
    { why: 'Arabic from the browser with a region', data: null, browser: ['ar-EG'], language: 'ar', tag: 'ar-EG', dir: 'rtl' },
    { why: 'nothing shipped: English', data: 'it', browser: ['ja-JP', 'zh'], language: 'en', tag: 'en' },
    { why: 'no languages at all: English', data: undefined as unknown as null, browser: [], language: 'en', tag: 'en' },
  ];
  for (const c of cases) {
    it(c.why, () => {
      const choice = pickLocale(c.data, c.browser);
      expect(choice, c.why).toEqual({ language: c.language, tag: c.tag, dir: c.dir ?? 'ltr' });
    });
  }
});

describe('interpolate', () => {
  it('fills named placeholders once, leaving unknown ones and the values themselves alone', () => {
    expect(interpolate('{name} is typing…', { name: 'Alice' })).toBe('Alice is typing…');
    expect(interpolate('{count} of {max}', { count: 3 })).toBe('3 of {max}');
    expect(interpolate('From {name}: {text}', { name: '{text}', text: 'hi' })).toBe('From {text}: hi');
  });
});
