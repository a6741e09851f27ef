-- Visitor context (issue 15, point 4): the pages a visitor browsed while chatting
-- (the newest 20 per ticket are kept; the service prunes older ones as it stores),
-- what the visitor's browser says about itself, and the indexes that find a
-- visitor's previous conversations by verified user id or by email.

CREATE TABLE support_visitor_pages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id  INTEGER NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    referrer   TEXT,
    visited_at TEXT    NOT NULL
);

-- Newest first per ticket, and the pruning of older ones.
CREATE INDEX idx_support_visitor_pages_ticket_id ON support_visitor_pages(ticket_id, id);

ALTER TABLE support_tickets ADD COLUMN visitor_user_agent TEXT;
ALTER TABLE support_tickets ADD COLUMN visitor_locale TEXT;
ALTER TABLE support_tickets ADD COLUMN visitor_timezone TEXT;

-- Previous conversations of the same email, compared case-insensitively (the
-- same user_id uses idx_support_tickets_user_id).
CREATE INDEX idx_support_tickets_user_email_lower ON support_tickets(LOWER(user_email));
