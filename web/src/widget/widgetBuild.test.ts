// @vitest-environment node
// Builds widget.js exactly as `npm run build` does (into a temp dir) and checks the
// promises made about it: one self-contained classic script, at most 10 KB gzipped.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';

const WEB = resolve(import.meta.dirname, '../..');
const MAX_GZIP_BYTES = 10 * 1024;
let out = '';
let code = '';

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'livesupport-widget-'));
  await build({
    configFile: join(WEB, 'vite.widget.config.ts'),
    root: WEB,
    logLevel: 'silent',
    build: { outDir: out, emptyOutDir: true },
  });
  code = readFileSync(join(out, 'widget.js'), 'utf8');
}, 60_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('dist/widget.js', () => {
  it(`is at most ${MAX_GZIP_BYTES} bytes gzipped`, () => {
    const size = gzipSync(code, { level: 9 }).length;
    expect(size).toBeGreaterThan(500);
    expect(size).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  });

  it('is one self-contained IIFE: no imports, no exports, no global but window.LiveSupport', () => {
    expect(code.trimStart().startsWith('(function')).toBe(true);
    expect(code).not.toMatch(/\bimport\s*[({'"`]/);
    expect(code).not.toMatch(/\bexport\s/);
    expect(code).not.toMatch(/^var /m);
    expect(code).toContain('LiveSupport');
    expect(code).toContain('/support/chat');
  });

  it('draws nothing from the host page into HTML (no innerHTML, no eval)', () => {
    expect(code).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });
});
