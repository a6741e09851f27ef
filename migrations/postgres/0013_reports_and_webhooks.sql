-- Reports and webhooks (issue 19). Same numbering and names as migrations/sqlite.
--
-- Reports: each ticket keeps the facts its figures come from, written in the
-- transactions that make them (first only: a later one never moves them).
--   first_visitor_at   the visitor's first message
--   first_response_at  the first public agent message after it
--   first_assigned_at  the first time the ticket had an agent
--   first_resolved_at  the first time it became resolved or closed
ALTER TABLE support_tickets ADD COLUMN first_visitor_at TIMESTAMPTZ;
ALTER TABLE support_tickets ADD COLUMN first_response_at TIMESTAMPTZ;
ALTER TABLE support_tickets ADD COLUMN first_assigned_at TIMESTAMPTZ;
ALTER TABLE support_tickets ADD COLUMN first_resolved_at TIMESTAMPTZ;

-- Older tickets: what their messages tell. The join note ("… joined the
-- chat") or, for a ticket that has an agent, that agent's first message;
-- the first resolved or closing note, else the closing time.
UPDATE support_tickets SET first_visitor_at = (
    SELECT MIN(m.created_at) FROM support_messages m
    WHERE m.ticket_id = support_tickets.id AND m.sender_type = 'user');
UPDATE support_tickets SET first_response_at = (
    SELECT MIN(m.created_at) FROM support_messages m
    WHERE m.ticket_id = support_tickets.id AND m.sender_type = 'supporter' AND m.audience = 'all'
      AND m.created_at >= support_tickets.first_visitor_at)
WHERE first_visitor_at IS NOT NULL;
UPDATE support_tickets SET first_assigned_at = COALESCE(
    (SELECT MIN(m.created_at) FROM support_messages m
     WHERE m.ticket_id = support_tickets.id AND m.sender_type = 'system'
       AND (m.message LIKE '% joined the chat' OR m.message LIKE 'Ticket assigned to %')),
    (SELECT MIN(m.created_at) FROM support_messages m
     WHERE m.ticket_id = support_tickets.id AND m.sender_type = 'supporter'))
WHERE supporter_id IS NOT NULL OR status <> 'open';
UPDATE support_tickets SET first_resolved_at = COALESCE(
    (SELECT MIN(m.created_at) FROM support_messages m
     WHERE m.ticket_id = support_tickets.id AND m.sender_type = 'system'
       AND (m.message LIKE 'This conversation was marked as resolved%'
            OR m.message LIKE '% ended the chat' OR m.message = 'This chat has ended')),
    closed_at)
WHERE status IN ('resolved', 'closed');

-- The report's ranges: tickets by creation (idx_support_tickets_created_at
-- exists) and by first resolution.
CREATE INDEX idx_support_tickets_first_resolved ON support_tickets(first_resolved_at)
    WHERE first_resolved_at IS NOT NULL;

-- An agent's open chats (every agent listing and routing round counts them):
-- by agent and status in the index, not by reading each of the agent's
-- tickets (a desk with a million old tickets spent seconds a round on SQLite).
CREATE INDEX idx_support_tickets_supporter_status ON support_tickets(supporter_id, status);

-- Webhooks: a receiver's URL, its signing secret (kept to sign with; shown
-- once, when it is made) and the events it wants, one row each, which the
-- message path joins to (an empty table when nobody subscribed: nothing written).
CREATE TABLE support_webhooks (
    id          BIGSERIAL   PRIMARY KEY,
    url         TEXT        NOT NULL,
    secret      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE support_webhook_events (
    webhook_id  BIGINT      NOT NULL REFERENCES support_webhooks(id) ON DELETE CASCADE,
    event       TEXT        NOT NULL,
    PRIMARY KEY (event, webhook_id)
);

-- The outbox of webhook deliveries: one row per event and webhook, written in
-- the transaction of what it reports (a message, a ticket change, a rating).
-- Messages' events carry message_id and are rendered when sent (a message
-- never changes); the others carry their data as JSON. Rows of one ticket are
-- numbered in commit order (every writer holds the ticket's lock), which is
-- the order they are sent in. The lease is the email outbox's.
CREATE TABLE support_webhook_deliveries (
    id               BIGSERIAL   PRIMARY KEY,
    webhook_id       BIGINT      NOT NULL REFERENCES support_webhooks(id) ON DELETE CASCADE,
    event_id         TEXT        NOT NULL,
    event_type       TEXT        NOT NULL,
    ticket_id        BIGINT      NOT NULL,
    message_id       BIGINT,
    payload          TEXT,
    status           TEXT        NOT NULL DEFAULT 'pending',
    attempts         INTEGER     NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    locked_by        TEXT,
    locked_until     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ
);
-- The senders' claim: due pending deliveries, and the head of each ticket's line.
CREATE INDEX idx_support_webhook_deliveries_due ON support_webhook_deliveries(next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX idx_support_webhook_deliveries_line ON support_webhook_deliveries(webhook_id, ticket_id, id)
    WHERE status = 'pending';
-- The delivery log, newest first, and the sweep of old ones.
CREATE INDEX idx_support_webhook_deliveries_log ON support_webhook_deliveries(webhook_id, id);
CREATE INDEX idx_support_webhook_deliveries_created ON support_webhook_deliveries(created_at);
