import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { msg } from '../../test/fakes';
import { FakeXhr, asXhr } from '../../test/fakeXhr';
import { uploadAttachment } from './upload';

const png = () => new File([new Uint8Array([137, 80, 78, 71])], 'screenshot.png', { type: 'image/png' });
const URL_ = '/api/support/ticket/sess-1/attachments';
const stored = msg(9, { message: 'This is what I see', client_msg_id: 'key-1', attachments: [{ id: 17, filename: 'screenshot.png', content_type: 'image/png', size: 4, width: 1280, height: 720, url: '/api/support/attachments/AAA' }] });

function start(caption = 'This is what I see', onProgress?: (l: number, t: number) => void) {
  const handle = uploadAttachment({ url: URL_, file: png(), filename: 'screenshot.png', caption, clientMsgId: 'key-1', onProgress, createXhr: asXhr });
  return { handle, xhr: FakeXhr.last };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('the upload did not fail');
}

describe('uploadAttachment', () => {
  beforeEach(() => FakeXhr.reset());

  it('posts multipart form data with client_msg_id first, then the caption, then the file', () => {
    const { xhr } = start();
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe(URL_);
    expect(xhr.fieldNames).toEqual(['client_msg_id', 'caption', 'file']);
    expect(xhr.body?.get('client_msg_id')).toBe('key-1');
    expect(xhr.body?.get('caption')).toBe('This is what I see');
    expect((xhr.body?.get('file') as File).name).toBe('screenshot.png');
  });

  it('leaves the caption out when there is none', () => {
    const { xhr } = start('   ');
    expect(xhr.fieldNames).toEqual(['client_msg_id', 'file']);
  });

  it('reports upload progress and resolves with the stored message (201)', async () => {
    const seen: [number, number][] = [];
    const { handle, xhr } = start('x', (l, t) => seen.push([l, t]));
    xhr.progress(10, 100);
    xhr.progress(100, 100);
    xhr.respond(201, stored);
    const message = await handle.done;
    expect(seen).toEqual([
      [10, 100],
      [100, 100],
    ]);
    expect(message.seq).toBe(9);
    expect(message.attachments?.[0].url).toBe('/api/support/attachments/AAA');
  });

  it.each([
    [413, 'payload_too_large', undefined, undefined],
    [415, 'unsupported_media_type', undefined, undefined],
    [429, 'rate_limited', { 'Retry-After': '12' }, 12],
    [400, 'validation_failed', undefined, undefined],
  ])('turns a %i into an ApiError carrying the server\'s body', async (status, code, headers, retryAfter) => {
    const { handle, xhr } = start();
    xhr.respond(status, { error: { code, message: `the server says ${code}`, field: 'file' } }, headers);
    const err = await rejection(handle.done);
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
    expect(err.message).toBe(`the server says ${code}`);
    expect(err.retryAfter).toBe(retryAfter);
  });

  it('says network_error when the request fails, and aborted after abort()', async () => {
    const failed = start();
    failed.xhr.fail();
    expect((await rejection(failed.handle.done)).code).toBe('network_error');

    const cancelled = start();
    cancelled.handle.abort();
    expect(cancelled.xhr.aborted).toBe(true);
    expect((await rejection(cancelled.handle.done)).code).toBe('aborted');
  });

  it('refuses a 2xx answer that is not a message', async () => {
    const { handle, xhr } = start();
    xhr.respond(201, { nope: true });
    expect((await rejection(handle.done)).code).toBe('internal');
  });
});
