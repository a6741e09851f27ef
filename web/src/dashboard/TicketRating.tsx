// The visitor's satisfaction rating of a ticket (issue 18), as the agents see it: a
// small score in the queue row and, in the ticket's header, the stars and the comment.
// Both follow the ticket, which `ticket_updated` keeps live. A new rating also shows
// as a notice (the feed's `rating_created`) that opens the ticket.

import type { Ticket } from '../shared/protocol';

const MAX_SCORE = 5;

/** "★★★★☆" for 4. */
export function stars(score: number): string {
  return '★'.repeat(score) + '☆'.repeat(Math.max(0, MAX_SCORE - score));
}

/** "★ 5" in the queue row; nothing before a rating. */
export function RatingBadge({ ticket }: { ticket: Ticket }) {
  const rating = ticket.rating;
  if (!rating) return null;
  return (
    <span className={`db-badge db-rating db-rating-${rating.score}`} title={`Rated ${rating.score} of ${MAX_SCORE}`}>
      <span aria-hidden="true">★ </span>
      {rating.score}
      <span className="db-sr-only"> of {MAX_SCORE}</span>
    </span>
  );
}

/** "Rated 4 of 5 ★★★★☆ “Quick and kind”" in the ticket's header. */
export function RatingSummary({ ticket }: { ticket: Ticket }) {
  const rating = ticket.rating;
  if (!rating) return null;
  return (
    <p className="db-rating-summary">
      <span className="db-rating-stars" aria-hidden="true">
        {stars(rating.score)}
      </span>{' '}
      <strong>
        Rated {rating.score} of {MAX_SCORE}
      </strong>
      {rating.comment && (
        <>
          {' · '}
          <q dir="auto">{rating.comment}</q>
        </>
      )}
    </p>
  );
}

/** A rating that just arrived (the feed's `rating_created`), until dismissed or shown. */
export interface RatingNotice {
  ticketId: number;
  subject: string;
  score: number;
}

export interface RatingNoticesProps {
  notices: readonly RatingNotice[];
  onShow: (ticketId: number) => void;
  onDismiss: (ticketId: number) => void;
}

/** "★★★★☆ rating on “Where is my order?” (#45)": the text opens the ticket, × dismisses. */
export function RatingNotices({ notices, onShow, onDismiss }: RatingNoticesProps) {
  return (
    <>
      {notices.map((n) => (
        <div key={n.ticketId} className="db-toast db-toast-rating">
          <button type="button" className="db-toast-open" onClick={() => onShow(n.ticketId)}>
            <span className="db-rating-stars" aria-hidden="true">
              {stars(n.score)}
            </span>
            <span className="db-sr-only">
              {n.score} of {MAX_SCORE} stars
            </span>{' '}
            rating on “<span dir="auto">{n.subject}</span>” (#{n.ticketId})
          </button>
          <button type="button" aria-label={`Dismiss the rating on ${n.subject}`} onClick={() => onDismiss(n.ticketId)}>
            ×
          </button>
        </div>
      ))}
    </>
  );
}
