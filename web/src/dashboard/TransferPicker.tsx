// Presenter: "Transfer" in the chat header. A button opens a small list of the enabled
// teammates, each with a status dot and "Bob · online · 2/3" (open chats of the most
// auto-assignment gives), the most available first. Escape or a second click closes
// it and gives the focus back to the button.

import { useEffect, useId, useRef, useState } from 'react';
import type { Agent } from '../shared/protocol';
import { byAvailability, describeAgent, statusOf } from './presence';
import { StatusDot } from './PresenceViews';

export interface TransferPickerProps {
  agents: readonly Agent[];
  /** The ticket's current agent: listed as holding it, not offered. */
  holderId: number | null;
  onTransfer: (agentId: number) => void;
  /** Called when the list opens (e.g. to read the team again). */
  onOpen?: () => void;
}

/** Teammates a ticket can go to: enabled, and not the one holding it. */
export function transferCandidates(agents: readonly Agent[], holderId: number | null): Agent[] {
  return agents.filter((a) => !a.disabled && a.id !== holderId).sort(byAvailability);
}

export function TransferPicker({ agents, holderId, onTransfer, onOpen }: TransferPickerProps) {
  const [open, setOpen] = useState(false);
  const listId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const candidates = transferCandidates(agents, holderId);

  useEffect(() => {
    if (open) list.current?.querySelector<HTMLButtonElement>('button')?.focus();
  }, [open]);

  const close = (): void => {
    setOpen(false);
    button.current?.focus();
  };

  return (
    <div
      className="db-transfer"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          e.stopPropagation();
          close();
        }
      }}
    >
      <button
        type="button"
        ref={button}
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        onClick={() => {
          if (!open) onOpen?.();
          setOpen(!open);
        }}
      >
        Transfer
      </button>
      {open && (
        <div className="db-transfer-popup" role="group" aria-label="Transfer to a teammate">
          {candidates.length === 0 ? (
            <p className="db-muted">No teammate to transfer to.</p>
          ) : (
            <ul id={listId} ref={list}>
              {candidates.map((a) => (
                <li key={a.id}>
                  <button
                    type="button"
                    onClick={() => {
                      setOpen(false);
                      onTransfer(a.id);
                      button.current?.focus();
                    }}
                  >
                    <StatusDot status={statusOf(a)} decorative /> {describeAgent(a)}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
