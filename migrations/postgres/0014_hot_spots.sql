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

-- Tickets: the session key is unique already (support_tickets_session_id_key).
DROP INDEX IF EXISTS idx_support_tickets_session_id;

-- The queue's place of a priority (urgent 0 … low 3), stored (it was a CASE in every ORDER BY: a list of all
-- tickets sorted every ticket), and indexed in the queue's order (ascending, so
-- that a page's cursor is one row comparison), with and without a status filter. (status, ...) also serves what idx_support_tickets_status did.
ALTER TABLE support_tickets ADD COLUMN queue_rank SMALLINT GENERATED ALWAYS AS (
    CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END
) STORED;
CREATE INDEX idx_support_tickets_queue ON support_tickets(queue_rank, id);
CREATE INDEX idx_support_tickets_status_queue ON support_tickets(status, queue_rank, id);
DROP INDEX IF EXISTS idx_support_tickets_status;

-- Search (`q`): substring matches by trigram indexes instead of a scan of every
-- message. A ticket's subject, name and email are copied into a table of their
-- own, so that the index is written when they change, not on each message (a
-- message updates its ticket's row).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX idx_support_messages_search ON support_messages USING gin (message gin_trgm_ops);

CREATE TABLE support_ticket_search (
    ticket_id  BIGINT PRIMARY KEY REFERENCES support_tickets(id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    user_email TEXT NOT NULL
);
INSERT INTO support_ticket_search (ticket_id, subject, user_name, user_email)
    SELECT id, subject, user_name, COALESCE(user_email, '') FROM support_tickets;
CREATE INDEX idx_support_ticket_search ON support_ticket_search
    USING gin (subject gin_trgm_ops, user_name gin_trgm_ops, user_email gin_trgm_ops);

CREATE FUNCTION support_ticket_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO support_ticket_search (ticket_id, subject, user_name, user_email)
    VALUES (NEW.id, NEW.subject, NEW.user_name, COALESCE(NEW.user_email, ''))
    ON CONFLICT (ticket_id) DO UPDATE SET subject = EXCLUDED.subject,
        user_name = EXCLUDED.user_name, user_email = EXCLUDED.user_email;
    RETURN NULL;
END
$$;
CREATE TRIGGER support_ticket_search_sync AFTER INSERT OR UPDATE OF subject, user_name, user_email
    ON support_tickets FOR EACH ROW EXECUTE FUNCTION support_ticket_search_sync();
