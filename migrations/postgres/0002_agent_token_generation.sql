-- Agent tokens carry the generation they were issued under; logging out,
-- disabling an agent or resetting its password moves the generation on, which
-- revokes every token issued before.
ALTER TABLE support_agents ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
