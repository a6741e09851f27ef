// A fetch that answers from a route table, recording every request.

import type { FetchLike } from '../shared/api';

export type Route = (req: { method: string; url: URL; body: unknown }) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

export function fakeFetch(routes: Route[]) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input, 'http://service.test');
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    calls.push({ method, path: url.pathname + url.search, body });
    for (const route of routes) {
      const res = route({ method, url, body });
      if (res) {
        return new Response(res.body === undefined ? null : JSON.stringify(res.body), {
          status: res.status,
          headers: { 'Content-Type': 'application/json', ...(res.headers ?? {}) },
        });
      }
    }
    return new Response(JSON.stringify({ error: { code: 'not_found', message: 'Not found' } }), { status: 404 });
  };
  return { fetch, calls };
}
