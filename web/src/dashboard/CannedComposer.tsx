// The dashboard's reply box: the shared Composer plus canned responses. Typing `/` at
// the start of an empty line opens a list of them (ARIA combobox + listbox), filtered
// by what follows the slash (shortcut or title); ArrowUp/Down move, Enter or a click
// inserts the body with its placeholders filled in, Escape closes.

import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { Composer, type ComposerProps } from '../shared/components/Composer';
import type { CannedResponse } from '../shared/protocol';
import { fillPlaceholders, filterCanned, replaceSlash, slashQuery, type PlaceholderContext, type SlashQuery } from './cannedText';

export interface CannedComposerProps extends Omit<ComposerProps, 'assist' | 'inputRef'> {
  /** The canned responses, null while not loaded yet. */
  canned: readonly CannedResponse[] | null;
  /** What the placeholders are filled in from. */
  context: PlaceholderContext;
  /** The list is wanted (the first `/`): load it if needed. */
  onNeedCanned: () => void;
  /** A response was inserted (it counts as a use). */
  onInserted: (id: number) => void;
}

/** Most options shown at once; typing more narrows the list. */
const MAX_OPTIONS = 8;

export function CannedComposer({ canned, context, onNeedCanned, onInserted, ...composer }: CannedComposerProps) {
  const listboxId = useId();
  const box = useRef<HTMLTextAreaElement>(null);
  const [slash, setSlash] = useState<SlashQuery | null>(null);
  const [active, setActive] = useState(0);
  const [caretAfterInsert, setCaretAfterInsert] = useState<number | null>(null);

  useEffect(() => {
    if (caretAfterInsert === null) return;
    box.current?.focus();
    box.current?.setSelectionRange(caretAfterInsert, caretAfterInsert);
    setCaretAfterInsert(null);
  }, [caretAfterInsert]);

  const matches = slash && canned ? filterCanned(canned, slash.query).slice(0, MAX_OPTIONS) : [];
  const open = slash !== null;
  const optionId = (i: number): string => `${listboxId}-option-${i}`;

  const onChange = (value: string): void => {
    composer.onChange(value);
    const caret = box.current?.selectionStart ?? value.length;
    const found = slashQuery(value, caret);
    if (found && !slash) onNeedCanned();
    if (found?.query !== slash?.query) setActive(0);
    setSlash(found);
  };

  const insert = (response: CannedResponse): void => {
    if (!slash) return;
    const { text, caret } = replaceSlash(composer.value, slash, fillPlaceholders(response.body, context));
    composer.onChange(text);
    setSlash(null);
    setCaretAfterInsert(caret);
    onInserted(response.id);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): boolean => {
    if (!open) return false;
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        if (matches.length === 0) return true;
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((a) => (a + step + matches.length) % matches.length);
        e.preventDefault();
        return true;
      }
      case 'Enter': {
        if (e.shiftKey || e.nativeEvent.isComposing) return false;
        // Enter never sends a half-typed `/command` to the visitor: it inserts the
        // highlighted response, or does nothing while none matches (Escape, then Enter, sends).
        e.preventDefault();
        const chosen = matches[active];
        if (chosen) insert(chosen);
        return true;
      }
      case 'Escape':
        e.preventDefault();
        e.stopPropagation();
        setSlash(null);
        return true;
      default:
        return false;
    }
  };

  const popup = open ? (
    <div className="db-canned">
      <ul id={listboxId} role="listbox" aria-label="Canned responses" className="db-canned-list">
        {matches.map((c, i) => (
          <li
            key={c.id}
            id={optionId(i)}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'db-canned-active' : undefined}
            // Keep the focus in the reply box: the click inserts.
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => insert(c)}
          >
            <span className="db-canned-shortcut">/{c.shortcut}</span> <span className="db-canned-title">{c.title}</span>
          </li>
        ))}
      </ul>
      <p className="db-canned-note" role="status">
        {canned === null
          ? 'Loading canned responses…'
          : matches.length === 0
            ? `No canned response matches /${slash.query}. Escape closes this list.`
            : '↑ ↓ to choose, Enter to insert, Escape to close'}
      </p>
    </div>
  ) : null;

  return (
    <Composer
      {...composer}
      onChange={onChange}
      inputRef={box}
      assist={{
        onKeyDown,
        listboxId: open ? listboxId : null,
        activeOptionId: matches.length > 0 ? optionId(active) : undefined,
        onBlur: () => setSlash(null),
        popup,
      }}
    />
  );
}
