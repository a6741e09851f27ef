// <SupportChatWidget />: the widget for React sites. It only inserts the service's
// widget.js with the matching data- attributes and removes it on unmount, so React
// sites get exactly the same isolated iframe widget as any other page.
//
//   import { SupportChatWidget } from 'livesupport-web/src/widget/SupportChatWidget';
//   <SupportChatWidget serviceUrl="https://support.example.com" position="right" color="#2563eb" greeting="Hi!" locale="de" />

import { useEffect } from 'react';

export interface SupportChatWidgetProps {
  /** The livesupport service's base URL, e.g. https://support.example.com */
  serviceUrl: string;
  position?: 'left' | 'right';
  color?: string;
  greeting?: string;
  /** The visitor's language (`data-locale`); without it, the browser's. */
  locale?: string;
}

export function widgetScriptUrl(serviceUrl: string): string {
  return `${serviceUrl.replace(/\/+$/, '')}/widget.js`;
}

export function SupportChatWidget({ serviceUrl, position = 'right', color, greeting, locale }: SupportChatWidgetProps): null {
  useEffect(() => {
    const script = document.createElement('script');
    script.src = widgetScriptUrl(serviceUrl);
    script.async = true;
    script.dataset.position = position;
    if (color) script.dataset.color = color;
    if (greeting) script.dataset.greeting = greeting;
    if (locale) script.dataset.locale = locale;
    document.body.appendChild(script);
    return () => {
      window.LiveSupport?.destroy();
      script.remove();
    };
  }, [serviceUrl, position, color, greeting, locale]);
  return null;
}

export default SupportChatWidget;
