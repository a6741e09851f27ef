// Presenters of the team's presence (issue 16): the status dot shown next to every
// agent name, the agent's own status switch in the top bar, and the notices of chats
// given to the agent without their asking.

import type { ReactNode } from 'react';
import type { AgentStatus, ChosenStatus } from '../shared/protocol';
import type { AssignedNotice } from './dashboardController';
import { AGENT_STATUS_LABELS } from './presence';

export interface StatusDotProps {
  status: AgentStatus;
  /** The dot says its status to screen readers unless the text next to it does already. */
  decorative?: boolean;
}

/** A coloured dot; its shape differs too (offline is a ring), so colour is not the only sign. */
export function StatusDot({ status, decorative = false }: StatusDotProps) {
  const label = AGENT_STATUS_LABELS[status];
  return decorative ? (
    <span className={`db-dot db-dot-${status}`} aria-hidden="true" />
  ) : (
    <span className={`db-dot db-dot-${status}`} role="img" aria-label={label} title={label} />
  );
}

export interface StatusSwitchProps {
  /** What the server says (offline while the feed is down); undefined for an old server. */
  status: AgentStatus | undefined;
  saving: boolean;
  onChange: (status: ChosenStatus) => void;
}

/** The signed-in agent's online/away choice, with the status the server reports. */
export function StatusSwitch({ status, saving, onChange }: StatusSwitchProps) {
  const shown = status ?? 'offline';
  return (
    <span className="db-status-switch">
      <StatusDot status={shown} />
      <select
        aria-label="Your status"
        value={shown === 'away' ? 'away' : 'online'}
        aria-busy={saving || undefined}
        onChange={(e) => onChange(e.target.value === 'away' ? 'away' : 'online')}
      >
        <option value="online">Online</option>
        <option value="away">Away</option>
      </select>
    </span>
  );
}

export interface AssignedNoticesProps {
  notices: readonly AssignedNotice[];
  onShow: (ticketId: number) => void;
  onDismiss: (ticketId: number) => void;
}

/** In-app notices ("toasts") of chats assigned to the agent, drawn in the dashboard's
 *  toasts region (see Toasts). They stay until dismissed or shown: a notice with a
 *  button must not vanish under the pointer (WCAG 2.2.1). */
export function AssignedNotices({ notices, onShow, onDismiss }: AssignedNoticesProps) {
  return (
    <>
      {notices.map((n) => (
        <div key={n.ticketId} className="db-toast">
          <p>
            <strong>Assigned to you:</strong> <span dir="auto">{n.subject}</span> ({n.userName})
          </p>
          <button type="button" onClick={() => onShow(n.ticketId)}>
            Show chat
          </button>
          <button type="button" aria-label={`Dismiss: ${n.subject}`} onClick={() => onDismiss(n.ticketId)}>
            ×
          </button>
        </div>
      ))}
    </>
  );
}

/** The dashboard's in-app notices, bottom left, in one polite live region. */
export function Toasts({ children }: { children: ReactNode }) {
  return (
    <div className="db-toasts" role="status" aria-live="polite">
      {children}
    </div>
  );
}
