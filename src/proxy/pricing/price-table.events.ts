/**
 * Price tables are events on one stream, `prices`: PriceTablePublished, each with the time it
 * takes effect. A charge records the version (the event's position in the stream) it used, so a
 * receipt can always say which unit prices it was computed with.
 *
 * Rates are bigints in memory and decimal strings on disk (JSON numbers are floats). Models are
 * stored sorted by name, so the same table always encodes to the same bytes and, through
 * priceTableId, to the same event id: publishing it twice appends it once.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../platform/event-store/canonical';
import { JsonObject } from '../../platform/event-store/event-store.port';
import { deterministicId } from '../../shared/ids';
import { ModelPrice, TokenRates, validateModelPrice } from './model-price';
import { PricingError } from './pricing.errors';

export const PRICES_STREAM = 'prices';
export const PRICE_TABLE_PUBLISHED = 'PriceTablePublished';

/** 'shipped': the table in this release, published at start; 'operator': published by hand. */
export type PriceTableSource = 'shipped' | 'operator';

export interface PriceTableContent {
  effectiveAt: string; // ISO-8601, UTC
  marginBps: number; // basis points added on top of the rates: 750 = 7.5%
  models: ModelPrice[];
  source: PriceTableSource;
}

export interface PublishedPriceTable extends PriceTableContent {
  version: number; // 1, 2, 3…: the event's version in the `prices` stream
}

/** A margin above 100 000 bps (1000%) is a typo, not a price. */
export const MAX_MARGIN_BPS = 100_000;

const RATE_KEYS = ['input', 'output', 'cachedInput', 'cacheWrite'] as const;

/** Validates and normalises a table's content: ISO time, sorted models, names and aliases unique. */
export function normalizeContent(content: PriceTableContent): PriceTableContent {
  const at = new Date(content.effectiveAt);
  if (typeof content.effectiveAt !== 'string' || Number.isNaN(at.getTime())) {
    throw new PricingError('invalid_price_table', `effectiveAt is not a time: ${JSON.stringify(content.effectiveAt)}`);
  }
  if (!Number.isSafeInteger(content.marginBps) || content.marginBps < 0 || content.marginBps > MAX_MARGIN_BPS) {
    throw new PricingError('invalid_margin', `marginBps must be a whole number from 0 to ${MAX_MARGIN_BPS}`);
  }
  if (content.source !== 'shipped' && content.source !== 'operator') {
    throw new PricingError('invalid_price_table', `unknown source ${String(content.source)}`);
  }
  if (!Array.isArray(content.models) || content.models.length === 0) {
    throw new PricingError('invalid_price_table', 'a price table needs at least one model');
  }
  const names = new Set<string>();
  for (const m of content.models) {
    validateModelPrice(m);
    for (const name of [m.model, ...(m.aliases ?? [])]) {
      if (names.has(name)) throw new PricingError('invalid_price_table', `model name ${JSON.stringify(name)} appears twice`);
      names.add(name);
    }
  }
  const models = [...content.models].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return { effectiveAt: at.toISOString(), marginBps: content.marginBps, models, source: content.source };
}

function encodeRates(r: TokenRates): Record<string, string> {
  return { input: r.input.toString(), output: r.output.toString(), cachedInput: r.cachedInput.toString(), cacheWrite: r.cacheWrite.toString() };
}

export function encodeModelPrice(m: ModelPrice): JsonObject {
  const out: JsonObject = {
    model: m.model,
    provider: m.provider,
    ...encodeRates(m),
    maxOutputTokens: m.maxOutputTokens,
    contextWindow: m.contextWindow,
  };
  if (m.aliases?.length) out.aliases = [...m.aliases];
  if (m.maxImageTokens !== undefined) out.maxImageTokens = m.maxImageTokens;
  if (m.endpoints) out.endpoints = [...m.endpoints];
  if (m.longContext) out.longContext = { aboveInputTokens: m.longContext.aboveInputTokens, ...encodeRates(m.longContext) };
  return out;
}

function decodeRates(o: Record<string, unknown>, where: string): TokenRates {
  const rates = {} as Record<(typeof RATE_KEYS)[number], bigint>;
  for (const k of RATE_KEYS) {
    const v = o[k];
    if (typeof v !== 'string' || !/^\d{1,30}$/.test(v)) {
      throw new PricingError('invalid_price_table', `${where}.${k} is not a decimal string of µcr`);
    }
    rates[k] = BigInt(v);
  }
  return rates;
}

export function decodeModelPrice(o: JsonObject): ModelPrice {
  const where = `model ${JSON.stringify(o.model)}`;
  const m: ModelPrice = {
    model: o.model as string,
    provider: o.provider as ModelPrice['provider'],
    ...decodeRates(o, where),
    maxOutputTokens: o.maxOutputTokens as number,
    contextWindow: o.contextWindow as number,
  };
  if (o.aliases !== undefined) m.aliases = o.aliases as string[];
  if (o.maxImageTokens !== undefined) m.maxImageTokens = o.maxImageTokens as number;
  if (o.endpoints !== undefined) m.endpoints = o.endpoints as ModelPrice['endpoints'];
  if (o.longContext !== undefined) {
    const lc = o.longContext as JsonObject;
    m.longContext = { aboveInputTokens: lc.aboveInputTokens as number, ...decodeRates(lc, `${where}.longContext`) };
  }
  return validateModelPrice(m);
}

export function encodePriceTable(t: PublishedPriceTable): JsonObject {
  const c = normalizeContent(t);
  return {
    version: t.version,
    effectiveAt: c.effectiveAt,
    marginBps: c.marginBps,
    source: c.source,
    models: c.models.map(encodeModelPrice),
  };
}

export function decodePriceTable(data: JsonObject): PublishedPriceTable {
  if (!Number.isSafeInteger(data.version) || (data.version as number) < 1) {
    throw new PricingError('invalid_price_table', 'version must be a whole number ≥ 1');
  }
  if (!Array.isArray(data.models)) throw new PricingError('invalid_price_table', 'models must be a list');
  const content = normalizeContent({
    effectiveAt: data.effectiveAt as string,
    marginBps: data.marginBps as number,
    source: data.source as PriceTableSource,
    models: (data.models as JsonObject[]).map(decodeModelPrice),
  });
  return { version: data.version as number, ...content };
}

/** sha-256 of the canonical content, as hex: equal exactly when two tables would charge alike. */
export function priceTableHash(content: PriceTableContent): string {
  const c = normalizeContent(content);
  return createHash('sha256')
    .update(canonicalJson({ effectiveAt: c.effectiveAt, marginBps: c.marginBps, source: c.source, models: c.models.map(encodeModelPrice) }))
    .digest('hex');
}

/** The event id of a table: a retried publish of the same content is the same event. */
export function priceTableId(content: PriceTableContent): string {
  return deterministicId(`price-table:${priceTableHash(content)}`);
}

/** Whether two tables charge the same (same models, rates and margin), whenever they take effect. */
export function sameCharges(a: Pick<PriceTableContent, 'models' | 'marginBps'>, b: Pick<PriceTableContent, 'models' | 'marginBps'>): boolean {
  const key = (t: Pick<PriceTableContent, 'models' | 'marginBps'>) =>
    canonicalJson({
      marginBps: t.marginBps,
      models: [...t.models].sort((x, y) => (x.model < y.model ? -1 : x.model > y.model ? 1 : 0)).map(encodeModelPrice),
    });
  return key(a) === key(b);
}
