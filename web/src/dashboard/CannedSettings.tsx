// Admins' settings page for canned responses (a dialog from the top bar): list,
// search, create, edit and delete. The server checks every field; its answer is
// shown next to the field it names (a taken shortcut, 409, next to the shortcut).

import { useEffect, useId, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { ApiError, type CannedBody } from '../shared/api';
import type { CannedResponse } from '../shared/protocol';
import { PLACEHOLDERS } from './cannedText';
import type { DeskTools } from './deskTools';

export interface CannedSettingsProps {
  tools: DeskTools;
  onClose: () => void;
}

type Field = keyof CannedBody;
type Errors = Partial<Record<Field | 'form', string>>;

const EMPTY: CannedBody = { shortcut: '', title: '', body: '' };

/** Where a failed save's message goes: the field the server named, else the form. */
export function saveErrors(err: unknown): Errors {
  if (err instanceof ApiError) {
    if (err.code === 'conflict') return { shortcut: 'Another canned response has this shortcut.' };
    if (err.field === 'shortcut' || err.field === 'title' || err.field === 'body') return { [err.field]: err.message };
    return { form: err.message };
  }
  return { form: 'Something went wrong.' };
}

export function CannedSettings({ tools, onClose }: CannedSettingsProps) {
  const { canned } = useSyncExternalStore(tools.store.subscribe, tools.store.get);
  const titleId = useId();
  const ids = { shortcut: useId(), title: useId(), body: useId() };
  const [search, setSearch] = useState('');
  const [editing, setEditing] = useState<CannedResponse | null>(null);
  const [form, setForm] = useState<CannedBody>(EMPTY);
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState<number | null>(null);
  const [status, setStatus] = useState('');
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void tools.loadCanned(true);
    first.current?.focus();
  }, [tools]);

  const q = search.trim().toLowerCase();
  const shown = (canned ?? []).filter((c) => !q || `${c.shortcut}\n${c.title}\n${c.body}`.toLowerCase().includes(q));

  const edit = (c: CannedResponse | null): void => {
    setEditing(c);
    setForm(c ? { shortcut: c.shortcut, title: c.title, body: c.body } : EMPTY);
    setErrors({});
  };

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setSaving(true);
    setErrors({});
    try {
      const saved = await tools.saveCanned(form, editing?.id);
      setStatus(`Saved /${saved.shortcut}.`);
      edit(null);
    } catch (err) {
      setErrors(saveErrors(err));
    } finally {
      setSaving(false);
    }
  };

  const remove = async (c: CannedResponse): Promise<void> => {
    try {
      await tools.deleteCanned(c.id);
      setStatus(`Deleted /${c.shortcut}.`);
      if (editing?.id === c.id) edit(null);
    } catch (err) {
      setErrors({ form: saveErrors(err).form ?? 'The canned response could not be deleted.' });
    } finally {
      setConfirmDelete(null);
    }
  };

  const field = (name: Field, label: string, multiline = false) => {
    const error = errors[name];
    const common = {
      id: ids[name],
      value: form[name],
      'aria-invalid': error ? true : undefined,
      'aria-describedby': error ? `${ids[name]}-error` : undefined,
    };
    return (
      <div className="db-field">
        <label htmlFor={ids[name]}>{label}</label>
        {multiline ? (
          <textarea {...common} rows={4} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
        ) : (
          <input {...common} type="text" onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
        )}
        {error && (
          <p id={`${ids[name]}-error`} className="db-field-error" role="alert">
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <div
      className="db-settings"
      role="dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="db-settings-head">
        <h2 id={titleId}>Canned responses</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <input ref={first} type="search" aria-label="Search canned responses" placeholder="Search canned responses" value={search} onChange={(e) => setSearch(e.target.value)} />
      <p className="db-muted" role="status">
        {status || (canned === null ? 'Loading…' : `${shown.length} of ${canned.length} canned responses, most used first`)}
      </p>
      <ul className="db-canned-admin">
        {shown.map((c) => (
          <li key={c.id}>
            <div>
              <strong>/{c.shortcut}</strong> {c.title} <span className="db-muted">· used {c.uses}×</span>
              <p className="db-canned-body">{c.body}</p>
            </div>
            {confirmDelete === c.id ? (
              <span role="group" aria-label={`Confirm deleting /${c.shortcut}`}>
                <button type="button" className="db-danger" onClick={() => void remove(c)}>
                  Yes, delete /{c.shortcut}
                </button>
                <button type="button" onClick={() => setConfirmDelete(null)}>
                  Cancel
                </button>
              </span>
            ) : (
              <span>
                <button type="button" aria-label={`Edit /${c.shortcut}`} onClick={() => edit(c)}>
                  Edit
                </button>
                <button type="button" aria-label={`Delete /${c.shortcut}`} onClick={() => setConfirmDelete(c.id)}>
                  Delete
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      <form className="db-canned-form" onSubmit={(e) => void save(e)} aria-label={editing ? `Edit /${editing.shortcut}` : 'New canned response'}>
        <h3>{editing ? `Edit /${editing.shortcut}` : 'New canned response'}</h3>
        {field('shortcut', 'Shortcut (a-z, 0-9, _ and -)')}
        {field('title', 'Title')}
        {field('body', 'Text', true)}
        <p className="db-muted">Placeholders: {PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}</p>
        {errors.form && (
          <p className="db-field-error" role="alert">
            {errors.form}
          </p>
        )}
        <button type="submit" className="db-primary" disabled={saving}>
          {editing ? 'Save changes' : 'Create'}
        </button>
        {editing && (
          <button type="button" onClick={() => edit(null)}>
            Cancel editing
          </button>
        )}
      </form>
    </div>
  );
}
