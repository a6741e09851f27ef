-- Agent tools (issue 15): canned responses and ticket labels. Same numbering and
-- names as migrations/sqlite.

-- Saved replies. `uses` counts insertions into the composer: lists are sorted by
-- it (most used first), then by shortcut. A duplicate shortcut breaks
-- support_canned_responses_shortcut_key, which the store reports as a conflict.
CREATE TABLE support_canned_responses (
    id         BIGSERIAL   PRIMARY KEY,
    shortcut   TEXT        NOT NULL,
    title      TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    uses       BIGINT      NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT support_canned_responses_shortcut_key UNIQUE (shortcut)
);

-- A ticket's labels, one row each. The primary key reads a ticket's labels (and
-- those of a page of tickets, `ticket_id IN (…)`); the label index serves the
-- queue's `label=` filter and the counts of labels in use.
CREATE TABLE support_ticket_labels (
    ticket_id BIGINT NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    label     TEXT   NOT NULL,
    PRIMARY KEY (ticket_id, label)
);

CREATE INDEX idx_support_ticket_labels_label ON support_ticket_labels(label, ticket_id);
