/**
 * How the account API spells the reads: money as exact decimal strings of credits, counts as
 * JSON numbers, times as ISO-8601; and the zod schemas that both check the query strings and
 * document the answers in /openapi.json. One place, so the docs cannot drift from the code.
 */
import { z } from 'zod';
import { formatCredits } from '../../shared/money';
import { BalanceRow, RequestSummaryRow, TransactionRow, UsageSum } from '../application/account-reads.repository';
import { MAX_USAGE_TOP, USAGE_GROUPS } from '../domain/usage-window';
import { UsageLine } from '../domain/usage-csv';
import { MODEL_MAX_CHARS } from '../../proxy/usage/request-log.repository';
import { storableText } from '../../platform/database/storable-text';

const credits = z.string().describe('exact decimal string of credits (1 credit = 1 USD), six decimals');

export const balanceSchema = z.object({
  available: credits,
  held: credits.describe('reserved by requests under way'),
  frozen: credits.describe('set aside for an approved refund or a disputed payment: not spendable'),
  receivable: credits.describe('owed from requests billed after an outage, or a lost payment dispute; repaid first from the next credit'),
  freeRequests: z.number().int(),
  asOf: z
    .string()
    .describe(
      'the figures are the ledger’s as of this instant (the last event of the account the read model has applied); the read model follows the ledger within a fraction of a second',
    ),
});

export const transactionSchema = z.object({
  id: z.string(),
  kind: z.enum(['purchase', 'crypto_payment', 'grant', 'refund', 'adjustment', 'receivable', 'receivable_repaid']),
  amount: credits.describe('signed from the account’s side'),
  reference: z.string(),
  reason: z.string().nullable(),
  occurredAt: z.string(),
});

export const usageLineSchema = z.object({
  group: z.string().describe('the UTC day (YYYY-MM-DD), the model, the key id, or the project name ("(none)" for keys without one); with two dimensions, the day'),
  subgroup: z
    .string()
    .nullable()
    .optional()
    .describe('only with two dimensions (group_by=day,model or day,key): the model or key id of that day; null for the sum of those past `top`'),
  name: z
    .string()
    .nullable()
    .optional()
    .describe('only by key (group_by=key or day,key): the key’s name, "(erased)" once its person is erased; null for a key not known yet and for the line of the rest'),
  requests: z.number().int(),
  inputTokens: z.number().int().describe('all input the model read: uncached, read from and written to the prompt cache'),
  outputTokens: z.number().int(),
  cost: credits,
});

export const usageSchema = z.object({
  data: z.array(usageLineSchema),
  from: z.string(),
  to: z.string(),
  groupBy: z.enum(USAGE_GROUPS),
});

export const requestSummarySchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  keyId: z.string(),
  endpoint: z.string(),
  model: z.string(),
  provider: z.string().nullable(),
  stream: z.boolean(),
  status: z.number().int().describe('the HTTP status the client got'),
  errorCode: z.string().nullable(),
  inputTokens: z.number().int(),
  cachedTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  outputTokens: z.number().int(),
  estimated: z.boolean(),
  freeRequest: z.boolean(),
  cost: credits,
  billing: z.string(),
  latencyMs: z.number().int(),
});

// The receipt of GET /v1/generations/{id} (proxy/usage/receipt.ts), as documented here.
const tokens = z.number().int();
export const receiptSchema = z.object({
  id: z.string(),
  object: z.literal('generation'),
  created_at: z.string(),
  endpoint: z.string(),
  model: z.string(),
  provider: z.string().nullable(),
  channel_id: z.string().nullable(),
  stream: z.boolean(),
  status: z.number().int(),
  error_code: z.string().nullable(),
  usage: z.object({ input_tokens: tokens, cached_tokens: tokens, cache_write_tokens: tokens, output_tokens: tokens }),
  estimated: z.boolean(),
  free_request: z.boolean(),
  price_version: z.number().int().nullable(),
  unit_prices: z.record(z.string(), z.union([z.string(), z.number()])).nullable(),
  hold: credits,
  cost: credits,
  billing: z.enum(['settled', 'voided', 'free', 'none', 'unbilled']),
  latency_ms: z.number().int(),
  time_to_first_byte_ms: z.number().int().nullable(),
  attempts: z.number().int(),
});

export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

// What the query strings may hold (unknown parameters are ignored).
export const usageQuerySchema = z.object({
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  group_by: z.enum(USAGE_GROUPS).default('day'),
  format: z.enum(['json', 'csv']).default('json'),
  top: z
    .string()
    .regex(/^\d{1,3}$/, `a whole number, 1 to ${MAX_USAGE_TOP}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_USAGE_TOP, `a whole number, 1 to ${MAX_USAGE_TOP}`)
    .optional(),
});

export const requestsQuerySchema = z.object({
  key: z.uuid().optional(),
  // As the request log stored it (a NUL or lone surrogate replaced), so any name a client sent finds its rows.
  model: z.string().min(1).max(MODEL_MAX_CHARS).transform((m) => storableText(m, MODEL_MAX_CHARS)).optional(),
  status: z
    .string()
    .regex(/^[1-5]\d\d$/, 'an HTTP status, 100 to 599')
    .transform(Number)
    .optional(),
  outcome: z.enum(['ok', 'error'], { error: 'must be ok (a status below 400) or error (400 and above)' }).optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
});

/**
 * A decoded cursor is whatever a client sent: only our own keyset shape is accepted, with a
 * real instant (formatted back to the same text) and an id of the list's kind, so nothing a
 * client forges reaches Postgres as a value it cannot read.
 */
const keysetAt = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
  .refine((at) => {
    const ms = Date.parse(`${at.slice(0, 23)}Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 23) === at.slice(0, 23);
  });
export const requestKeysetSchema = z.object({ at: keysetAt, id: z.string().min(1).max(200) });
export const transactionKeysetSchema = z.object({ at: keysetAt, id: z.uuid() });

const big = (n: bigint): number => Number(n);

export const balanceView = (b: BalanceRow): z.infer<typeof balanceSchema> => ({
  available: formatCredits(b.available),
  held: formatCredits(b.held),
  frozen: formatCredits(b.frozen),
  receivable: formatCredits(b.receivable),
  freeRequests: b.freeRequests,
  asOf: b.asOf.toISOString(),
});

export const transactionView = (t: TransactionRow) => ({
  id: t.id,
  kind: t.kind,
  amount: formatCredits(t.amount),
  reference: t.reference,
  reason: t.reason,
  occurredAt: t.occurredAt.toISOString(),
});

export const usageLineView = (u: UsageSum): UsageLine => ({
  group: u.group,
  ...(u.subgroup !== undefined ? { subgroup: u.subgroup } : {}),
  ...(u.name !== undefined ? { name: u.name } : {}),
  requests: big(u.requests),
  inputTokens: big(u.inputTokens),
  outputTokens: big(u.outputTokens),
  cost: formatCredits(u.cost),
});

export const requestSummaryView = (r: RequestSummaryRow) => ({
  id: r.id,
  createdAt: r.startedAt.toISOString(),
  keyId: r.keyId,
  endpoint: r.endpoint,
  model: r.model,
  provider: r.provider,
  stream: r.stream,
  status: r.status,
  errorCode: r.errorCode,
  inputTokens: big(r.inputTokens),
  cachedTokens: big(r.cachedTokens),
  cacheWriteTokens: big(r.cacheWriteTokens),
  outputTokens: big(r.outputTokens),
  estimated: r.estimated,
  freeRequest: r.freeRequest,
  cost: formatCredits(r.cost),
  billing: r.billing,
  latencyMs: r.latencyMs,
});

