/** One staff action's state: busy while it runs (its button shows "…ing"), its error, its answer. */
import { useState } from 'preact/hooks';

export interface Action<T> {
  busy: boolean;
  error: unknown;
  result: T | undefined;
  run: (work: () => Promise<T>) => Promise<void>;
}

export function useAction<T>(): Action<T> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<T | undefined>(undefined);
  const run = async (work: () => Promise<T>) => {
    setBusy(true);
    setError(null);
    try {
      setResult(await work());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, result, run };
}

export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
export const day = (iso: string) => iso.slice(0, 10);
/** `?asOf=` for a date input's value: a bare date is the end of that day, UTC, on the API. */
export const asOfQuery = (date: string) => (date ? `?asOf=${encodeURIComponent(date)}` : '');
