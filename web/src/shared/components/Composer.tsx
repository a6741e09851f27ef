// Presenter: the message box. Enter sends, Shift+Enter makes a new line.

import { useId, type FormEvent, type KeyboardEvent, type Ref } from 'react';
import { LIMITS } from '../protocol';
import { useI18n } from '../i18n/context';

export interface ComposerProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
  disabled?: boolean;
  error?: string;
  placeholder?: string;
  inputRef?: Ref<HTMLTextAreaElement>;
}

export function Composer({ label, value, onChange, onSubmit, disabled = false, error, placeholder, inputRef }: ComposerProps) {
  const errorId = useId();
  const { t } = useI18n();
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    onSubmit();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      onSubmit();
    }
  };
  return (
    <form className="ls-composer" onSubmit={submit}>
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
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
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
