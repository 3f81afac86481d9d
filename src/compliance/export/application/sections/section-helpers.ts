/** Small helpers the built-in sections share: amounts as exact credits, and a section from one SQL query. */
import { QueryResultRow } from 'pg';
import { formatCredits, microsFromDb } from '../../../../shared/money';
import { ExportRow } from '../../domain/export-format';
import { ExportContext, ExportSection } from '../export-section';

/** µcr from Postgres (bigint as text) → "12.500000"; null stays null. */
export const credits = (v: unknown): string | null => (v == null ? null : formatCredits(microsFromDb(v as string)));

/** A row as pg returns it; sections read its cells through the converters below. */
export type SqlRow = Record<string, unknown>;
/** Text (ids, names, codes), or null. */
export const text = (v: unknown): string | null => (v == null ? null : typeof v === 'string' ? v : JSON.stringify(v));
/** A whole number (counts, ms, small ids), or null. */
export const num = (v: unknown): number | null => (v == null ? null : Number(v));
export const flag = (v: unknown): boolean | null => (v == null ? null : v === true);
/** An instant as ISO 8601 UTC, or null. Text already in that form (see ISO_SQL) is kept as it is. */
export const instant = (v: unknown): string | null =>
  v == null ? null : typeof v === 'string' && v.endsWith('Z') ? v : new Date(v as string | Date).toISOString();
/** SQL for a timestamptz column as the text toISOString() would give (no Date made per row). */
export const isoSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** A text[] joined with spaces, or null. */
export const words = (v: unknown): string | null => (Array.isArray(v) ? v.map(String).join(' ') : null);

export interface SqlSectionSpec<R extends QueryResultRow> {
  name: string;
  description: string;
  order: number;
  columns: readonly string[];
  /** The query, ordered; its parameters come from `params` (default: the account id as $1). */
  sql: string;
  params?(ctx: ExportContext): unknown[];
  /**
   * A read model the query reads, made by its projection runner when a worker starts: until it
   * exists the section has no rows (a failed query would end the export's snapshot).
   */
  readModel?: string;
  map(row: R, ctx: ExportContext): Promise<ExportRow> | ExportRow;
}

/** A section that is one ordered query over the snapshot, each row mapped (and opened) on the way. */
export function sqlSection<R extends QueryResultRow = SqlRow>(spec: SqlSectionSpec<R>): ExportSection {
  const exists = async (ctx: ExportContext) =>
    !spec.readModel || (await ctx.db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [spec.readModel]))[0].ok;
  const used = (ctx: ExportContext) => (spec.params ? spec.params(ctx) : [ctx.subject.accountId]);
  return {
    name: spec.name,
    description: spec.description,
    order: spec.order,
    columns: spec.columns,
    count: async (ctx) => ((await exists(ctx)) ? ctx.db.count(spec.sql, used(ctx)) : 0),
    async *batches(ctx) {
      if (!(await exists(ctx))) return;
      for await (const page of ctx.db.pages<R>(spec.sql, used(ctx))) {
        const out: ExportRow[] = new Array<ExportRow>(page.length);
        for (let i = 0; i < page.length; i++) {
          const mapped = spec.map(page[i], ctx);
          // Only rows with personal fields wait for the vault; the others are mapped in one go.
          out[i] = mapped instanceof Promise ? await mapped : mapped;
        }
        yield out;
      }
    },
  };
}
