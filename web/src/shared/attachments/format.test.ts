import { describe, expect, it } from 'vitest';
import { msg } from '../../test/fakes';
import { dragHasFiles, fileFromClipboard, fileFromDrop } from './clipboard';
import { formatSize, messageSummary, thumbnailSize, typeName } from './format';

describe('file formats', () => {
  it('writes sizes in B, KB and MB', () => {
    expect(formatSize(512, 'en')).toBe('512 B');
    expect(formatSize(48213, 'en')).toBe('47 KB');
    expect(formatSize(1536, 'en')).toBe('1.5 KB');
    expect(formatSize(10 * 1024 * 1024, 'en')).toBe('10 MB');
    expect(formatSize(1.5 * 1024 * 1024, 'de')).toBe('1,5 MB');
  });

  it('fits a thumbnail into 240 px keeping the aspect ratio, and never enlarges', () => {
    expect(thumbnailSize({ width: 1280, height: 720 })).toEqual({ width: 240, height: 135 });
    expect(thumbnailSize({ width: 720, height: 1280 })).toEqual({ width: 135, height: 240 });
    expect(thumbnailSize({ width: 100, height: 50 })).toEqual({ width: 100, height: 50 });
    expect(thumbnailSize({})).toBeNull();
  });

  it('names types shortly', () => {
    expect(typeName('application/pdf')).toBe('PDF');
    expect(typeName('text/csv')).toBe('CSV');
    expect(typeName('text/plain; charset=utf-8')).toBe('TXT');
    expect(typeName('image/png')).toBe('PNG');
    expect(typeName('application/zip')).toBe('application/zip');
  });

  it('summarises a file without a caption as 📎 and its name', () => {
    const file = { id: 1, filename: 'a.pdf', content_type: 'application/pdf', size: 3, url: '/x' };
    expect(messageSummary(msg(1, { message: '', attachments: [file] }))).toBe('📎 a.pdf');
    expect(messageSummary(msg(1, { message: 'see this', attachments: [file] }))).toBe('see this');
  });
});

describe('clipboard and drop', () => {
  const file = new File(['x'], 'shot.png', { type: 'image/png' });
  it('takes a pasted file, but leaves a paste that carries text to be text', () => {
    expect(fileFromClipboard({ files: [file], getData: () => '' })).toBe(file);
    expect(fileFromClipboard({ files: [file], getData: () => 'A1 cell' })).toBeNull();
    expect(fileFromClipboard({ files: [], items: [{ kind: 'file', getAsFile: () => file }], getData: () => '' })).toBe(file);
    expect(fileFromClipboard({ files: [], getData: () => 'text' })).toBeNull();
  });

  it('takes a dropped file and knows a drag of files', () => {
    expect(fileFromDrop({ files: [file] })).toBe(file);
    expect(dragHasFiles({ types: ['Files'] })).toBe(true);
    expect(dragHasFiles({ types: ['text/plain'] })).toBe(false);
  });
});
