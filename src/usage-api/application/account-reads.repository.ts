/**
 * The SQL behind the account API's reads: the balance (rm_balances), the money that came in or
 * went out (rm_transactions), usage sums (usage_by_model and usage_by_key, kept from request_log
 * by the trigger of migrations/013) and the request log itself. Every query is scoped to one
 * account; lists are keyset pages, newest first, never OFFSET.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { UsageGroup, UsageWindow, isTwoDimensions } from '../domain/usage-window';
import { AccountNames } from '../../compliance/account-names';

export interface BalanceRow {
  available: bigint;
  held: bigint;
  frozen: bigint;
  receivable: bigint;
  freeRequests: number;
  /** The instant the figures are true of: the account's last ledger event they include. */
  asOf: Date;
  /** The account stream's version those figures include. */
  version: bigint;
}

/** Where a newest-first page stopped: the last row's time (microseconds, as text) and id. */
export interface Keyset {
  at: string;
  id: string;
}

export interface TransactionRow {
  id: string;
  kind: string;
  amount: bigint;
  reference: string;
  reason: string | null;
  occurredAt: Date;
  keyset: Keyset;
}

export interface UsageSum {
  group: string;
  /** Two-dimension groupings only: the model or key of the day in `group`; null sums those past `top`. */
  subgroup?: string | null;
  /** Groupings by key only: the key's name as shown (opened; ERASED_NAME once erased); null when the keys read model has no such key, and on the rest line. */
  name?: string | null;
  requests: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cost: bigint;
}

export interface RequestFilters {
  keyId?: string;
  model?: string;
  status?: number;
  /** ok: the client got a status below 400; error: 400 or above. */
  outcome?: 'ok' | 'error';
  /** UTC days (YYYY-MM-DD), both included. */
  from?: string | null;
  to?: string | null;
}

export interface RequestSummaryRow {
  id: string;
  startedAt: Date;
  keyId: string;
  endpoint: string;
  model: string;
  provider: string | null;
  stream: boolean;
  status: number;
  errorCode: string | null;
  inputTokens: bigint;
  cachedTokens: bigint;
  cacheWriteTokens: bigint;
  outputTokens: bigint;
  estimated: boolean;
  freeRequest: boolean;
  cost: bigint;
  billing: string;
  latencyMs: number;
  keyset: Keyset;
}

/** A timestamptz as exact text (to the microsecond, UTC), so a keyset never loses precision through a JS Date. */
const EXACT_AT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// Each group_by sums the rollup that holds it (migrations/013): day and model usage_by_model,
// key and project usage_by_key. A project's sums are its keys' sums, joined to the keys'
// projects after summing (a few rows per key, not one per key and day).
const SUMS = `sum(u.requests)::bigint AS requests, sum(u.input_tokens)::bigint AS input,
              sum(u.output_tokens)::bigint AS output, sum(u.cost_micros)::bigint AS cost`;
const IN_WINDOW = 'u.account_id = $1 AND u.day BETWEEN $2::date AND $3::date';
const USAGE_SQL: Record<UsageGroup, string> = {
  day: `SELECT to_char(u.day, 'YYYY-MM-DD') AS label, ${SUMS} FROM usage_by_model u WHERE ${IN_WINDOW} GROUP BY u.day ORDER BY u.day`,
  model: `SELECT u.model AS label, ${SUMS} FROM usage_by_model u WHERE ${IN_WINDOW} GROUP BY u.model ORDER BY cost DESC, label`,
  // The key's name as stored (sealed: opened after), from the keys read model.
  key: `WITH per_key AS (SELECT u.key_id::text AS label, ${SUMS} FROM usage_by_key u WHERE ${IN_WINDOW} GROUP BY u.key_id)
        SELECT s.label, k.name, k.name_owner::text AS owner, s.requests, s.input, s.output, s.cost
          FROM per_key s LEFT JOIN api_keys k ON k.key_id = s.label AND k.account_id = $1::text
         ORDER BY s.cost DESC, s.label`,
  project: `WITH per_key AS (SELECT u.key_id, ${SUMS} FROM usage_by_key u WHERE ${IN_WINDOW} GROUP BY u.key_id)
            SELECT coalesce(min(p.name), '(none)') AS label, min(p.name_owner::text) AS owner, sum(s.requests)::bigint AS requests, sum(s.input)::bigint AS input,
                   sum(s.output)::bigint AS output, sum(s.cost)::bigint AS cost
              FROM per_key s LEFT JOIN api_keys k ON k.key_id = s.key_id::text LEFT JOIN projects p ON p.project_id = k.project_id
             GROUP BY p.project_id ORDER BY cost DESC, label`,
  'day,model': perDayBy('usage_by_model', 'u.model'),
  'day,key': perDayBy('usage_by_key', 'u.key_id::text', true),
};

