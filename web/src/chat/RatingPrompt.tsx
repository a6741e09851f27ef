// The satisfaction rating (issue 18): once the visitor's ticket is resolved or closed,
// the desk asks for it (`csat`) and it has none yet, five stars (named "Very bad" …
// "Great"), an optional comment,
// Send. A 409 means it was rated already (another tab): the visitor just sees the thanks.

import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api';
import { RATING_COMMENT_MAX, RATING_SCORES, type Ticket } from '../shared/protocol';
import type { MessageKey } from '../shared/i18n/en';
import { useI18n } from '../shared/i18n/context';

// Stars, not faces: an emoji face can be missing from the visitor's fonts (a box).
const STAR = '★';

/** Whether to ask: a finished conversation, not rated, on a desk that wants ratings. */
export function shouldAskRating(ticket: Ticket | null, csat: boolean): boolean {
  if (!csat || !ticket) return false;
  return (ticket.status === 'resolved' || ticket.status === 'closed') && (ticket.rating ?? null) === null;
}

export interface RatingPromptProps {
  /** Sends the rating; the container applies the answered ticket. */
  onRate: (body: { score: number; comment?: string }) => Promise<void>;
}

export function RatingPrompt({ onRate }: RatingPromptProps) {
  const { t } = useI18n();
  const [score, setScore] = useState<number | null>(null);
  const [comment, setComment] = useState('');
  const [phase, setPhase] = useState<'asking' | 'sending' | 'thanks'>('asking');
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  const commentId = useId();

  if (phase === 'thanks') {
    return (
      <p className="ls-rating ls-rating-thanks" role="status">
        {t('rating.thanks')}
      </p>
    );
  }

  const send = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (score === null) return;
    setPhase('sending');
    setError(null);
    const text = comment.trim();
    try {
      await onRate(text ? { score, comment: text } : { score });
      setPhase('thanks');
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.code === 'conflict') {
        setPhase('thanks');
        return;
      }
      setError(err instanceof ApiError && err.status === 400 ? err.message : t('rating.failed'));
      setPhase('asking');
    }
  };

  return (
    <form className="ls-rating" aria-labelledby={titleId} onSubmit={(e) => void send(e)} noValidate>
      <h2 id={titleId}>{t('rating.title')}</h2>
      <div className="ls-rating-stars" role="group" aria-labelledby={titleId}>
        {RATING_SCORES.map((s) => (
          <button
            key={s}
            type="button"
            className={`ls-rating-star${score !== null && s <= score ? ' ls-rating-lit' : ''}`}
            aria-label={t(`rating.score${s}` as MessageKey)}
            aria-pressed={score === s}
            onClick={() => setScore(s)}
          >
            <span aria-hidden="true">{STAR}</span>
          </button>
        ))}
      </div>
      <label htmlFor={commentId}>
        {t('rating.comment')} <span className="ls-optional">{t('prechat.optional')}</span>
      </label>
      <textarea id={commentId} rows={2} maxLength={RATING_COMMENT_MAX} value={comment} onChange={(e) => setComment(e.target.value)} />
      {error && (
        <p className="ls-form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="ls-primary" disabled={score === null || phase === 'sending'}>
        {phase === 'sending' ? t('rating.sending') : t('rating.send')}
      </button>
    </form>
  );
}
