/**
 * A paged list of the account API (`{ data, nextCursor }`) as screen state: the first page, then
 * `more()` appends the next one. `reload()` starts again from the first page (after a write).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, request } from './client';
import type { Page } from './types';

export interface Pages<T> {
  items: T[];
  error: ApiError | undefined;
  loading: boolean;
  hasMore: boolean;
  more: () => void;
  reload: () => void;
}

const withCursor = (path: string, cursor: string) => `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`;

export function usePages<T>(path: string): Pages<T> {
  // The path the screen asks for now: a page of an earlier path (a filter changed while "more"
  // was loading) must not land in this list.
  const current = useRef(path);
  current.current = path;
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | undefined>();
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);

  const load = useCallback(
    async (cursor: string | null, signal?: AbortSignal) => {
      setLoading(true);
      try {
        const page = await request<Page<T>>(cursor ? withCursor(path, cursor) : path, { signal });
        if (current.current !== path) return;
        setItems((old) => (cursor ? [...old, ...page.data] : page.data));
        setNext(page.nextCursor);
        setError(undefined);
      } catch (err) {
        if (signal?.aborted || current.current !== path) return;
        setError(err instanceof ApiError ? err : new ApiError('bad_response', String(err), 0));
      } finally {
        if (!signal?.aborted) setLoading(false);
      }
    },
    [path],
  );

  useEffect(() => {
    const abort = new AbortController();
    void load(null, abort.signal);
    return () => abort.abort();
  }, [load, generation]);

  return {
    items,
    error,
    loading,
    hasMore: next !== null,
    more: () => next && void load(next),
    reload: () => setGeneration((g) => g + 1),
  };
}
