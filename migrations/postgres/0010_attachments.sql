-- Files in the chat (issue 17). Same numbering and names as migrations/sqlite.
--
-- A row is written once an upload's type is known, before its file is written
-- to the storage (message_id NULL), and given its message in the message's
-- transaction. An upload that does not become a message is given up
-- (`deleted_at` set while `message_id` is NULL: no message can take it), its
-- file deleted and its row with it; a row still without a message an hour
-- later (its node died) is swept the same way. The retention sweep deletes old
-- files of messages and marks their rows `deleted_at`.
-- The message row keeps a copy of what it shows (`support_messages.attachments`,
-- a JSON array), so history reads need no join.
CREATE TABLE support_attachments (
    id           BIGSERIAL   PRIMARY KEY,
    ticket_id    BIGINT      NOT NULL REFERENCES support_tickets(id),
    message_id   BIGINT      REFERENCES support_messages(id),
    storage_key  TEXT        NOT NULL UNIQUE,
    filename     TEXT        NOT NULL,
    content_type TEXT        NOT NULL,
    size         BIGINT      NOT NULL DEFAULT 0,
    width        INTEGER,
    height       INTEGER,
    created_at   TIMESTAMPTZ NOT NULL,
    deleted_at   TIMESTAMPTZ
);

-- The sweeps: orphans and retention, oldest first.
CREATE INDEX idx_support_attachments_created_at ON support_attachments(created_at);

ALTER TABLE support_messages ADD COLUMN attachments TEXT;
