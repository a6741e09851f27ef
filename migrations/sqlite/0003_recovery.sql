-- Recovery without a trigger: the dashboards' feed finds the tickets that changed
-- by updated_at (an index range, not a scan); node liveness is a heartbeat row per
-- node written with the database's clock, so no node judges another by its own
-- clock; ended sessions are pruned by ended_at.
CREATE INDEX idx_support_tickets_updated_at ON support_tickets(updated_at);

CREATE TABLE support_nodes (
    node_id      TEXT NOT NULL PRIMARY KEY,
    heartbeat_at TEXT NOT NULL
);

CREATE INDEX idx_support_sessions_ended_at ON support_sessions(ended_at);
