// Catalogue completeness: every language has exactly the keys of English (the type
// says so too; this also catches a cast), no empty text, and each text uses exactly
// the placeholder names of its English original.
import { describe, expect, it } from 'vitest';
import { CATALOGUES, i18nFor } from './catalogues';
import { en } from './en';
import { LOADER_STRINGS } from './loaderStrings';
import { LOCALES, pickLocale } from './locale';
import { localiseSystemNote } from './systemNotes';
import { english, placeholders } from './translate';

describe('the chat app catalogues', () => {
  const keys = Object.keys(en).sort();
  for (const locale of LOCALES) {
    it(`${locale} has exactly the keys of English, each non-empty with the same placeholders`, () => {
      const catalogue: Readonly<Record<string, string>> = CATALOGUES[locale];
      expect(Object.keys(catalogue).sort()).toEqual(keys);
      for (const key of keys) {
        expect(catalogue[key].trim(), `${locale} ${key} is empty`).not.toBe('');
        expect(placeholders(catalogue[key]), `${locale} ${key}`).toEqual(placeholders(en[key as keyof typeof en]));
      }
    });
  }

  it('ships the five languages, and every non-English one is translated', () => {
    expect([...LOCALES]).toEqual(['en', 'de', 'fr', 'es', 'ar']);
    for (const locale of LOCALES.filter((l) => l !== 'en')) {
      expect(CATALOGUES[locale]['prechat.start'], locale).not.toBe(en['prechat.start']);
    }
  });
});

describe('the loader strings', () => {
  const keys = Object.keys(LOADER_STRINGS.en).sort();
  for (const locale of LOCALES) {
    it(`${locale} has exactly the loader keys of English with the same placeholders`, () => {
      const strings: Readonly<Record<string, string>> = { ...LOADER_STRINGS[locale] };
      const source: Readonly<Record<string, string>> = { ...LOADER_STRINGS.en };
      expect(Object.keys(strings).sort()).toEqual(keys);
      for (const key of keys) {
        expect(strings[key].trim(), `${locale} ${key}`).not.toBe('');
        expect(placeholders(strings[key]), `${locale} ${key}`).toEqual(placeholders(source[key]));
      }
    });
  }
});

describe('t', () => {
  it('fills parameters in the chosen language', () => {
    expect(i18nFor(pickLocale('de')).t('chat.typing', { name: 'Alice' })).toBe('Alice schreibt…');
    expect(i18nFor(pickLocale('ar')).dir).toBe('rtl');
    expect(english('validation.messageTooLong', { max: 10, count: 12 })).toBe('Message must be at most 10 characters (now 12).');
  });
});

describe('localiseSystemNote', () => {
  const de = i18nFor(pickLocale('de')).t;
  it('words the server\'s known visitor notes in the visitor\'s language', () => {
    expect(localiseSystemNote('Alice Smith joined the chat', de)).toBe('Alice Smith ist dem Chat beigetreten');
    expect(localiseSystemNote('Jane ended the chat', de)).toBe('Jane hat den Chat beendet');
    expect(localiseSystemNote('This chat has ended', de)).toBe('Dieser Chat wurde beendet');
    expect(localiseSystemNote('This conversation was marked as resolved — write to reopen it', de)).toContain('als gelöst markiert');
  });

  it('leaves any other note as the server sent it, and English as it is', () => {
    expect(localiseSystemNote('Status changed from open to assigned', de)).toBe('Status changed from open to assigned');
    expect(localiseSystemNote('Say hi: Alice joined the chat today', de)).toBe('Say hi: Alice joined the chat today');
    expect(localiseSystemNote('Alice joined the chat', english)).toBe('Alice joined the chat');
  });
});
