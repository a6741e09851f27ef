// Presenter: agent sign-in.

import { useEffect, useRef, useState, type FormEvent } from 'react';

export interface LoginFormProps {
  busy: boolean;
  error: string | null;
  onSubmit: (email: string, password: string) => void;
}

export function LoginForm({ busy, error, onSubmit }: LoginFormProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const passwordRef = useRef<HTMLInputElement>(null);
  // After a failed sign-in the button was disabled under the cursor: focus goes
  // back to the password, selected, so the agent can type it again at once.
  useEffect(() => {
    if (error && !busy) {
      passwordRef.current?.focus();
      passwordRef.current?.select();
    }
  }, [error, busy]);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (email.trim() && password) onSubmit(email, password);
  };
  return (
    <main className="db-login">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>Support dashboard</h1>
        <label htmlFor="db-email">Email</label>
        <input id="db-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="db-password">Password</label>
        <input id="db-password" ref={passwordRef} aria-describedby={error ? 'db-login-error' : undefined} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {error && (
          <p className="db-error" id="db-login-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
