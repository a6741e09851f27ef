-- Satisfaction ratings (issue 18). Same numbering and names as migrations/sqlite.
--
-- A conversation is rated once, by its visitor, after it is resolved or closed:
-- the rating lives on the ticket (NULL until then).
ALTER TABLE support_tickets ADD COLUMN rating_score INTEGER CHECK (rating_score BETWEEN 1 AND 5);
ALTER TABLE support_tickets ADD COLUMN rating_comment TEXT;
ALTER TABLE support_tickets ADD COLUMN rating_at TIMESTAMPTZ;
