/**
 * The header's "Assistant" button, on every signed-in screen. The panel's code is its own chunk,
 * loaded on the first press (the overview loads none of it); once opened the panel stays mounted,
 * closed, so the conversation survives closing it and moving between screens. Closing gives
 * focus back to this button.
 */
import type { ComponentType } from 'preact';
import { useCallback, useRef, useState } from 'preact/hooks';
import { ErrorMessage } from './error-message';

type Panel = ComponentType<{ open: boolean; onClose: () => void }>;

export function AssistantButton() {
  const [Panel, setPanel] = useState<Panel | null>(null);
  const [open, setOpen] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const button = useRef<HTMLButtonElement>(null);

  const show = async () => {
    setError(null);
    if (!Panel) {
      setLoading(true);
      try {
        const { AssistantPanel } = await import('./assistant-panel');
        setPanel(() => AssistantPanel);
      } catch (err) {
        setError(new Error(`the assistant could not be loaded (${String(err)}); reload the page`));
        return;
      } finally {
        setLoading(false);
      }
    }
    setOpen(true);
  };
  const close = useCallback(() => {
    setOpen(false);
    button.current?.focus();
  }, []);

  return (
    <>
      <button type="button" ref={button} class="secondary assistant-open" aria-haspopup="dialog" onClick={() => void show()} disabled={loading} aria-busy={loading}>
        Assistant
      </button>
      {Panel && <Panel open={open} onClose={close} />}
      <ErrorMessage error={error} />
    </>
  );
}
