// Presenter: the files a message carries. An image is a thumbnail (its box sized from
// width/height before it loads, so the list does not jump; loaded lazily; alt = the
// filename) that opens large in a dialog; any other file is a card with its name,
// type, size and a Download link. `url` is a path on the service: `resolveUrl` puts
// the service's origin in front (the same base the app's API calls use).

import { useRef, useState } from 'react';
import { useI18n } from '../i18n/context';
import type { Attachment } from '../protocol';
import { formatSize, isImage, thumbnailSize, typeName } from '../attachments/format';
import { ImageLightbox } from './ImageLightbox';

export interface MessageAttachmentsProps {
  attachments: readonly Attachment[];
  resolveUrl?: (path: string) => string;
}

const samePath = (path: string): string => path;

export function MessageAttachments({ attachments, resolveUrl = samePath }: MessageAttachmentsProps) {
  if (attachments.length === 0) return null;
  return (
    <div className="ls-attachments">
      {attachments.map((a) =>
        isImage(a.content_type) ? <ImageThumbnail key={a.id} attachment={a} href={resolveUrl(a.url)} /> : <FileCard key={a.id} attachment={a} href={resolveUrl(a.url)} />,
      )}
    </div>
  );
}

function ImageThumbnail({ attachment, href }: { attachment: Attachment; href: string }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const size = thumbnailSize(attachment);
  return (
    <>
      <button type="button" ref={button} className="ls-thumb" onClick={() => setOpen(true)} aria-haspopup="dialog">
        <img
          src={href}
          alt={attachment.filename}
          loading="lazy"
          decoding="async"
          width={size?.width}
          height={size?.height}
          style={size ? { aspectRatio: `${size.width} / ${size.height}` } : undefined}
        />
      </button>
      {open && (
        <ImageLightbox
          attachment={attachment}
          href={href}
          onClose={() => {
            setOpen(false);
            button.current?.focus();
          }}
        />
      )}
    </>
  );
}

export function FileCard({ attachment, href }: { attachment: Pick<Attachment, 'filename' | 'content_type' | 'size'>; href?: string }) {
  const { t, tag } = useI18n();
  return (
    <div className="ls-file">
      <svg className="ls-file-icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="28" height="28">
        <path fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" d="M14 3H6.5A1.5 1.5 0 005 4.5v15A1.5 1.5 0 006.5 21h11a1.5 1.5 0 001.5-1.5V8z" />
        <path fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" d="M14 3v5h5M8.5 13h7M8.5 16.5h7" />
      </svg>
      <span className="ls-file-body">
        <span className="ls-file-name" dir="auto">
          {attachment.filename}
        </span>
        <span className="ls-file-meta">
          {typeName(attachment.content_type)} · {formatSize(attachment.size, tag)}
        </span>
      </span>
      {href && (
        <a className="ls-file-download" href={href} download={attachment.filename} aria-label={t('attach.downloadNamed', { name: attachment.filename })}>
          {t('attach.download')}
        </a>
      )}
    </div>
  );
}
