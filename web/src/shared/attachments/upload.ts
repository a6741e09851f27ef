// Uploads one file as multipart/form-data with XMLHttpRequest (fetch reports no upload
// progress). The fields go in the order API.md asks for: client_msg_id (so the server
// knows the key before the bytes), caption when there is one, then the file. Resolves
// with the stored Message (201); rejects with an ApiError carrying the server's error
// body, `network_error` (status 0) when the request failed, `aborted` after abort().

import { ApiError, errorFromResponse, parseJsonBody } from '../api';
import { parseChatMessage, type ChatMessage } from '../protocol';

export interface UploadRequest {
  /** The upload route (ApiClient.guestAttachmentUrl / ticketAttachmentUrl). */
  url: string;
  file: Blob;
  /** The name sent with the file part (the server sanitises it). */
  filename: string;
  caption: string;
  clientMsgId: string;
  /** Bytes sent so far, of the whole request body. */
  onProgress?: (loaded: number, total: number) => void;
  /** Tests pass a fake. */
  createXhr?: () => XMLHttpRequest;
}

export interface UploadHandle {
  done: Promise<ChatMessage>;
  abort(): void;
}

export type UploadFn = (request: Omit<UploadRequest, 'url' | 'createXhr'>) => UploadHandle;

export const ABORTED = 'aborted';
export const NETWORK_ERROR = 'network_error';

export function uploadForm(file: Blob, filename: string, caption: string, clientMsgId: string): FormData {
  const form = new FormData();
  form.append('client_msg_id', clientMsgId);
  const trimmed = caption.trim();
  if (trimmed) form.append('caption', trimmed);
  form.append('file', file, filename);
  return form;
}

export function uploadAttachment(req: UploadRequest): UploadHandle {
  const xhr = (req.createXhr ?? (() => new XMLHttpRequest()))();
  let settled = false;
  let fail: (err: ApiError) => void = () => undefined;
  const aborted = (): ApiError => new ApiError(0, { code: ABORTED, message: 'The upload was cancelled.' });
  const done = new Promise<ChatMessage>((resolve, reject) => {
    fail = (err: ApiError): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    xhr.open('POST', req.url);
    // Same origin: the agent's login cookie goes along by itself; nothing else to send.
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e: ProgressEvent) => {
      if (!settled && e.lengthComputable) req.onProgress?.(e.loaded, e.total);
    };
    xhr.onload = () => {
      const parsed = parseJsonBody(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) {
        const message = parseChatMessage(parsed);
        if (message) {
          settled = true;
          resolve(message);
        } else fail(new ApiError(xhr.status, { code: 'internal', message: 'The server sent an unexpected answer.' }));
        return;
      }
      fail(errorFromResponse(xhr.status, parsed, xhr.getResponseHeader('Retry-After')));
    };
    xhr.onerror = () => fail(new ApiError(0, { code: NETWORK_ERROR, message: 'The service cannot be reached. Check your connection.' }));
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => fail(aborted());
    xhr.send(uploadForm(req.file, req.filename, req.caption, req.clientMsgId));
  });
  return {
    done,
    abort: () => {
      if (settled) return;
      xhr.abort();
      fail(aborted()); // whether or not the request fired its abort event
    },
  };
}
