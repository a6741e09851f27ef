// Pure helpers for drawing a file: its size in KB/MB, a short name for its type, and
// the thumbnail box of an image (its aspect ratio kept, so the list does not jump
// when it loads).

import { attachmentsOf, type Attachment, type ChatMessage } from '../protocol';

/** The server's default MAX_UPLOAD_BYTES (API.md): files above it are refused before
 *  upload. The server stays the judge (413 with its own limit). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** The longest side of a thumbnail in a message, in CSS pixels. */
export const THUMBNAIL_MAX = 240;

export function isImage(contentType: string): boolean {
  return /^image\//i.test(contentType);
}

/** "512 B", "48 KB", "1.5 MB" (1 KB = 1024 bytes), with the locale's decimal sign. */
export function formatSize(bytes: number, locale?: string): string {
  const [value, unit] =
    bytes < 1024 ? [bytes, 'B'] : bytes < 1024 * 1024 ? [bytes / 1024, 'KB'] : [bytes / (1024 * 1024), 'MB'];
  const digits = unit !== 'B' && value < 10 ? 1 : 0;
  let text: string;
  try {
    text = new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
  } catch {
    text = value.toFixed(digits).replace(/\.0$/, '');
  }
  return `${text} ${unit}`;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  'application/pdf': 'PDF',
  'text/plain': 'TXT',
  'text/csv': 'CSV',
  'image/jpeg': 'JPEG',
};

/** A short name for a MIME type: "PDF", "PNG", "CSV"; the type itself when unknown. */
export function typeName(contentType: string): string {
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (TYPE_NAMES[type]) return TYPE_NAMES[type];
  const m = /^image\/([a-z0-9.+-]+)$/.exec(type);
  return m ? m[1].toUpperCase() : type || '?';
}

/** The thumbnail's size: the image's own, scaled down to fit THUMBNAIL_MAX square;
 *  null without dimensions (the browser then sizes it when it loads). */
export function thumbnailSize(a: Pick<Attachment, 'width' | 'height'>, max = THUMBNAIL_MAX): { width: number; height: number } | null {
  const { width, height } = a;
  if (!width || !height || width <= 0 || height <= 0) return null;
  const scale = Math.min(1, max / width, max / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A message in one line (previews, notifications): its text, or "📎 name" for a file
 *  sent without a caption. */
export function messageSummary(m: Pick<ChatMessage, 'message' | 'attachments'>): string {
  if (m.message.trim() !== '') return m.message;
  const first = attachmentsOf(m)[0];
  return first ? `📎 ${first.filename}` : m.message;
}
