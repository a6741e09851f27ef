-- Presence, capacity and routing (issue 16). Same numbering and names as
-- migrations/postgres.
--
-- An agent's status is computed when read, from the database's clock: their
-- dashboard sockets (one row each, counted while its node's heartbeat is fresh
-- and the socket is open or closed less than a grace ago: `counts_until`), the
-- away they chose, and their last activity. Timestamps judged by the database's
-- clock (last_activity_at, last_assigned_at, counts_until) are written with it.
ALTER TABLE support_agents ADD COLUMN max_chats INTEGER NOT NULL DEFAULT 3
    CHECK (max_chats BETWEEN 0 AND 50);
ALTER TABLE support_agents ADD COLUMN away_chosen BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE support_agents ADD COLUMN last_activity_at TEXT;
ALTER TABLE support_agents ADD COLUMN last_assigned_at TEXT;

CREATE TABLE support_agent_sockets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id     INTEGER     NOT NULL REFERENCES support_agents(id) ON DELETE CASCADE,
    node_id      TEXT        NOT NULL,
    opened_at    TEXT NOT NULL,
    -- NULL while open; once closed, the socket keeps the agent connected until
    -- then (a reload or a short drop is not going offline).
    counts_until TEXT
);

CREATE INDEX idx_support_agent_sockets_agent_id ON support_agent_sockets(agent_id);
CREATE INDEX idx_support_agent_sockets_node_id  ON support_agent_sockets(node_id);

-- One row of settings as JSON text, so later settings need no migration (the
-- service fills in defaults for fields the row does not have).
CREATE TABLE support_settings (
    id         INTEGER     PRIMARY KEY CHECK (id = 1),
    body       TEXT        NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO support_settings (id, body, updated_at) VALUES (1, '{}', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));

-- The waiting queue (open, nobody on it), in the order auto-assignment and
-- queue positions read it: small, so the priority rank is sorted, not indexed.
CREATE INDEX idx_support_tickets_waiting ON support_tickets(priority, created_at, id)
    WHERE status = 'open' AND supporter_id IS NULL;
