-- A client_msg_id is its sender's idempotency key: unique per ticket, sender type
-- and sender id, no longer per ticket, so an agent reusing a key a visitor used
-- (or another agent) stores its message. sender_id is NULL for visitors and
-- system notes, and NULLs are distinct in a unique index, so the index takes
-- COALESCE(sender_id, 0) (agent ids start at 1): one visitor's resends still
-- conflict. The old key is stricter than the new one, so no row of a populated
-- table can break the new index.
CREATE UNIQUE INDEX support_messages_sender_client_msg_id_key
    ON support_messages (ticket_id, sender_type, (COALESCE(sender_id, 0)), client_msg_id);

ALTER TABLE support_messages DROP CONSTRAINT support_messages_ticket_client_msg_id_key;
