import { render } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { SupportChatWidget, widgetScriptUrl } from './SupportChatWidget';

describe('<SupportChatWidget />', () => {
  it('inserts the service\'s widget.js with data- attributes, and removes it on unmount', () => {
    const { unmount } = render(<SupportChatWidget serviceUrl="https://support.example.com/" position="left" color="#2563eb" greeting="Hi!" locale="fr" />);
    const script = document.querySelector<HTMLScriptElement>('script[src="https://support.example.com/widget.js"]');
    expect(script).not.toBeNull();
    expect(script?.async).toBe(true);
    expect(script?.dataset).toMatchObject({ position: 'left', color: '#2563eb', greeting: 'Hi!', locale: 'fr' });
    const destroy = vi.fn();
    window.LiveSupport = { open: vi.fn(), close: vi.fn(), toggle: vi.fn(), destroy, unread: 0 };
    unmount();
    expect(destroy).toHaveBeenCalled();
    expect(document.querySelector('script[src$="widget.js"]')).toBeNull();
    delete window.LiveSupport;
  });

  it('builds the script URL from the service URL', () => {
    expect(widgetScriptUrl('https://s.example.com')).toBe('https://s.example.com/widget.js');
  });
});
