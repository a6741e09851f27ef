// Presenter: a ticket's labels in the conversation header. Chips with a remove
// button each; an input that autocompletes from the labels in use (a datalist) and
// adds what is typed on Enter. Rules are checked here first (labels.ts), so a typo is
// explained next to the input; the server has the last word.

import { useId, useState, type KeyboardEvent } from 'react';
import type { LabelCount } from '../shared/protocol';
import { labelProblem, normaliseLabel, withLabel } from './labels';

export interface LabelEditorProps {
  labels: readonly string[];
  /** Labels in use, for the autocomplete. */
  known: readonly LabelCount[];
  onChange: (labels: string[]) => void;
  /** The input got focus: the labels in use may be read again. */
  onFocus?: () => void;
}

export function LabelEditor({ labels, known, onChange, onFocus }: LabelEditorProps) {
  const listId = useId();
  const errorId = useId();
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const add = (): void => {
    const label = normaliseLabel(draft);
    const why = labelProblem(label, labels);
    setProblem(why);
    if (why) return;
    onChange(withLabel(labels, label));
    setDraft('');
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key === 'Enter') {
      e.preventDefault();
      add();
    }
  };
  return (
    <div className="db-labels" role="group" aria-label="Labels">
      <ul className="db-label-chips">
        {labels.map((l) => (
          <li key={l} className="db-label">
            {l}
            <button type="button" aria-label={`Remove label ${l}`} onClick={() => onChange(labels.filter((x) => x !== l))}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <input
        type="text"
        aria-label="Add a label"
        placeholder="Add a label…"
        list={listId}
        value={draft}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? errorId : undefined}
        onFocus={onFocus}
        onChange={(e) => {
          setDraft(e.target.value);
          setProblem(null);
        }}
        onKeyDown={onKeyDown}
      />
      <datalist id={listId}>
        {known
          .filter((k) => !labels.includes(k.name))
          .map((k) => (
            <option key={k.name} value={k.name}>
              {`${k.name} (${k.count})`}
            </option>
          ))}
      </datalist>
      {problem && (
        <p id={errorId} className="db-field-error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
