-- Email (issue 18). Same numbering and names as migrations/sqlite.
--
-- The outbox: every email is written here first, in the transaction that
-- decides it, and sent by a worker on each node. A worker claims due rows with
-- a lease (locked_by, locked_until; PostgreSQL skips rows another node has
-- locked, SQLite has one writer), counts the attempt, sends, and marks the row
-- sent, or pending again with the next attempt's time, or failed. message_id is
-- the email's Message-ID header, the same on every attempt.
CREATE TABLE support_emails (
    id              BIGSERIAL   PRIMARY KEY,
    kind            TEXT        NOT NULL,
    ticket_id       BIGINT      REFERENCES support_tickets(id) ON DELETE SET NULL,
    to_address      TEXT        NOT NULL,
    subject         TEXT        NOT NULL,
    body_text       TEXT        NOT NULL,
    body_html       TEXT        NOT NULL,
    message_id      TEXT        NOT NULL UNIQUE,
    -- A visitor asked for it (their transcripts are limited per hour).
    by_visitor      BOOLEAN     NOT NULL DEFAULT FALSE,
    status          TEXT        NOT NULL DEFAULT 'pending',
    attempts        INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_by       TEXT,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);

-- The workers' claim: due pending emails, oldest first.
CREATE INDEX idx_support_emails_due ON support_emails(next_attempt_at) WHERE status = 'pending';
-- The visitors' transcript limit: a ticket's emails of a kind, by time.
CREATE INDEX idx_support_emails_ticket ON support_emails(ticket_id, kind, created_at);

-- The newest seq a follow-up emailed: replies above it are not emailed yet.
-- Conversations from before this release count as emailed (no surprise emails
-- about old replies on the upgrade).
ALTER TABLE support_tickets ADD COLUMN emailed_seq BIGINT NOT NULL DEFAULT 0;
UPDATE support_tickets SET emailed_seq = last_seq;
