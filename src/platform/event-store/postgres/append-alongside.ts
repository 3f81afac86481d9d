/**
 * Rows of plain tables written in an append's own transaction (AppendOptions.alongside): a
 * request's log row rides with its settle, so one commit carries both, or neither.
 *
 * Each path of a group commit adds the writers' INSERTs to the statement (or transaction) it
 * already runs, fed only the rows of calls it writes: a call refused by its version check, or
 * planned against a head another writer moved (written again later, or refused then), brings
 * no row. The rows' SQL is their table owner's (SideWriter); this file only wires it in.
 */
import { AppendResult, SideWriter } from '../event-store.port';
import { Pending } from './append-plan';

export interface SideGroup {
  writer: SideWriter;
  /** The rows, each tagged with its call's stream (`{ s, r }`) when `tagged`. */
  rows: unknown[];
}

/** The side rows of the calls whose outcome is a write (not an error), grouped by writer, in a stable order. */
export function sideGroups(batch: Pending[], outcomes: ReadonlyArray<AppendResult | Error | undefined>, tagged = false): SideGroup[] {
  const groups = new Map<string, SideGroup>();
  batch.forEach((p, i) => {
    const o = outcomes[i];
    if (!p.options.alongside || o === undefined || o instanceof Error) return;
    for (const side of p.options.alongside) {
      let g = groups.get(side.writer.name);
      if (!g) groups.set(side.writer.name, (g = { writer: side.writer, rows: [] }));
      for (const r of side.rows) g.rows.push(tagged ? { s: p.streamId, r } : r);
    }
  });
  return [...groups.values()].sort((a, b) => (a.writer.name < b.writer.name ? -1 : 1));
}

/**
 * The groups as CTEs (`, side_0 AS (INSERT ...)` ...) reading parameters from `$first` on, each
 * a json array; `source(param)` is the subquery yielding column `j` from that parameter. Also a
 * suffix for the prepared statement's name (one statement per set of writers).
 */
export function sideCtes(groups: SideGroup[], first: number, source: (param: string) => string): { sql: string; values: string[]; name: string } {
  const name = groups.map((g) => `+${g.writer.name}`).join('');
  // Built once per statement and set of writers (the text of a prepared statement never changes).
  const key = `${first}${name}${source('')}`;
  let sql = texts.get(key);
  if (sql === undefined) {
    sql = groups.map((g, i) => `, side_${i} AS (\n  ${g.writer.insert(source(`$${first + i}::json`))}\n)`).join('');
    texts.set(key, sql);
  }
  return { sql, values: groups.map((g) => JSON.stringify(g.rows)), name };
}

const texts = new Map<string, string>();

/** The outcomes of calls that carried rows and were written with them, marked so. */
export function markWritten(batch: Pending[], outcomes: Array<AppendResult | Error | undefined>): void {
  batch.forEach((p, i) => {
    const o = outcomes[i];
    if (p.options.alongside?.length && o !== undefined && !(o instanceof Error)) outcomes[i] = { ...o, alongsideWritten: true };
  });
}

/** Whether any call of the batch carries side rows. */
export const carriesSideRows = (batch: Pending[]): boolean => batch.some((p) => p.options.alongside?.length);

/** The batch without its side rows (after Postgres refused one of them for its data). */
export function withoutSideRows(batch: Pending[]): void {
  for (const p of batch) if (p.options.alongside) p.options = { ...p.options, alongside: undefined };
}

