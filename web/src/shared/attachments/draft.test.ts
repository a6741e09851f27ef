import { describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { english } from '../i18n/translate';
import { msg } from '../../test/fakes';
import { AttachmentDraft, problemOf } from './draft';
import { problemText } from './problemText';
import type { UploadFn, UploadRequest } from './upload';
import type { ChatMessage } from '../protocol';

/** An upload function whose calls the test settles by hand. */
function fakeUpload() {
  const calls: { req: Omit<UploadRequest, 'url' | 'createXhr'>; resolve: (m: ChatMessage) => void; reject: (e: unknown) => void; aborted: boolean }[] = [];
  const upload: UploadFn = (req) => {
    let resolve!: (m: ChatMessage) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<ChatMessage>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    const call = { req, resolve, reject, aborted: false };
    calls.push(call);
    return {
      done,
      abort: () => {
        call.aborted = true;
        reject(new ApiError(0, { code: 'aborted', message: 'cancelled' }));
      },
    };
  };
  return { upload, calls };
}

const pdf = (size = 2048) => new File([new Uint8Array(size)], 'invoice.pdf', { type: 'application/pdf' });
const tick = () => new Promise((r) => setTimeout(r, 0));
let ids = 0;
const newId = () => `key-${++ids}`;

describe('AttachmentDraft', () => {
  it('refuses an empty file and one over 10 MiB before any upload', () => {
    const { upload, calls } = fakeUpload();
    const draft = new AttachmentDraft({ upload, onSent: () => undefined, newId });
    draft.pick(pdf(0));
    expect(draft.state.problem).toEqual({ kind: 'empty' });
    draft.pick(pdf(10 * 1024 * 1024 + 1));
    expect(draft.state.file).toBeNull();
    expect(problemText(draft.state.problem!, english)).toBe('This file is too large: the limit is 10 MB.');
    expect(draft.send('')).toBe(false);
    expect(calls).toHaveLength(0);
  });

  it('uploads with progress, then hands the stored message on and empties itself', async () => {
    const { upload, calls } = fakeUpload();
    const sent: ChatMessage[] = [];
    const draft = new AttachmentDraft({ upload, onSent: (m) => sent.push(m), newId });
    draft.pick(pdf());
    expect(draft.state.phase).toBe('ready');
    expect(draft.send('the invoice')).toBe(true);
    expect(draft.state.phase).toBe('uploading');
    expect(calls[0].req.caption).toBe('the invoice');
    expect(calls[0].req.filename).toBe('invoice.pdf');
    calls[0].req.onProgress?.(512, 2048);
    expect(draft.state.progress).toBe(0.25);
    calls[0].resolve(msg(4));
    await tick();
    expect(sent.map((m) => m.seq)).toEqual([4]);
    expect(draft.state).toMatchObject({ file: null, phase: 'idle', problem: null });
  });

  it('retries a network failure with the same client_msg_id and caption', async () => {
    const { upload, calls } = fakeUpload();
    const draft = new AttachmentDraft({ upload, onSent: () => undefined, newId });
    draft.pick(pdf());
    draft.send('caption one');
    calls[0].reject(new ApiError(0, { code: 'network_error', message: 'offline' }));
    await tick();
    expect(draft.state).toMatchObject({ phase: 'failed', retryable: true, problem: { kind: 'network' } });
    draft.retry();
    expect(calls).toHaveLength(2);
    expect(calls[1].req.clientMsgId).toBe(calls[0].req.clientMsgId);
    expect(calls[1].req.caption).toBe('caption one');
  });

  it('a new file gets a new client_msg_id', async () => {
    const { upload, calls } = fakeUpload();
    const draft = new AttachmentDraft({ upload, onSent: () => undefined, newId });
    draft.pick(pdf());
    draft.send('');
    calls[0].resolve(msg(1));
    await tick();
    draft.pick(pdf());
    draft.send('');
    expect(calls[1].req.clientMsgId).not.toBe(calls[0].req.clientMsgId);
  });

  it('does not offer a retry for a refused type, and names the type the server found', async () => {
    const { upload, calls } = fakeUpload();
    const draft = new AttachmentDraft({ upload, onSent: () => undefined, newId });
    draft.pick(pdf());
    draft.send('');
    calls[0].reject(new ApiError(415, { code: 'unsupported_media_type', message: 'files of type image/svg+xml are not accepted' }));
    await tick();
    expect(draft.state.retryable).toBe(false);
    expect(problemText(draft.state.problem!, english)).toBe('Files of type image/svg+xml cannot be sent.');
  });

  it('Cancel aborts the upload in progress, says nothing, and gives the caption back', async () => {
    const { upload, calls } = fakeUpload();
    const draft = new AttachmentDraft({ upload, onSent: () => undefined, newId });
    draft.pick(pdf());
    draft.send('keep me');
    expect(draft.cancel()).toBe('keep me');
    expect(calls[0].aborted).toBe(true);
    await tick();
    expect(draft.state).toMatchObject({ file: null, phase: 'idle', problem: null });
  });

  it('Cancel before sending just drops the file', () => {
    const { upload } = fakeUpload();
    const draft = new AttachmentDraft({ upload, onSent: () => undefined, newId });
    draft.pick(pdf());
    expect(draft.cancel()).toBeNull();
    expect(draft.state.file).toBeNull();
  });
});

describe('problemOf + problemText: the server\'s errors in plain words', () => {
  const say = (err: ApiError) => problemText(problemOf(err), english);
  it.each([
    [new ApiError(413, { code: 'payload_too_large', message: 'x' }), 'This file is too large: the limit is 10 MB.'],
    [new ApiError(413, { code: 'payload_too_large', message: 'the file is larger than the limit of 5242880 bytes' }), 'This file is too large: the limit is 5 MB.'],
    [new ApiError(415, { code: 'unsupported_media_type', message: 'refused' }), 'This type of file cannot be sent.'],
    [new ApiError(429, { code: 'rate_limited', message: 'x' }, 30), 'Too many files at once. Please wait 30 seconds, then try again.'],
    [new ApiError(429, { code: 'rate_limited', message: 'x' }), 'Too many files at once. Please wait a moment, then try again.'],
    [new ApiError(503, { code: 'unavailable', message: 'x' }), 'The service is busy. Please try again in a moment.'],
    [new ApiError(409, { code: 'ticket_closed', message: 'x' }), 'This chat has ended.'],
    [new ApiError(400, { code: 'validation_failed', message: 'the image is too large', field: 'file' }), 'The file could not be sent: the image is too large'],
    [new ApiError(0, { code: 'network_error', message: 'x' }), 'The upload failed: check your connection, then try again.'],
  ])('%#', (err, text) => {
    expect(say(err)).toBe(text);
  });
});
