/**
 * A staff action in two steps: its button opens a panel that says what will happen, holds the
 * action's fields (a reason, kept in the audit trail, at least), and carries it out only on "Yes,
 * …". While the API works, the button says "…ing" with aria-busy; a refusal shows the API's own
 * message and code, and the panel stays open so it can be fixed and sent again.
 *
 * The reason belongs to the panel (`reason` prop): several actions on one row each have their
 * own, so words typed to decline never become the reason to restrict. It is gone once the panel
 * closes, by Cancel or after success, as is a refusal shown in it.
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
  /** The panel's own reason field (after `children`); its text is what `run` receives. */
  reason?: { id: string; label: string };
  run: (reason: string) => Promise<T>;
  done: (result: T) => void;
}

export function ConfirmAction<T>(props: ConfirmActionProps<T>) {
  const [open, setOpen] = useState(false);
  if (!open) {
    const { label, target, danger } = props;
    return (
      // The name starts with the words shown (WCAG 2.5.3), then says what it acts on.
      <button type="button" class={danger ? 'danger' : 'secondary'} aria-expanded="false" aria-label={target ? `${label} ${target}…` : undefined} onClick={() => setOpen(true)}>
        {label}…
      </button>
    );
  }
  return <ConfirmPanel {...props} close={() => setOpen(false)} />;
}

/** The open panel: mounted only while open, so its reason and its last refusal go when it closes. */
function ConfirmPanel<T>({ label, busyLabel, question, target, danger, children, reason: field, run, done, close }: ConfirmActionProps<T> & { close: () => void }) {
  const [reason, setReason] = useState('');
  const action = useAction<T>();
  const confirm = async (e: Event) => {
    e.preventDefault();
    let ok = false;
    let result: T | undefined;
    await action.run(async () => {
      result = await run(reason);
      ok = true;
      return result;
    });
    if (ok) {
      close();
      done(result as T);
    }
  };
  return (
    <form class="confirm" onSubmit={(e) => void confirm(e)} aria-label={target ? `${label} ${target}` : label}>
      <p>
        <strong>{question}</strong>
      </p>
      {children}
      {field && <ReasonField id={field.id} label={field.label} value={reason} set={setReason} />}
      <ErrorMessage error={action.error} />
      <div class="row">
        <button type="submit" class={danger ? 'danger' : undefined} disabled={action.busy} aria-busy={action.busy}>
          {action.busy ? busyLabel : `Yes, ${label.toLowerCase()}`}
        </button>
        <button type="button" class="secondary" disabled={action.busy} onClick={close}>
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
