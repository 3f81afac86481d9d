/**
 * A staff action in two steps: its button opens a panel that says what will happen, holds the
 * action's fields (a reason, kept in the audit trail, at least), and carries it out only on "Yes,
 * …". While the API works, the button says "…ing" with aria-busy; a refusal shows the API's own
 * message and code, and the panel stays open so it can be fixed and sent again.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ErrorMessage } from '../../components/error-message';
import { useAction } from './use-action';

export interface ConfirmActionProps<T> {
  /** The opening button's text, e.g. "Decline" (it reads "Decline…" while closed). */
  label: string;
  /** "Declining…" */
  busyLabel: string;
  /** What will happen, said in full before anything does. */
  question: string;
  /** What it acts on, for screen readers when several rows have the same button: "Decline" + " the access request of …". */
  target?: string;
  danger?: boolean;
  children?: ComponentChildren;
  run: () => Promise<T>;
  done: (result: T) => void;
}

export function ConfirmAction<T>({ label, busyLabel, question, target, danger, children, run, done }: ConfirmActionProps<T>) {
  const [open, setOpen] = useState(false);
  const action = useAction<T>();
  if (!open) {
    return (
      // The name starts with the words shown (WCAG 2.5.3), then says what it acts on.
      <button type="button" class={danger ? 'danger' : 'secondary'} aria-expanded="false" aria-label={target ? `${label} ${target}…` : undefined} onClick={() => setOpen(true)}>
        {label}…
      </button>
    );
  }
  const confirm = async (e: Event) => {
    e.preventDefault();
    let ok = false;
    let result: T | undefined;
    await action.run(async () => {
      result = await run();
      ok = true;
      return result;
    });
    if (ok) {
      setOpen(false);
      done(result as T);
    }
  };
  return (
    <form class="confirm" onSubmit={(e) => void confirm(e)} aria-label={target ? `${label} ${target}` : label}>
      <p>
        <strong>{question}</strong>
      </p>
      {children}
      <ErrorMessage error={action.error} />
      <div class="row">
        <button type="submit" class={danger ? 'danger' : undefined} disabled={action.busy} aria-busy={action.busy}>
          {action.busy ? busyLabel : `Yes, ${label.toLowerCase()}`}
        </button>
        <button type="button" class="secondary" disabled={action.busy} onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The reason field every staff write carries (the API refuses an empty one, in its own words). */
export function ReasonField({ id, label = 'Reason', value, set }: { id: string; label?: string; value: string; set: (v: string) => void }) {
  return (
    <>
      <label for={id}>{label} (kept in the audit trail)</label>
      <input id={id} value={value} onInput={(e) => set(e.currentTarget.value)} />
    </>
  );
}
