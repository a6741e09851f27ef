// @vitest-environment node
// Messages are always text: no source file may render HTML from strings.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('no HTML rendering from strings', () => {
  it('uses no dangerouslySetInnerHTML, innerHTML, outerHTML, insertAdjacentHTML or document.write', () => {
    const offenders = sources(SRC).filter((file) =>
      /dangerouslySetInnerHTML|\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write/.test(readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('has no inline scripts in the HTML pages (the server sends script-src \'self\')', () => {
    for (const page of ['chat.html', 'dashboard.html', 'demo.html']) {
      const html = readFileSync(resolve(SRC, '..', page), 'utf8');
      const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter(([, attrs, body]) => !/\bsrc=/.test(attrs) || body.trim() !== '');
      expect(inline, page).toEqual([]);
      expect(html, page).not.toMatch(/\son[a-z]+=/i);
    }
  });
});
