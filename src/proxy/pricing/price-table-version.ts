/**
 * One published price table, as a request sees it: built once per version, looked up by model
 * name in O(1). A request prices with one version from start to settle, and the charge records
 * its number.
 */
import { ModelPrice } from './model-price';
import { PublishedPriceTable } from './price-table.events';

// Dated snapshots: claude-…-20250514, gpt-…-2024-08-06.
const DATE_SUFFIX = /-(\d{8}|\d{4}-\d{2}-\d{2})$/;

export class PriceTableVersion {
  readonly version: number;
  readonly effectiveAt: string;
  readonly marginBps: number;
  private readonly list: readonly ModelPrice[];
  private readonly byName = new Map<string, ModelPrice>();

  constructor(table: PublishedPriceTable) {
    this.version = table.version;
    this.effectiveAt = table.effectiveAt;
    this.marginBps = table.marginBps;
    this.list = Object.freeze([...table.models]);
    for (const m of table.models) {
      this.byName.set(m.model, m);
      for (const a of m.aliases ?? []) this.byName.set(a, m);
    }
  }

  /**
   * The price of a model by its name or an alias. A name the table does not list is tried
   * without a `models/` prefix (Gemini), a `-latest` suffix or a dated-snapshot suffix, so a new
   * snapshot of a listed model is priced as that model until a table lists it on its own.
   */
  get(model: string): ModelPrice | undefined {
    const exact = this.byName.get(model);
    if (exact) return exact;
    let name = model.startsWith('models/') ? model.slice('models/'.length) : model;
    const found = this.byName.get(name);
    if (found) return found;
    if (name.endsWith('-latest')) name = name.slice(0, -'-latest'.length);
    else name = name.replace(DATE_SUFFIX, '');
    return name === model ? undefined : this.byName.get(name);
  }

  /** Every model of the table, sorted by name (aliases are not repeated). */
  models(): ModelPrice[] {
    return [...this.list];
  }
}
