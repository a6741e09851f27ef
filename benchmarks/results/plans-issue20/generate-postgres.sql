INSERT INTO support_agents (email, name, password_hash, role, created_at) VALUES ('a@example.com','Agent A','x','admin',now());
INSERT INTO support_tickets (subject, status, priority, session_id, user_email, user_name, created_at, updated_at, last_seq, last_public_seq, supporter_id)
SELECT 'Order ' || g || ' ' || (ARRAY['refund','delivery','invoice','password','coupon','shipping','damaged','tracking'])[1 + g % 8],
  CASE WHEN g > 990000 THEN (ARRAY['open','assigned','in_progress','resolved'])[1 + g % 4] ELSE 'closed' END,
  (ARRAY['low','medium','high','urgent'])[1 + (g / 7) % 4],
  'sess-' || g, 'user' || g || '@example.com', 'Visitor ' || g,
  timestamptz '2025-12-01' + g * interval '30 seconds', timestamptz '2025-12-01' + g * interval '30 seconds',
  CASE WHEN g > 900000 THEN 10 ELSE 0 END, CASE WHEN g > 900000 THEN 10 ELSE 0 END,
  CASE WHEN g > 990000 AND g % 4 = 0 THEN NULL ELSE 1 END
FROM generate_series(1, 1000000) g;
INSERT INTO support_messages (ticket_id, seq, public_seq, sender_type, sender_id, sender_name, message, is_read, created_at)
SELECT t, s, s, CASE WHEN s % 2 = 1 THEN 'user' ELSE 'supporter' END, CASE WHEN s % 2 = 1 THEN NULL ELSE 1 END, 'x',
  (ARRAY['hello','my','order','has','not','arrived','yet','can','you','check','the','tracking','number','please','thanks','refund','parcel','damaged','invoice','address'])[1 + (t * 7 + s * 3) % 20] || ' ' ||
  (ARRAY['where','is','package','shipped','last','week','still','waiting','for','delivery','status','update','coupon','code','expired','wrong','size','return','label','today'])[1 + (t * 13 + s) % 20] || ' ' ||
  md5(t::text || '-' || s::text) || ' ' ||
  (ARRAY['kind','regards','best','cheers','thank','you','so','much','bye','now'])[1 + (t + s) % 10],
  CASE WHEN t > 990000 AND s >= 9 THEN FALSE ELSE TRUE END,
  timestamptz '2025-12-01' + t * interval '30 seconds' + s * interval '5 seconds'
FROM generate_series(900001, 1000000) t, generate_series(1, 10) s;
ANALYZE;