/**
 * Per day and model (or key): the subgroups ranked by their cost over the whole window, the
 * first $4 (all when null) named, the rest summed per day as one line with subgroup NULL, so a
 * chart's series are bounded whatever an account sent. Days in order; in a day, named lines by
 * cost, then the rest.
 */
function perDayBy(table: string, column: string, keyNames = false): string {
  const name = keyNames ? ', k.name, k.name_owner::text AS owner' : '';
  const join = keyNames ? ' LEFT JOIN api_keys k ON k.key_id = folded.sub AND k.account_id = $1::text' : '';
  return `WITH per AS (SELECT u.day, ${column} AS sub, ${SUMS} FROM ${table} u WHERE ${IN_WINDOW} GROUP BY u.day, ${column}),
               ranked AS (SELECT sub, row_number() OVER (ORDER BY sum(cost) DESC, sub COLLATE "C") AS r FROM per GROUP BY sub),
               folded AS (SELECT per.day, CASE WHEN $4::int IS NULL OR ranked.r <= $4::int THEN per.sub END AS sub,
                                 sum(per.requests)::bigint AS requests, sum(per.input)::bigint AS input, sum(per.output)::bigint AS output, sum(per.cost)::bigint AS cost
                            FROM per JOIN ranked ON ranked.sub = per.sub
                           GROUP BY 1, 2)
          SELECT to_char(folded.day, 'YYYY-MM-DD') AS label, folded.sub, folded.requests, folded.input, folded.output, folded.cost${name}
            FROM folded${join} ORDER BY folded.day, folded.sub IS NULL, folded.cost DESC, folded.sub COLLATE "C"`;
}

/**
 * A read model's schema is made by the projection runner when a worker (or an API running the
 * workers) starts: until then its tables do not exist (SQLSTATE 42P01), which is "not ready",
 * not a fault.
 */
export class ReadModelNotReady extends Error {
  override readonly name = 'ReadModelNotReady';
}

async function fromReadModel<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if ((err as { code?: unknown }).code === '42P01') throw new ReadModelNotReady((err as Error).message);
    throw err;
  }
}

