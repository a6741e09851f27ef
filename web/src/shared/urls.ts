// WebSocket URLs are derived from the page's own location: the chat app and the
// dashboard are both served by the service, so ws(s)://<same host>/ws/... is right.

import type { FeedScope } from './protocol';

export interface LocationLike {
  protocol: string;
  host: string;
}

export function wsUrl(path: string, query: Record<string, string | number | undefined> = {}, loc: LocationLike = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return `${scheme}//${loc.host}${path}${params.length ? `?${params.join('&')}` : ''}`;
}

export const guestSocketPath = (sessionId: string): string => `/ws/support/user/${encodeURIComponent(sessionId)}`;
export const supporterSocketPath = (sessionId: string): string => `/ws/support/supporter/${encodeURIComponent(sessionId)}`;
export const AGENT_FEED_PATH = '/ws/support/agent';

/** The agent feed with its scope (API.md "The feed"): the server's default is `all`. */
export const agentFeedUrl = (scope: FeedScope, loc: LocationLike = location): string => wsUrl(AGENT_FEED_PATH, { scope }, loc);
