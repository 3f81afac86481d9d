/**
 * A usage report as CSV (RFC 4180): the JSON answer's columns, in its order, with a header.
 * A cell a spreadsheet would run as a formula (starting with = + - @, tab or carriage return)
 * gets a leading apostrophe (OWASP's CSV-injection advice): model names and project names are
 * chosen by clients, and this file is meant to be opened in one.
 */

export interface UsageLine {
  group: string;
  /** Only in a two-dimension answer (`group_by=day,model`): the model or key; null for the sum of the ones past `top`. */
  subgroup?: string | null;
  /** Only when grouped by key: the key's name ('(erased)' once erased; null when unknown, and on the rest line). */
  name?: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Exact decimal string of credits. */
  cost: string;
}

export const USAGE_CSV_COLUMNS = ['group', 'requests', 'inputTokens', 'outputTokens', 'cost'] as const;

/** Which columns a report has besides the sums: a two-dimension one `subgroup` (empty on the rest line), one by key the key's `name`. */
export interface UsageCsvShape {
  subgroup?: boolean;
  name?: boolean;
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: neutralised if it could start a formula, quoted if it holds a quote, comma or line break. */
export function csvCell(value: string | number): string {
  let s = String(value);
  // Only text can be a person's choice; counts are ours.
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function usageCsv(lines: readonly UsageLine[], shape: UsageCsvShape = {}): string {
  const head = ['group', ...(shape.subgroup ? ['subgroup'] : []), ...(shape.name ? ['name'] : [])];
  const rows = [[...head, ...USAGE_CSV_COLUMNS.slice(1)].join(',')];
  for (const l of lines) {
    const cells = [csvCell(l.group)];
    if (shape.subgroup) cells.push(csvCell(l.subgroup ?? ''));
    if (shape.name) cells.push(csvCell(l.name ?? ''));
    rows.push([...cells, csvCell(l.requests), csvCell(l.inputTokens), csvCell(l.outputTokens), csvCell(l.cost)].join(','));
  }
  return rows.join('\r\n') + '\r\n';
}
