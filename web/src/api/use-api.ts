/**
 * A GET of the account API as screen state: `{ data, error, loading, reload }`. The request is
 * aborted when the screen goes away or the path changes, so a late answer never lands on the
 * wrong screen.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, request } from './client';

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: path !== null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    request<T>(path, { signal: abort.signal }).then(
      (data) => setState({ data, loading: false }),
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setState({ error: err instanceof ApiError ? err : new ApiError('bad_response', String(err), 0), loading: false });
      },
    );
    return () => abort.abort();
  }, [path, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}
