/**
 * `ledger replay` for a write-through table kept beside its streams (one row per stream
 * `<prefix><id>`, written right after each append): every row written again from its folded
 * stream, a row whose stream is empty removed. `repaired` counts rows that were missing, removed,
 * or not as their stream says (any field: the row is a pure function of the stream).
 */
import { EventStore, LOG_START, RecordedEvent } from './event-store.port';

export interface RowsOfStreams<R> {
  ids(): Promise<string[]>;
  find(id: string): Promise<unknown>;
  write(row: R): Promise<unknown>;
  remove(id: string): Promise<boolean>;
}

const PAGE = 5000;
const bigints = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

export async function rebuildRowsFromStreams<R>(
  store: EventStore,
  prefix: string,
  rows: RowsOfStreams<R>,
  fold: (events: RecordedEvent[]) => R | null,
  onProgress?: (done: number) => void,
): Promise<{ rows: number; repaired: number }> {
  const ids = new Set(await rows.ids());
  for (let after = LOG_START; ; ) {
    const page = await store.readAll({ after, limit: PAGE, streamPrefixes: [prefix] });
    if (page.length === 0) break;
    for (const e of page) ids.add(e.streamId.slice(prefix.length));
    after = page[page.length - 1].position;
  }
  let written = 0;
  let repaired = 0;
  let done = 0;
  for (const id of ids) {
    const before = await rows.find(id);
    const row = fold(await store.readStream(`${prefix}${id}`));
    if (row) {
      await rows.write(row);
      written++;
      if (JSON.stringify(before, bigints) !== JSON.stringify(await rows.find(id), bigints)) repaired++;
    } else if (before && (await rows.remove(id))) {
      repaired++;
    }
    onProgress?.(++done);
  }
  return { rows: written, repaired };
}
