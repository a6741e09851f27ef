// Presence and capacity of the team (issue 16), framework-free: the agents list kept
// live from `agent_updated` frames, how an agent is described in pickers ("Bob ·
// online · 2/3"), and the activity reporter that keeps the signed-in agent online.

import type { Agent, AgentStatus, Ticket } from '../shared/protocol';
import type { Scheduler } from '../shared/socket';

/** How often, at most, the dashboard tells the server the agent is at work (API.md `activity`). */
export const ACTIVITY_INTERVAL_MS = 60_000;

export const AGENT_STATUS_LABELS: Readonly<Record<AgentStatus, string>> = {
  online: 'online',
  away: 'away',
  offline: 'offline',
};

/** An agent's status; a server before issue 16 only says `online: bool`. */
export function statusOf(agent: Pick<Agent, 'status' | 'online'>): AgentStatus {
  return agent.status ?? (agent.online ? 'online' : 'offline');
}

/** "2/3": open chats of the most auto-assignment gives; null when the server does not say. */
export function loadLabel(agent: Pick<Agent, 'open_chats' | 'max_chats'>): string | null {
  if (agent.open_chats === undefined || agent.max_chats === undefined) return null;
  return `${agent.open_chats}/${agent.max_chats}`;
}

/** "Bob · online · 2/3", as the transfer picker lists a teammate. */
export function describeAgent(agent: Agent): string {
  const load = loadLabel(agent);
  return [agent.name, AGENT_STATUS_LABELS[statusOf(agent)], ...(load === null ? [] : [load])].join(' · ');
}

/** Replaces the agent with the same id, or adds it (a new teammate); keeps the order by name. */
export function upsertAgent(agents: readonly Agent[], agent: Agent): Agent[] {
  const at = agents.findIndex((a) => a.id === agent.id);
  if (at >= 0) {
    const next = agents.slice();
    next[at] = { ...agents[at], ...agent };
    return next;
  }
  return [...agents, agent].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
}

const STATUS_ORDER: Readonly<Record<AgentStatus, number>> = { online: 0, away: 1, offline: 2 };

/** Whom to offer first for a transfer: online before away before offline, then the least loaded. */
export function byAvailability(a: Agent, b: Agent): number {
  const s = STATUS_ORDER[statusOf(a)] - STATUS_ORDER[statusOf(b)];
  if (s !== 0) return s;
  const room = (x: Agent): number => (x.max_chats ?? 0) - (x.open_chats ?? 0);
  return room(b) - room(a) || a.name.localeCompare(b.name);
}

/**
 * Whether a ticket copy gives the ticket to me now without my asking (auto-assignment,
 * a teammate's transfer): it names me, the copy held before did not, it is still
 * being worked on, and no Join / Assign to me of mine is on its way (`takingMyself`).
 */
export function isGivenToMe(before: Pick<Ticket, 'supporter_id'> | undefined, after: Pick<Ticket, 'supporter_id' | 'status'>, me: number, takingMyself: boolean): boolean {
  if (after.supporter_id !== me || before?.supporter_id === me) return false;
  if (after.status === 'closed' || after.status === 'resolved') return false;
  return !takingMyself;
}

/**
 * Tells the server the agent is using the dashboard, at most once per interval: the
 * first input sends at once; input during the following interval is remembered and
 * sent once when it ends (so the server's idea of "last active" is never more than an
 * interval late, which matters when `away_after_minutes` is small). A send that fails
 * (the feed is not open) is not counted: the next input tries again.
 */
export class ActivityReporter {
  private lastSent: number | null = null;
  private pending = false;
  private timer: number | null = null;

  constructor(
    private readonly send: () => boolean,
    private readonly scheduler: Scheduler,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = ACTIVITY_INTERVAL_MS,
  ) {}

  /** The agent pressed a key, clicked, touched or focused the page. */
  input(): void {
    const now = this.now();
    if (this.lastSent === null || now - this.lastSent >= this.intervalMs) {
      this.flush();
      return;
    }
    this.pending = true;
    if (this.timer === null) {
      this.timer = this.scheduler.setTimeout(() => {
        this.timer = null;
        if (this.pending) this.flush();
      }, this.lastSent + this.intervalMs - now);
    }
  }

  /** The feed reopened: the server counts that as activity itself. */
  connected(): void {
    this.lastSent = this.now();
    this.pending = false;
  }

  stop(): void {
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
    this.pending = false;
    this.lastSent = null;
  }

  private flush(): void {
    this.pending = false;
    if (this.send()) this.lastSent = this.now();
  }
}