@Injectable()
export class AccountReadsRepository {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly names: AccountNames,
  ) {}

  async balance(accountId: string): Promise<BalanceRow | null> {
    const { rows } = await fromReadModel(() =>
      this.pool.query<{ available: bigint; held: bigint; frozen: bigint; receivable: bigint; free_requests: number; updated_at: Date; version: bigint }>(
        'SELECT available, held, frozen, receivable, free_requests, updated_at, version FROM rm_balances.balances WHERE account_id = $1',
        [accountId],
      ),
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return { available: r.available, held: r.held, frozen: r.frozen, receivable: r.receivable, freeRequests: r.free_requests, asOf: r.updated_at, version: r.version };
  }

  async transactions(accountId: string, limit: number, after: Keyset | null): Promise<TransactionRow[]> {
    const { rows } = await fromReadModel(() =>
      this.pool.query<{ event_id: string; kind: string; amount: bigint; reference: string; reason: string | null; occurred_at: Date; at: string }>(
        `SELECT event_id, kind, amount, reference, reason, occurred_at, ${EXACT_AT('occurred_at')} AS at
           FROM rm_transactions.transactions
          WHERE account_id = $1 AND ($2::timestamptz IS NULL OR (occurred_at, event_id) < ($2::timestamptz, $3::uuid))
          ORDER BY occurred_at DESC, event_id DESC
          LIMIT $4`,
        [accountId, after?.at ?? null, after?.id ?? null, limit],
      ),
    );
    return rows.map((r) => ({
      id: r.event_id,
      kind: r.kind,
      amount: r.amount,
      reference: r.reference,
      reason: r.reason,
      occurredAt: r.occurred_at,
      keyset: { at: r.at, id: r.event_id },
    }));
  }

  /** `top`: for a two-dimension grouping, how many subgroups to name (null: all). */
  async usage(accountId: string, window: UsageWindow, groupBy: UsageGroup, top: number | null = null): Promise<UsageSum[]> {
    const two = isTwoDimensions(groupBy);
    const { rows } = await this.pool.query<{ label: string; sub?: string | null; name?: string | null; owner?: string | null; requests: bigint; input: bigint; output: bigint; cost: bigint }>(
      USAGE_SQL[groupBy],
      two ? [accountId, window.from, window.to, top] : [accountId, window.from, window.to],
    );
    const sums: UsageSum[] = rows.map((r) => ({
      group: r.label,
      ...(two ? { subgroup: r.sub ?? null } : {}),
      requests: r.requests,
      inputTokens: r.input,
      outputTokens: r.output,
      cost: r.cost,
    }));
    if (groupBy === 'key' || groupBy === 'day,key') {
      // Key names are stored sealed (migration 027): opened here, each person's key read once.
      const named = rows.flatMap((r, i) => (r.name == null ? [] : [{ i, name: { value: r.name, owner: r.owner ?? null } }]));
      const opened = await this.names.openMany(named.map((n) => n.name));
      sums.forEach((s) => (s.name = null));
      named.forEach((n, j) => (sums[n.i].name = opened[j]));
    }
    if (groupBy !== 'project') return sums;
    // Project names are stored sealed: opened here, and ordered by them (cost first) as SQL orders the other groups.
    const names = await this.names.openMany(rows.map((r) => ({ value: r.label, owner: r.owner ?? null })));
    sums.forEach((s, i) => (s.group = names[i]));
    return sums.sort((a, b) => (a.cost === b.cost ? (a.group < b.group ? -1 : a.group > b.group ? 1 : 0) : a.cost > b.cost ? -1 : 1));
  }

  async requests(accountId: string, filters: RequestFilters, limit: number, after: Keyset | null): Promise<RequestSummaryRow[]> {
    const { rows } = await this.pool.query<RequestLogSummaryDb>(
      `SELECT request_id, started_at, key_id, endpoint, model, provider, stream, status, error_code,
              input_tokens, cached_tokens, cache_write_tokens, output_tokens, estimated, free_request,
              cost_micros, billing, latency_ms, ${EXACT_AT('started_at')} AS at
         FROM request_log
        WHERE account_id = $1
          AND ($2::uuid IS NULL OR key_id = $2::uuid)
          AND ($3::text IS NULL OR model = $3::text)
          AND ($4::int IS NULL OR status = $4::int)
          AND ($5::timestamptz IS NULL OR (started_at, request_id) < ($5::timestamptz, $6::text))
          AND ($8::text IS NULL OR ($8::text = 'error') = (status >= 400))
          AND ($9::date IS NULL OR started_at >= $9::date::timestamp AT TIME ZONE 'UTC')
          AND ($10::date IS NULL OR started_at < ($10::date + 1)::timestamp AT TIME ZONE 'UTC')
        ORDER BY started_at DESC, request_id DESC
        LIMIT $7`,
      [
        accountId,
        filters.keyId ?? null,
        filters.model ?? null,
        filters.status ?? null,
        after?.at ?? null,
        after?.id ?? null,
        limit,
        filters.outcome ?? null,
        filters.from ?? null,
        filters.to ?? null,
      ],
    );
    return rows.map((r) => ({
      id: r.request_id,
      startedAt: r.started_at,
      keyId: r.key_id,
      endpoint: r.endpoint,
      model: r.model,
      provider: r.provider,
      stream: r.stream,
      status: r.status,
      errorCode: r.error_code,
      inputTokens: r.input_tokens,
      cachedTokens: r.cached_tokens,
      cacheWriteTokens: r.cache_write_tokens,
      outputTokens: r.output_tokens,
      estimated: r.estimated,
      freeRequest: r.free_request,
      cost: r.cost_micros,
      billing: r.billing,
      latencyMs: r.latency_ms,
      keyset: { at: r.at, id: r.request_id },
    }));
  }
}

interface RequestLogSummaryDb {
  request_id: string;
  started_at: Date;
  key_id: string;
  endpoint: string;
  model: string;
  provider: string | null;
  stream: boolean;
  status: number;
  error_code: string | null;
  input_tokens: bigint;
  cached_tokens: bigint;
  cache_write_tokens: bigint;
  output_tokens: bigint;
  estimated: boolean;
  free_request: boolean;
  cost_micros: bigint;
  billing: string;
  latency_ms: number;
  at: string;
}
