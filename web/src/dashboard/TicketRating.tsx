// The visitor's satisfaction rating of a ticket (issue 18), as the agents see it: a
// small score in the queue row and, in the ticket's header, the stars and the comment.
// Both follow the ticket, which `ticket_updated` keeps live.

import type { Ticket } from '../shared/protocol';

const MAX_SCORE = 5;

function stars(score: number): string {
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
