// React binding of AttachmentDraft: one draft per composer, kept across renders, using
// the newest upload route and onSent (the ticket may load after the composer shows).

import { useRef, useState, useSyncExternalStore } from 'react';
import { ApiError } from '../api';
import type { ChatMessage } from '../protocol';
import type { AttachmentProps } from '../components/AttachmentControls';
import { AttachmentDraft, type AttachmentDraftState } from './draft';
import type { UploadFn } from './upload';

export interface AttachmentDraftBinding {
  /** null while there is nowhere to upload to yet (the ticket is loading). */
  upload: UploadFn | null;
  onSent: (message: ChatMessage) => void;
}

export function useAttachmentDraft(binding: AttachmentDraftBinding): [AttachmentDraftState, AttachmentDraft] {
  const latest = useRef(binding);
  latest.current = binding;
  const [draft] = useState(
    () =>
      new AttachmentDraft({
        upload: (req) => {
          const upload = latest.current.upload;
          if (upload) return upload(req);
          return { done: Promise.reject(new ApiError(0, { code: 'network_error', message: 'Not connected yet.' })), abort: () => undefined };
        },
        onSent: (m) => latest.current.onSent(m),
      }),
  );
  const state = useSyncExternalStore(draft.store.subscribe, draft.store.get);
  return [state, draft];
}

/** What a chat view draws the file from, and its actions. Cancel gives the caption of
 *  an upload that was on its way back to the message box, through `giveBack`. */
export function composerAttachment(state: AttachmentDraftState, draft: AttachmentDraft, giveBack: (caption: string) => void): AttachmentProps {
  return {
    state,
    onFile: (file) => draft.pick(file),
    onCancel: () => {
      const caption = draft.cancel();
      if (caption) giveBack(caption);
    },
    onRetry: () => draft.retry(),
    onDismiss: () => draft.dismiss(),
  };
}
