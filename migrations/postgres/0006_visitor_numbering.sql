-- The visitor's stream numbers public messages only (private notes and the
-- agents' system notes are not in it at all): each message gets its number in
-- that stream, public_seq, allocated from the ticket's last_public_seq in the
-- same transaction as seq. Internal messages have none.
--
-- Rows stored before this migration keep public_seq = seq, agents-only notes
-- included (visitors were sent those as content-free placeholders): so a
-- visitor's `since` from before the upgrade still means the same, and those old
-- notes stay empty lines in the visitor's stream.
ALTER TABLE support_messages ADD COLUMN public_seq BIGINT;
ALTER TABLE support_tickets ADD COLUMN last_public_seq BIGINT NOT NULL DEFAULT 0;
UPDATE support_messages SET public_seq = seq;
UPDATE support_tickets SET last_public_seq = last_seq;
CREATE UNIQUE INDEX support_messages_ticket_public_seq_key
    ON support_messages (ticket_id, public_seq);
-- A node of the previous release, still running during a rolling upgrade, does
-- not number public messages: its insert is refused (the sender is told, and
-- resends to an upgraded node) rather than stored invisible to the visitor.
-- NOT VALID: the rows above were numbered, nothing to scan.
ALTER TABLE support_messages ADD CONSTRAINT support_messages_public_numbered
    CHECK (audience = 'agents' OR public_seq IS NOT NULL) NOT VALID;
