import { describe, expect, it } from 'vitest';
import type { Availability } from '../shared/protocol';
import { english } from '../shared/i18n/translate';
import { i18nFor } from '../shared/i18n/catalogues';
import { pickLocale } from '../shared/i18n/locale';
import { awayText, entryFor, replyTimeText, subjectOf } from './availability';

const online: Availability = {
  online: true,
  reason: null,
  next_open_at: null,
  timezone: 'Europe/Berlin',
  greeting: '',
  offline_message: '',
  csat: true,
  typical_reply_seconds: 95,
};

describe('replyTimeText', () => {
  it('rounds the typical reply up to whole minutes, says "a minute" under one, and hides without data or agents', () => {
    expect(replyTimeText(online, english)).toBe('Usually replies in 2 min');
    expect(replyTimeText({ ...online, typical_reply_seconds: 120 }, english)).toBe('Usually replies in 2 min');
    expect(replyTimeText({ ...online, typical_reply_seconds: 121 }, english)).toBe('Usually replies in 3 min');
    expect(replyTimeText({ ...online, typical_reply_seconds: 20 }, english)).toBe('Usually replies in a minute');
    expect(replyTimeText({ ...online, typical_reply_seconds: null }, english)).toBeNull();
    expect(replyTimeText({ ...online, online: false, reason: 'no_agents' }, english)).toBeNull();
    expect(replyTimeText(null, english)).toBeNull();
  });
});

describe('awayText', () => {
  const now = new Date('2026-12-07T01:00:00Z'); // a Monday
  it('gives the time alone when the opening is today in the visitor\'s zone', () => {
    expect(awayText('2026-12-07T08:00:00Z', english, { locale: 'en-GB', timeZone: 'Europe/Berlin', now })).toBe("We're away, back at 09:00");
    expect(awayText('2026-12-07T08:00:00Z', english, { locale: 'en-GB', timeZone: 'UTC', now })).toBe("We're away, back at 08:00");
  });

  it('names the day when it is not today there (the same instant is yesterday evening in New York)', () => {
    // 01:00 UTC Monday is 20:00 Sunday in New York; 08:00 UTC Monday is 03:00 Monday there.
    expect(awayText('2026-12-07T08:00:00Z', english, { locale: 'en-GB', timeZone: 'America/New_York', now })).toBe("We're away, back Monday at 03:00");
    expect(awayText('2026-12-11T08:00:00Z', english, { locale: 'en-GB', timeZone: 'UTC', now })).toBe("We're away, back Friday at 08:00");
  });

  it('speaks the visitor\'s language, and says only "away" without an opening', () => {
    const de = i18nFor(pickLocale('de')).t;
    expect(awayText('2026-12-08T08:00:00Z', de, { locale: 'de', timeZone: 'Europe/Berlin', now })).toBe('Wir sind gerade nicht da, zurück am Dienstag um 09:00');
    expect(awayText(null, english)).toBe("We're away right now");
  });
});

describe('entryFor and subjectOf', () => {
  it('leaves a message only outside the hours', () => {
    expect(entryFor({ ...online, online: false, reason: 'outside_hours' })).toBe('leave-message');
    expect(entryFor({ ...online, online: false, reason: 'no_agents' })).toBe('chat');
    expect(entryFor(online)).toBe('chat');
    expect(entryFor(null)).toBe('chat');
  });

  it('makes the subject from the first line, cut on a word near 60 characters', () => {
    expect(subjectOf('  Where is my order?\nIt was due Friday.')).toBe('Where is my order?');
    const long = 'My parcel was supposed to arrive last week but the tracking page still says pending';
    const subject = subjectOf(long);
    expect(subject.length).toBeLessThanOrEqual(60);
    expect(subject).toBe('My parcel was supposed to arrive last week but the tracking…');
  });
});
