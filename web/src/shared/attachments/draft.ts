// The file waiting in a composer, framework-free (both the visitor's chat app and each
// dashboard chat hold one): picked (button, paste or drop) → previewed → uploading
// (with progress, cancellable) → sent, or failed with the reason and, when trying
// again can help, a retry that reuses the same client_msg_id (the server answers a
// resend with the first message instead of storing the file twice).

import { ApiError } from '../api';
import { newClientMsgId } from '../ids';
import type { ChatMessage } from '../protocol';
import { Store } from '../store';
import { MAX_UPLOAD_BYTES } from './format';
import { ABORTED, type UploadFn, type UploadHandle } from './upload';

/** Why a file is not sent, worded later in the reader's language (see uploadErrorText). */
export type UploadProblem =
  | { kind: 'too_large'; limit: number }
  | { kind: 'empty' }
  | { kind: 'type'; type: string | null }
  | { kind: 'rate_limited'; retryAfter: number | null }
  | { kind: 'busy' }
  | { kind: 'network' }
  | { kind: 'ended' }
  | { kind: 'refused'; reason: string }
  | { kind: 'failed' };

export interface AttachmentDraftState {
  file: File | null;
  /** A data: URL of an image file, for its thumbnail (the pages' CSP allows data:, not blob:). */
  previewUrl: string | null;
  phase: 'idle' | 'ready' | 'uploading' | 'failed';
  /** 0..1 while uploading. */
  progress: number;
  problem: UploadProblem | null;
  /** Whether the failed upload may go again as it is (same key, same caption). */
  retryable: boolean;
}

const EMPTY: AttachmentDraftState = { file: null, previewUrl: null, phase: 'idle', progress: 0, problem: null, retryable: false };

/** The limit the server named in its 413 message ("… the limit of 10485760 bytes"),
 *  else the default: the server's configuration wins over ours. */
function limitIn(message: string): number {
  const bytes = Number(/(\d+) bytes/.exec(message)?.[1]);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : MAX_UPLOAD_BYTES;
}

/** A MIME type the server named in its 415 message ("… image/svg+xml …"). */
function typeIn(message: string): string | null {
  return /\b[a-z]+\/[a-z0-9.+-]+/i.exec(message)?.[0] ?? null;
}

/** What went wrong, from the server's error (or the request's failure). */
export function problemOf(err: unknown): UploadProblem {
  if (!(err instanceof ApiError)) return { kind: 'failed' };
  if (err.code === 'network_error') return { kind: 'network' };
  switch (err.status) {
    case 413:
      return { kind: 'too_large', limit: limitIn(err.message) };
    case 415:
      return { kind: 'type', type: typeIn(err.message) };
    case 429:
      return { kind: 'rate_limited', retryAfter: err.retryAfter ?? null };
    case 503:
      return { kind: 'busy' };
    case 404:
    case 409:
      return { kind: 'ended' };
    case 400:
      return { kind: 'refused', reason: err.message };
    default:
      return { kind: 'failed' };
  }
}

const RETRYABLE: ReadonlySet<UploadProblem['kind']> = new Set(['rate_limited', 'busy', 'network', 'failed']);

/** A check before any upload: the server would refuse these anyway. */
export function precheck(file: File, maxBytes = MAX_UPLOAD_BYTES): UploadProblem | null {
  if (file.size === 0) return { kind: 'empty' };
  if (file.size > maxBytes) return { kind: 'too_large', limit: maxBytes };
  return null;
}

export interface AttachmentDraftOptions {
  upload: UploadFn;
  /** The stored message (the upload's 201): shown at once; its socket copy is the same seq. */
  onSent: (message: ChatMessage) => void;
  /** Reads an image as a data: URL for its preview (tests stub it). */
  readPreview?: (file: File) => Promise<string>;
  newId?: () => string;
}

export function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => (typeof reader.result === 'string' ? resolve(reader.result) : reject(new Error('no data URL')));
    reader.onerror = () => reject(reader.error ?? new Error('unreadable'));
    reader.readAsDataURL(file);
  });
}

export class AttachmentDraft {
  readonly store = new Store<AttachmentDraftState>(EMPTY);
  private handle: UploadHandle | null = null;
  /** Kept from the first try until the file is stored or dropped, so a retry stores it once. */
  private clientMsgId: string | null = null;
  private caption = '';

  constructor(private readonly opts: AttachmentDraftOptions) {}

  get state(): AttachmentDraftState {
    return this.store.get();
  }

  /** A file was chosen, pasted or dropped: it replaces any file not yet on its way. */
  pick(file: File): void {
    if (this.state.phase === 'uploading') return;
    this.clientMsgId = null;
    const problem = precheck(file);
    if (problem) {
      this.store.set({ ...EMPTY, problem });
      return;
    }
    this.store.set({ ...EMPTY, file, phase: 'ready' });
    if (file.type.startsWith('image/')) {
      (this.opts.readPreview ?? readAsDataUrl)(file).then(
        (url) => {
          if (this.state.file === file) this.store.update({ previewUrl: url });
        },
        () => undefined, // no thumbnail: the file card shows instead
      );
    }
  }

  /** Uploads the picked file with this caption; false when no file waits to be sent
   *  (then the composer's text is an ordinary message). */
  send(caption: string): boolean {
    const { file, phase } = this.state;
    if (!file || phase !== 'ready') return false;
    this.caption = caption;
    this.clientMsgId ??= (this.opts.newId ?? newClientMsgId)();
    this.start(file);
    return true;
  }

  /** Tries the failed upload again: the same key, the same caption. */
  retry(): void {
    const { file, phase, retryable } = this.state;
    if (file && phase === 'failed' && retryable) this.start(file);
  }

  /**
   * Cancel: aborts an upload in progress, or drops the pending file. Returns the
   * caption of an upload that was on its way or failed (the composer puts it back),
   * else null.
   */
  cancel(): string | null {
    const hadCaption = this.state.phase === 'uploading' || this.state.phase === 'failed';
    const handle = this.handle;
    this.handle = null;
    this.clientMsgId = null;
    this.store.set(EMPTY);
    handle?.abort();
    return hadCaption ? this.caption : null;
  }

  /** Hides a pre-check's message (the next pick does too). */
  dismiss(): void {
    if (this.state.phase === 'idle') this.store.set(EMPTY);
  }

  private start(file: File): void {
    const key = this.clientMsgId ?? newClientMsgId();
    this.store.update({ phase: 'uploading', progress: 0, problem: null, retryable: false });
    const handle = this.opts.upload({
      file,
      filename: file.name || 'file',
      caption: this.caption,
      clientMsgId: key,
      onProgress: (loaded, total) => {
        if (this.handle === handle && total > 0) this.store.update({ progress: Math.min(1, loaded / total) });
      },
    });
    this.handle = handle;
    handle.done.then(
      (message) => {
        if (this.handle !== handle) return;
        this.handle = null;
        this.clientMsgId = null;
        this.store.set(EMPTY);
        this.opts.onSent(message);
      },
      (err: unknown) => {
        if (this.handle !== handle) return; // cancelled: nothing to say
        this.handle = null;
        if (err instanceof ApiError && err.code === ABORTED) return;
        const problem = problemOf(err);
        this.store.update({ phase: 'failed', progress: 0, problem, retryable: RETRYABLE.has(problem.kind) });
      },
    );
  }
}
