import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { msg } from '../../test/fakes';
import type { Attachment } from '../protocol';
import { MessageList } from './MessageList';

const image: Attachment = { id: 17, filename: 'screenshot.png', content_type: 'image/png', size: 48213, width: 1280, height: 720, url: '/api/support/attachments/IMG' };
const pdf: Attachment = { id: 18, filename: 'invoice.pdf', content_type: 'application/pdf', size: 1.5 * 1024 * 1024, url: '/api/support/attachments/PDF' };
const base = (path: string) => `https://support.example.com${path}`;

function renderList(messages = [msg(1, { message: 'This is what I see', attachments: [image] }), msg(2, { sender_type: 'supporter', sender_name: 'Alice', message: '', attachments: [pdf] })]) {
  return render(<MessageList messages={messages} outbox={[]} self="user" resolveUrl={base} />);
}

describe('attachments in a message list', () => {
  it('shows an image as a lazy thumbnail that keeps its aspect ratio within 240 px, with its caption', () => {
    renderList();
    const img = screen.getByAltText('screenshot.png') as HTMLImageElement;
    expect(img.src).toBe('https://support.example.com/api/support/attachments/IMG');
    expect(img.getAttribute('loading')).toBe('lazy');
    expect(img.getAttribute('width')).toBe('240');
    expect(img.getAttribute('height')).toBe('135');
    expect(screen.getByText('This is what I see')).toBeTruthy();
  });

  it('opens the image large in a dialog with a Download link; Escape closes it and the focus goes back', () => {
    renderList();
    const thumb = screen.getByRole('button', { name: 'screenshot.png' });
    fireEvent.click(thumb);
    const dialog = screen.getByRole('dialog', { name: 'screenshot.png' });
    const download = within(dialog).getByRole('link', { name: 'Download screenshot.png' });
    expect(download.getAttribute('download')).toBe('screenshot.png');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Close' }));
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(thumb);
  });

  it('shows another file as a card with its name, type, size and a Download link; no empty bubble', () => {
    const { container } = renderList();
    expect(screen.getByText('invoice.pdf')).toBeTruthy();
    expect(screen.getByText('PDF · 1.5 MB')).toBeTruthy();
    const link = screen.getByRole('link', { name: 'Download invoice.pdf' });
    expect(link.getAttribute('href')).toBe('https://support.example.com/api/support/attachments/PDF');
    expect(link.getAttribute('download')).toBe('invoice.pdf');
    const second = container.querySelector('[data-seq="2"]');
    expect(second?.querySelector('.ls-text')).toBeNull();
  });

  it('leaves out a malformed attachment instead of breaking', () => {
    const broken = { id: 'x', filename: 3 } as unknown as Attachment;
    renderList([msg(1, { message: 'still here', attachments: [broken] })]);
    expect(screen.getByText('still here')).toBeTruthy();
    expect(screen.queryByRole('link')).toBeNull();
  });
});
