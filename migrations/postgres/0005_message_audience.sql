-- Who may see a message: 'all' (the visitor and agents) or 'agents' (internal
-- notes: assignment, priority, workflow steps). Visitors are sent an agents-only
-- message as a content-free placeholder in its seq slot, so their seq stays
-- gapless. Every row stored before this migration was shown to everyone.
ALTER TABLE support_messages
    ADD COLUMN audience TEXT NOT NULL DEFAULT 'all' CHECK (audience IN ('all', 'agents'));
