// Pure rules of ticket labels (API.md "Labels"): the server trims and lowercases each
// label and keeps 1 to 32 of a-z 0-9 _ -, at most 20 a ticket. The dashboard applies
// the same rules before it asks, so a typo is explained next to the input.

export const LABEL_MAX_CHARS = 32;
export const MAX_LABELS = 20;
const LABEL = /^[a-z0-9_-]+$/;

/** The label as the server will store it. */
export function normaliseLabel(raw: string): string {
  return raw.trim().toLowerCase();
}

/** Why `label` (normalised) cannot be added to `current`, or null when it can. */
export function labelProblem(label: string, current: readonly string[]): string | null {
  if (!label) return 'Type a label first.';
  if (label.length > LABEL_MAX_CHARS || !LABEL.test(label)) return `A label is 1 to ${LABEL_MAX_CHARS} of a-z, 0-9, _ and - (no spaces).`;
  if (current.includes(label)) return `The ticket already has ${label}.`;
  if (current.length >= MAX_LABELS) return `A ticket carries at most ${MAX_LABELS} labels.`;
  return null;
}

/** The set with `label` added, sorted as the server returns it. */
export function withLabel(current: readonly string[], label: string): string[] {
  return [...new Set([...current, label])].sort();
}
