// The loader's own strings (widget.js draws the launcher and the reply preview on the
// host page before the chat app exists). Only these few ship in the loader, for every
// language; the chat app's catalogue (en.ts and the others) stays in its own bundle.

import type { Locale } from './locale';

export interface LoaderStrings {
  /** The panel's dialog label and the iframe's title. */
  panel: string;
  open: string;
  /** `{count}`: unread agent replies. */
  openUnread: string;
  close: string;
  /** The preview button with nothing to preview yet. */
  newMessage: string;
  /** `{name}`: the agent; `{text}`: the start of the reply. */
  newMessageFrom: string;
}

export const LOADER_STRINGS: Readonly<Record<Locale, LoaderStrings>> = {
  en: {
    panel: 'Support chat',
    open: 'Open support chat',
    openUnread: 'Open support chat, {count} unread',
    close: 'Close support chat',
    newMessage: 'New message',
    newMessageFrom: 'New message from {name}: {text}',
  },
  de: {
    panel: 'Support-Chat',
    open: 'Support-Chat öffnen',
    openUnread: 'Support-Chat öffnen, {count} ungelesen',
    close: 'Support-Chat schließen',
    newMessage: 'Neue Nachricht',
    newMessageFrom: 'Neue Nachricht von {name}: {text}',
  },
  fr: {
    panel: "Chat d'assistance",
    open: "Ouvrir le chat d'assistance",
    openUnread: "Ouvrir le chat d'assistance, non lus : {count}",
    close: "Fermer le chat d'assistance",
    newMessage: 'Nouveau message',
    newMessageFrom: 'Nouveau message de {name} : {text}',
  },
  es: {
    panel: 'Chat de soporte',
    open: 'Abrir el chat de soporte',
    openUnread: 'Abrir el chat de soporte, sin leer: {count}',
    close: 'Cerrar el chat de soporte',
    newMessage: 'Nuevo mensaje',
    newMessageFrom: 'Nuevo mensaje de {name}: {text}',
  },
  ar: {
    panel: 'دردشة الدعم',
    open: 'فتح دردشة الدعم',
    openUnread: 'فتح دردشة الدعم، غير المقروءة: {count}',
    close: 'إغلاق دردشة الدعم',
    newMessage: 'رسالة جديدة',
    newMessageFrom: 'رسالة جديدة من {name}: {text}',
  },
};
