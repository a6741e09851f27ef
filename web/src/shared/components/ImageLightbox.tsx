// Presenter: an image shown large in a modal dialog, with a Download link and Close.
// Escape, Close or a click beside the image closes it; the focus goes to Close on
// opening, stays inside while open, and the caller puts it back on the thumbnail.

import { useEffect, useRef, type KeyboardEvent } from 'react';
import { useI18n } from '../i18n/context';
import type { Attachment } from '../protocol';

export interface ImageLightboxProps {
  attachment: Attachment;
  href: string;
  onClose: () => void;
}

export function ImageLightbox({ attachment, href, onClose }: ImageLightboxProps) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDivElement>(null);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (e.key === 'Escape') {
      // Handled here: the chat app's own Escape (minimise the widget) must not run.
      e.preventDefault();
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key !== 'Tab') return;
    const focusable = dialog.current?.querySelectorAll<HTMLElement>('a[href], button');
    if (!focusable || focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  return (
    <div className="ls-lightbox" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={dialog} className="ls-lightbox-dialog" role="dialog" aria-modal="true" aria-label={attachment.filename} onKeyDown={onKeyDown}>
        <img src={href} alt={attachment.filename} className="ls-lightbox-image" />
        <div className="ls-lightbox-actions">
          <span className="ls-lightbox-name" dir="auto">
            {attachment.filename}
          </span>
          <a href={href} download={attachment.filename} aria-label={t('attach.downloadNamed', { name: attachment.filename })}>
            {t('attach.download')}
          </a>
          <button type="button" ref={close} onClick={onClose}>
            {t('attach.close')}
          </button>
        </div>
      </div>
    </div>
  );
}
