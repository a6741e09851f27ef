// Presenter: the message box. Enter sends, Shift+Enter makes a new line.
// The dashboard adds its canned-response list through the optional `assist` props
// (CannedComposer); the visitor's chat app passes none and gets the plain box.
// Files (issue 17): `attachment` is drawn above the box (the file waiting to be
// sent), `tools` beside it (the attach button), and a file pasted into the box goes
// to `onPasteFile` instead of becoming text.

import { useId, type ClipboardEvent, type FormEvent, type KeyboardEvent, type ReactNode, type Ref } from 'react';
import { LIMITS } from '../protocol';
import { fileFromClipboard } from '../attachments/clipboard';
import { useI18n } from '../i18n/context';

/** A suggestion list attached to the box (ARIA combobox while it is open). */
export interface ComposerAssist {
  /** Runs first on every key in the box; true when it used the key (nothing else happens). */
  onKeyDown: (e: KeyboardEvent<HTMLTextAreaElement>) => boolean;
  /** The listbox's id while the list is open, else null (the box is then a plain textbox). */
  listboxId: string | null;
  /** The id of the highlighted option, if any. */
  activeOptionId?: string;
  onBlur?: () => void;
  /** The list, drawn above the box. */
  popup?: ReactNode;
}

export interface ComposerProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
  disabled?: boolean;
  error?: string;
  placeholder?: string;
  inputRef?: Ref<HTMLTextAreaElement>;
  assist?: ComposerAssist;
  /** The file waiting to be sent (preview, progress, problem), above the box. */
  attachment?: ReactNode;
  /** Controls beside the box (the attach button). */
  tools?: ReactNode;
  /** A file pasted into the box (a screenshot): it is attached, not pasted as text. */
  onPasteFile?: (file: File) => void;
}

export function Composer({ label, value, onChange, onSubmit, disabled = false, error, placeholder, inputRef, assist, attachment, tools, onPasteFile }: ComposerProps) {
  const errorId = useId();
  const { t } = useI18n();
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    onSubmit();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (assist?.onKeyDown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSubmit();
    }
  };
  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>): void => {
    if (!onPasteFile) return;
    const file = fileFromClipboard(e.clipboardData);
    if (!file) return;
    e.preventDefault();
    onPasteFile(file);
  };
  const open = assist?.listboxId != null;
  return (
    <form className="ls-composer" onSubmit={submit}>
      {assist?.popup}
      {attachment}
      {tools}
      <textarea
        ref={inputRef}
        aria-label={label}
        value={value}
        placeholder={placeholder}
        rows={2}
        maxLength={LIMITS.messageMax * 2}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        role={open ? 'combobox' : undefined}
        aria-expanded={open ? true : undefined}
        aria-autocomplete={open ? 'list' : undefined}
        aria-controls={open ? (assist?.listboxId ?? undefined) : undefined}
        aria-activedescendant={open ? assist?.activeOptionId : undefined}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
        onBlur={assist?.onBlur}
      />
      <button type="submit" disabled={disabled}>
        {t('composer.send')}
      </button>
      {error && (
        <p id={errorId} className="ls-field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
