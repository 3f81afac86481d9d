/**
 * How one row of an export section is written: a JSON object per row (a JSON array per file)
 * and a CSV line per row (RFC 4180, with a header), of the same columns in the same order. CSV
 * cells a spreadsheet would run as formulas are neutralised by the usage API's csvCell (the
 * person's own words, project and key names are in these files, and they are meant to be
 * opened in one). Pure: no I/O.
 */
import { csvCell } from '../../../usage-api/domain/usage-csv';

/** A cell: text, a whole number, a flag, or nothing. Amounts are exact decimal strings. */
export type ExportValue = string | number | boolean | null;
export type ExportRow = Record<string, ExportValue>;

export const CSV_EOL = '\r\n';

export function csvHeader(columns: readonly string[]): string {
  return columns.map((c) => csvCell(c)).join(',') + CSV_EOL;
}

export function csvLine(columns: readonly string[], row: ExportRow): string {
  return columns.map((c) => csvValue(row[c])).join(',') + CSV_EOL;
}

function csvValue(v: ExportValue | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return csvCell(v);
}

const keyPrefixes = new WeakMap<readonly string[], string[]>();

/** The row as a JSON object of exactly the section's columns, in order (a missing one is null). */
export function jsonLine(columns: readonly string[], row: ExportRow): string {
  // Written key by key, not through an object per row: a million rows make a million fewer objects.
  let prefixes = keyPrefixes.get(columns);
  if (!prefixes) {
    prefixes = columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c)}:`);
    keyPrefixes.set(columns, prefixes);
  }
  let out = '';
  for (let i = 0; i < columns.length; i++) out += prefixes[i] + JSON.stringify(row[columns[i]] ?? null);
  return columns.length === 0 ? '{}' : `${out}}`;
}

/** An ISO 8601 instant, or null. */
export const iso = (d: Date | string | null | undefined): string | null => (d == null ? null : new Date(d).toISOString());
