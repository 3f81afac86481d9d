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
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Exact decimal string of credits. */
  cost: string;
}

export const USAGE_CSV_COLUMNS = ['group', 'requests', 'inputTokens', 'outputTokens', 'cost'] as const;
/** A two-dimension report: `subgroup` after `group`; the line of the ones past `top` has it empty. */
export const USAGE_CSV_COLUMNS_TWO = ['group', 'subgroup', 'requests', 'inputTokens', 'outputTokens', 'cost'] as const;

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: neutralised if it could start a formula, quoted if it holds a quote, comma or line break. */
export function csvCell(value: string | number): string {
  let s = String(value);
  // Only text can be a person's choice; counts are ours.
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function usageCsv(lines: readonly UsageLine[], twoDimensions = false): string {
  const rows = [(twoDimensions ? USAGE_CSV_COLUMNS_TWO : USAGE_CSV_COLUMNS).join(',')];
  for (const l of lines) {
    const head = twoDimensions ? [csvCell(l.group), csvCell(l.subgroup ?? '')] : [csvCell(l.group)];
    rows.push([...head, csvCell(l.requests), csvCell(l.inputTokens), csvCell(l.outputTokens), csvCell(l.cost)].join(','));
  }
  return rows.join('\r\n') + '\r\n';
}
