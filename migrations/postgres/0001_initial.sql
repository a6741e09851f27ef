-- The original design's tables and indexes, plus seq numbering, idempotency keys,
-- agent accounts and node liveness. Same numbering and names as migrations/sqlite.

CREATE TABLE support_agents (
    id            BIGSERIAL   PRIMARY KEY,
    email         TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    role          TEXT        NOT NULL DEFAULT 'agent' CHECK (role IN ('admin', 'agent')),
    disabled      BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT support_agents_email_key UNIQUE (email)
);

CREATE TABLE support_tickets (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      TEXT,
    supporter_id BIGINT      REFERENCES support_agents(id) ON DELETE SET NULL,
    subject      TEXT        NOT NULL,
    status       TEXT        NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'assigned', 'in_progress', 'resolved', 'closed')),
    priority     TEXT        NOT NULL DEFAULT 'medium'
                 CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    session_id   TEXT        NOT NULL,
    user_email   TEXT,
    user_name    TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    closed_at    TIMESTAMPTZ,
    last_seq     BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT support_tickets_session_id_key UNIQUE (session_id)
);

CREATE INDEX idx_support_tickets_user_id      ON support_tickets(user_id);
CREATE INDEX idx_support_tickets_supporter_id ON support_tickets(supporter_id);
CREATE INDEX idx_support_tickets_status       ON support_tickets(status);
CREATE INDEX idx_support_tickets_session_id   ON support_tickets(session_id);
CREATE INDEX idx_support_tickets_created_at   ON support_tickets(created_at);

CREATE TABLE support_messages (
    id            BIGSERIAL   PRIMARY KEY,
    ticket_id     BIGINT      NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    seq           BIGINT      NOT NULL,
    sender_id     BIGINT      REFERENCES support_agents(id) ON DELETE SET NULL,
    sender_type   TEXT        NOT NULL CHECK (sender_type IN ('user', 'supporter', 'system')),
    sender_name   TEXT,
    message       TEXT        NOT NULL,
    is_read       BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    client_msg_id TEXT,
    CONSTRAINT support_messages_ticket_seq_key UNIQUE (ticket_id, seq),
    CONSTRAINT support_messages_ticket_client_msg_id_key UNIQUE (ticket_id, client_msg_id)
);

CREATE INDEX idx_support_messages_ticket_id  ON support_messages(ticket_id);
CREATE INDEX idx_support_messages_sender_id  ON support_messages(sender_id);
CREATE INDEX idx_support_messages_created_at ON support_messages(created_at);
CREATE INDEX idx_support_messages_is_read    ON support_messages(is_read);

CREATE TABLE support_sessions (
    id                  BIGSERIAL   PRIMARY KEY,
    ticket_id           BIGINT      NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    user_id             TEXT,
    supporter_id        BIGINT      REFERENCES support_agents(id) ON DELETE SET NULL,
    is_active           BOOLEAN     NOT NULL DEFAULT TRUE,
    started_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    ended_at            TIMESTAMPTZ,
    user_connected      BOOLEAN     NOT NULL DEFAULT FALSE,
    supporter_connected BOOLEAN     NOT NULL DEFAULT FALSE,
    node_id             TEXT        NOT NULL,
    last_seen_at        TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX idx_support_sessions_ticket_id    ON support_sessions(ticket_id);
CREATE INDEX idx_support_sessions_user_id      ON support_sessions(user_id);
CREATE INDEX idx_support_sessions_supporter_id ON support_sessions(supporter_id);
CREATE INDEX idx_support_sessions_is_active    ON support_sessions(is_active);
CREATE INDEX idx_support_sessions_node_id      ON support_sessions(node_id);
