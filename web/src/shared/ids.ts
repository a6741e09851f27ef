// Idempotency keys for chat messages (API.md: client_msg_id, at most 64 characters).
// crypto.getRandomValues works in insecure contexts too, unlike crypto.randomUUID.

export function newClientMsgId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
