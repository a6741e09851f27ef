-- A client_msg_id is its sender's idempotency key: unique per ticket, sender type
-- and sender id, no longer per ticket, so an agent reusing a key a visitor used
-- (or another agent) stores its message. sender_id is NULL for visitors and
-- system notes, and NULLs are distinct in a unique index, so the index takes
-- COALESCE(sender_id, 0) (agent ids start at 1): one visitor's resends still
-- conflict. The old key is stricter than the new one, so no row of a populated
-- table can break the new index.
--
-- SQLite cannot drop a table constraint: the table is rebuilt (nothing references
-- support_messages, so no foreign key is touched), keeping every row, its id and
-- the AUTOINCREMENT counter.
CREATE TABLE support_messages_rebuilt (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id     INTEGER NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    sender_id     INTEGER REFERENCES support_agents(id) ON DELETE SET NULL,
    sender_type   TEXT    NOT NULL CHECK (sender_type IN ('user', 'supporter', 'system')),
    sender_name   TEXT,
    message       TEXT    NOT NULL,
    is_read       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT    NOT NULL,
    client_msg_id TEXT,
    CONSTRAINT support_messages_ticket_seq_key UNIQUE (ticket_id, seq)
);

INSERT INTO support_messages_rebuilt
    (id, ticket_id, seq, sender_id, sender_type, sender_name, message, is_read, created_at, client_msg_id)
SELECT id, ticket_id, seq, sender_id, sender_type, sender_name, message, is_read, created_at, client_msg_id
FROM support_messages;

-- Ids are never reused, even those of rows no longer in the table.
DELETE FROM sqlite_sequence WHERE name = 'support_messages_rebuilt';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'support_messages_rebuilt', seq FROM sqlite_sequence WHERE name = 'support_messages';

DROP TABLE support_messages;
ALTER TABLE support_messages_rebuilt RENAME TO support_messages;

CREATE UNIQUE INDEX support_messages_sender_client_msg_id_key
    ON support_messages (ticket_id, sender_type, COALESCE(sender_id, 0), client_msg_id);
CREATE INDEX idx_support_messages_ticket_id  ON support_messages(ticket_id);
CREATE INDEX idx_support_messages_sender_id  ON support_messages(sender_id);
CREATE INDEX idx_support_messages_created_at ON support_messages(created_at);
CREATE INDEX idx_support_messages_is_read    ON support_messages(is_read);
