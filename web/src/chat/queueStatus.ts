// What the visitor reads while waiting for an agent (issue 16): their place in the
// queue, or, when no agent is online, an honest word that nobody is there right now.

import type { QueueState } from '../shared/conversation';
import type { MessageKey } from '../shared/i18n/en';

export interface QueueText {
  key: MessageKey;
  params?: Record<string, number>;
}

/** The line to show, or null (not waiting, an agent is here, or the chat has ended). */
export function queueText(queue: QueueState | null, waitingForAgent: boolean): QueueText | null {
  if (!waitingForAgent || queue === null) return null;
  if (queue.agentsOnline === 0) return { key: 'queue.nobodyOnline' };
  if (queue.position === 1) return { key: 'queue.next' };
  return { key: 'queue.position', params: { position: queue.position } };
}
