// The team as the dashboard knows it (issue 16), framework-free: every agent with
// status, capacity and load, read through REST (at sign-in and on every feed opening)
// and kept live from the feed's `agent_updated` frames, an unknown agent being added.
// Reading it is background work: a failure leaves the last list in place.

import type { ApiClient } from '../shared/api';
import type { Agent } from '../shared/protocol';
import { Store } from '../shared/store';
import { upsertAgent } from './presence';

export interface TeamState {
  /** By name; disabled agents included (the admin's team list shows them). */
  agents: Agent[];
}

export class Team {
  readonly store = new Store<TeamState>({ agents: [] });

  constructor(private readonly api: ApiClient) {}

  get agents(): Agent[] {
    return this.store.get().agents;
  }

  /** Reads the team; rejects with the server's error (the caller decides about a 401). */
  async load(): Promise<Agent[]> {
    const { agents } = await this.api.listAgents();
    let merged: Agent[] = [];
    for (const a of agents) merged = upsertAgent(merged, a);
    this.store.set({ agents: merged });
    return merged;
  }

  /** A newer copy of one agent (a feed frame, a REST answer). */
  apply(agent: Agent): void {
    this.store.set({ agents: upsertAgent(this.agents, agent) });
  }

  /** Admins: how many chats auto-assignment may give the agent; rejects with the server's error. */
  async setMaxChats(agentId: number, maxChats: number): Promise<Agent> {
    const updated = await this.api.updateAgent(agentId, { max_chats: maxChats });
    this.apply(updated);
    return updated;
  }

  reset(): void {
    this.store.set({ agents: [] });
  }
}
