// The chat app's catalogue in English: the source of truth. Every other language is a
// `Catalogue`, so a missing or extra key is a type error, and a unit test checks that
// each translation uses exactly the `{placeholders}` of the English text.
// Keys are grouped by where the string shows: app (ChatApp), prechat, validation,
// chat (ChatView), queue (ChatView, while waiting for an agent), composer, connection, messages (MessageList), text (MessageText),
// system (the server's visitor-facing notes, see systemNotes.ts).

export const en = {
  'app.title': 'Support chat',
  'app.support': 'Support',
  'app.minimise': 'Minimise chat',
  'app.loading': 'Loading…',
  'app.sessionGone': 'Your previous chat could not be found. Please start a new one.',
  'app.loadFailed': 'Could not load your chat.',
  'app.tooManyChatsIn': 'Too many new chats from your network. Please try again in {seconds} seconds.',
  'app.tooManyChats': 'Too many new chats from your network. Please try again shortly.',
  'app.startFailed': 'Could not start the chat. Please try again.',
  'app.endFailed': 'Could not end the chat.',

  'prechat.label': 'Start a chat',
  'prechat.greeting': 'Hi! Tell us a little about your question and we will be right with you.',
  'prechat.name': 'Name',
  'prechat.email': 'Email',
  'prechat.subject': 'Subject',
  'prechat.message': 'Message',
  'prechat.optional': '(optional)',
  'prechat.start': 'Start chat',
  'prechat.starting': 'Starting…',

  'validation.nameRequired': 'Please enter your name.',
  'validation.nameTooLong': 'Name must be at most {max} characters.',
  'validation.emailTooLong': 'Email must be at most {max} characters.',
  'validation.emailInvalid': 'Please enter a valid email address, or leave it empty.',
  'validation.subjectRequired': 'Please tell us what this is about.',
  'validation.subjectTooLong': 'Subject must be at most {max} characters.',
  'validation.messageEmpty': 'Message cannot be empty.',
  'validation.messageTooLong': 'Message must be at most {max} characters (now {count}).',

  'chat.ended': 'Chat ended',
  'chat.chattingWith': 'You are chatting with {name}',
  'chat.waitingForAgent': 'Waiting for an agent…',
  'queue.position': 'You are number {position} in the queue',
  'queue.next': 'You are next',
  'queue.nobodyOnline': "All our agents are away right now. Leave your message and we'll reply as soon as someone is back.",
  'chat.typing': '{name} is typing…',
  'chat.someone': 'Someone',
  'chat.dismissNotice': 'Dismiss notice',
  'chat.goneTitle': 'This chat is no longer available',
  'chat.goneText': 'You can start a new chat at any time.',
  'chat.endedTitle': 'This chat has ended',
  'chat.endedText': 'Thank you for getting in touch. The conversation above stays here for you to read; to ask something else, start a new chat.',
  'chat.startNew': 'Start a new chat',
  'chat.notSendable': 'This chat has ended.',
  'chat.endAsk': 'End this chat?',
  'chat.endYes': 'Yes, end chat',
  'chat.cancel': 'Cancel',
  'chat.end': 'End chat',

  'composer.label': 'Message',
  'composer.placeholder': 'Type your message…',
  'composer.send': 'Send',

  'connection.reconnectingIn': 'Reconnecting… (next try in {seconds} s)',
  'connection.reconnecting': 'Reconnecting…',
  'connection.resyncing': 'Catching up on missed messages…',
  'connection.connecting': 'Connecting…',
  'connection.reconnectNow': 'Reconnect now',

  'messages.label': 'Messages',
  'messages.loadOlder': 'Load earlier messages',
  'messages.loadingOlder': 'Loading earlier messages…',
  'messages.you': 'You',
  'messages.note': 'Private note · only your team sees this',
  'messages.read': 'Read',
  'messages.sent': 'Sent',
  'messages.sending': 'Sending…',
  'messages.waiting': 'Waiting to send (too many messages at once)…',
  'messages.notSent': 'Not sent',
  'messages.notSentBecause': 'Not sent: {reason}',
  'messages.retry': 'Retry',
  'messages.discard': 'Discard',
  'messages.newBelow': 'New messages',

  'text.showMore': 'Show more',
  'text.showLess': 'Show less',

  'system.joined': '{name} joined the chat',
  'system.visitorEnded': '{name} ended the chat',
  'system.ended': 'This chat has ended',
  'system.resolved': 'This conversation was marked as resolved — write to reopen it',
} satisfies Record<string, string>;

export type MessageKey = keyof typeof en;
/** A translation: exactly the keys of the English catalogue. */
export type Catalogue = Readonly<Record<MessageKey, string>>;
