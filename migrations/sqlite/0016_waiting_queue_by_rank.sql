-- The waiting queue (open, nobody on it) in the order auto-assignment and
-- queue positions read it: by the stored rank (0014), then age. 0009 indexed
-- the priority's text, whose order is not the rank's, taking the queue for
-- small enough to sort; a reconnect storm of 10,000 waiting visitors sorted
-- all of them for every batch of queue places. This index gives them in
-- order (and the next ticket to assign at its head).
CREATE INDEX idx_support_tickets_waiting_by_rank ON support_tickets(queue_rank, created_at, id)
    WHERE status = 'open' AND supporter_id IS NULL;
DROP INDEX idx_support_tickets_waiting;
