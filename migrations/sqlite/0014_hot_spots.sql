-- Issue 20: the database's hot spots (plans before and after in docs/PERFORMANCE.md).

-- Messages: indexes nothing reads any more. Every message paid for each of them.
-- (ticket_id) is the prefix of the (ticket_id, seq) key; no statement filters
-- messages by created_at or sender_id alone (agents are disabled, never
-- deleted); is_read alone is a boolean, and the unread counts below have an
-- index of their own.
DROP INDEX IF EXISTS idx_support_messages_ticket_id;
DROP INDEX IF EXISTS idx_support_messages_created_at;
DROP INDEX IF EXISTS idx_support_messages_sender_id;
DROP INDEX IF EXISTS idx_support_messages_is_read;

-- Every ticket read counts the viewer's unread messages: only the unread ones
-- are in this index, so the count reads those and nothing else.
CREATE INDEX idx_support_messages_unread ON support_messages(ticket_id, sender_type)
    WHERE is_read = FALSE AND audience = 'all';

-- Tickets: the session key is unique already.
DROP INDEX IF EXISTS idx_support_tickets_session_id;

-- The queue's place of a priority (urgent 0 … low 3) (it was a CASE in every ORDER BY: a list of all tickets
-- sorted every ticket), indexed in the queue's order (ascending, so that a page's
-- cursor is one row comparison), with and without a status filter. (status, ...) also serves what idx_support_tickets_status did. SQLite
-- adds a generated column as VIRTUAL: the indexes store it.
ALTER TABLE support_tickets ADD COLUMN queue_rank INTEGER GENERATED ALWAYS AS (
    CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END
) VIRTUAL;
CREATE INDEX idx_support_tickets_queue ON support_tickets(queue_rank, id);
CREATE INDEX idx_support_tickets_status_queue ON support_tickets(status, queue_rank, id);
DROP INDEX IF EXISTS idx_support_tickets_status;

-- Search (`q`): substring matches of 3 characters or more by FTS5's trigram
-- tokenizer instead of a scan of every message. The messages' index reads the
-- text from support_messages (external content); the tickets' keeps its own
-- copy of subject, name and email, written when they change, not on each message.
CREATE VIRTUAL TABLE support_messages_search USING fts5(
    message, content = 'support_messages', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO support_messages_search (support_messages_search) VALUES ('rebuild');
CREATE TRIGGER support_messages_search_insert AFTER INSERT ON support_messages BEGIN
    INSERT INTO support_messages_search (rowid, message) VALUES (new.id, new.message);
END;
CREATE TRIGGER support_messages_search_delete AFTER DELETE ON support_messages BEGIN
    INSERT INTO support_messages_search (support_messages_search, rowid, message)
    VALUES ('delete', old.id, old.message);
END;
CREATE TRIGGER support_messages_search_update AFTER UPDATE OF message ON support_messages BEGIN
    INSERT INTO support_messages_search (support_messages_search, rowid, message)
    VALUES ('delete', old.id, old.message);
    INSERT INTO support_messages_search (rowid, message) VALUES (new.id, new.message);
END;

CREATE VIRTUAL TABLE support_tickets_search USING fts5(
    subject, user_name, user_email, tokenize = 'trigram'
);
INSERT INTO support_tickets_search (rowid, subject, user_name, user_email)
    SELECT id, subject, user_name, COALESCE(user_email, '') FROM support_tickets;
CREATE TRIGGER support_tickets_search_insert AFTER INSERT ON support_tickets BEGIN
    INSERT INTO support_tickets_search (rowid, subject, user_name, user_email)
    VALUES (new.id, new.subject, new.user_name, COALESCE(new.user_email, ''));
END;
CREATE TRIGGER support_tickets_search_update AFTER UPDATE OF subject, user_name, user_email
    ON support_tickets BEGIN
    DELETE FROM support_tickets_search WHERE rowid = old.id;
    INSERT INTO support_tickets_search (rowid, subject, user_name, user_email)
    VALUES (new.id, new.subject, new.user_name, COALESCE(new.user_email, ''));
END;
CREATE TRIGGER support_tickets_search_delete AFTER DELETE ON support_tickets BEGIN
    DELETE FROM support_tickets_search WHERE rowid = old.id;
END;
