-- A ticket's presence (its active sessions) is read for every socket that
-- opens. With one index on ticket_id and one on is_active, SQLite's planner
-- (no statistics) took is_active: every read walked all active sessions,
-- ~0.5 ms at 10,000 of them, quadratic in a reconnect storm. One index on
-- both columns serves that read (and every read by ticket_id alone, so the
-- old one goes).
CREATE INDEX idx_support_sessions_ticket_active ON support_sessions(ticket_id, is_active);
DROP INDEX idx_support_sessions_ticket_id;
