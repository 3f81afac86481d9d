/**
 * The built-in sections about what a person's account holds: projects, API keys and management
 * keys (metadata only: never a secret or its hash), ledger transactions, card and crypto
 * payments, receipts, refund requests, usage within retention, and the staff audit entries
 * about the person.
 */
import { ERASED_NAME } from '../../../account-names';
import { ExportContext, ExportSection } from '../export-section';
import { SqlRow, credits, flag, instant, isoSql, num, sqlSection, text, words } from './section-helpers';

/** A key's or project's name: opened when sealed for its holder (the same rule as the account API's). */
const openedName = async (r: SqlRow, ctx: ExportContext): Promise<string | null> =>
  r.name_owner == null ? text(r.name) : ((await ctx.open(text(r.name), text(r.name_owner))) ?? ERASED_NAME);

/** Token units of a USDC/USDT transfer (6 decimals) as an exact decimal string. */
const tokenAmount = (units: string | null): string | null => {
  if (units == null) return null;
  const padded = units.padStart(7, '0');
  return `${padded.slice(0, -6)}.${padded.slice(-6)}`;
};

export const ACCOUNT_SECTIONS: ExportSection[] = [
  sqlSection({
    name: 'projects',
    order: 50,
    description: "The account's projects (groups of API keys).",
    columns: ['project_id', 'name', 'created_at', 'archived_at'],
    sql: 'SELECT project_id, name, name_owner, created_at, archived_at FROM projects WHERE account_id = $1 ORDER BY created_at, project_id',
    map: async (r, ctx) => ({ project_id: text(r.project_id), name: await openedName(r, ctx), created_at: instant(r.created_at), archived_at: instant(r.archived_at) }),
  }),
  sqlSection({
    name: 'api_keys',
    order: 60,
    description: "The account's API keys: metadata and limits. Never the secret or its hash (only the display prefix and last 4 characters).",
    columns: ['key_id', 'project_id', 'name', 'prefix', 'last4', 'status', 'models', 'spend_cap', 'expires_at', 'rpm', 'tpm', 'created_at', 'revoked_at', 'last_used_at'],
    sql: `SELECT key_id, project_id, name, name_owner, prefix, last4, status, models, spend_cap_micros::text AS spend_cap, expires_at, rpm, tpm, created_at, revoked_at, last_used_at
            FROM api_keys WHERE account_id = $1::text ORDER BY created_at, key_id`,
    map: async (r, ctx) => ({
      key_id: text(r.key_id),
      project_id: text(r.project_id),
      name: await openedName(r, ctx),
      prefix: text(r.prefix),
      last4: text(r.last4),
      status: text(r.status),
      models: words(r.models),
      spend_cap: credits(r.spend_cap),
      expires_at: instant(r.expires_at),
      rpm: num(r.rpm),
      tpm: num(r.tpm),
      created_at: instant(r.created_at),
      revoked_at: instant(r.revoked_at),
      last_used_at: instant(r.last_used_at),
    }),
  }),
  sqlSection({
    name: 'management_keys',
    order: 65,
    description: "The account's management keys (for the account API): metadata only, never the secret or its hash.",
    columns: ['key_id', 'name', 'prefix', 'last4', 'created_at', 'revoked_at', 'last_used_at'],
    sql: 'SELECT key_id, name, name_owner, prefix, last4, created_at, revoked_at, last_used_at FROM management_keys WHERE account_id = $1 ORDER BY created_at, key_id',
    map: async (r, ctx) => ({ key_id: text(r.key_id), name: await openedName(r, ctx), prefix: text(r.prefix), last4: text(r.last4), created_at: instant(r.created_at), revoked_at: instant(r.revoked_at), last_used_at: instant(r.last_used_at) }),
  }),
  sqlSection({
    name: 'transactions',
    order: 70,
    description: 'Ledger transactions of the account other than per-request charges: purchases, crypto payments, grants, refunds, adjustments, freezes and disputes. Amounts in credits, signed from the account\'s side.',
    columns: ['transaction_id', 'kind', 'amount', 'reference', 'reason', 'occurred_at'],
    sql: 'SELECT event_id, kind, amount::text AS amount, reference, reason, occurred_at FROM rm_transactions.transactions WHERE account_id = $1::text ORDER BY occurred_at, event_id',
    readModel: 'rm_transactions.transactions',
    map: (r) => ({ transaction_id: text(r.event_id), kind: text(r.kind), amount: credits(r.amount), reference: text(r.reference), reason: text(r.reason), occurred_at: instant(r.occurred_at) }),
  }),
  sqlSection({
    name: 'card_payments',
    order: 80,
    description: 'Card payments (Stripe): the payment intent and the credits it bought.',
    columns: ['payment_id', 'amount', 'paid_at'],
    sql: "SELECT reference, amount::text AS amount, occurred_at FROM rm_transactions.transactions WHERE account_id = $1::text AND kind = 'purchase' ORDER BY occurred_at, event_id",
    readModel: 'rm_transactions.transactions',
    map: (r) => ({ payment_id: text(r.reference), amount: credits(r.amount), paid_at: instant(r.occurred_at) }),
  }),
  sqlSection({
    name: 'crypto_payments',
    order: 85,
    description: 'USDC/USDT payments on chain: chain, token, amount, the transaction hash and the paying wallet address.',
    columns: ['payment_id', 'chain_id', 'token', 'amount', 'tx_hash', 'log_index', 'block_number', 'wallet', 'status', 'seen_at', 'settled_at'],
    sql: `SELECT payment_id, chain_id, token, amount::text AS amount, tx_hash, log_index, block_number::text AS block_number, from_sealed, status, seen_at, settled_at
            FROM crypto_deposits WHERE account_id = $1 ORDER BY seen_at, payment_id`,
    map: async (r, ctx) => ({
      payment_id: text(r.payment_id),
      chain_id: num(r.chain_id),
      token: text(r.token),
      amount: tokenAmount(text(r.amount)),
      tx_hash: text(r.tx_hash),
      log_index: num(r.log_index),
      block_number: text(r.block_number),
      wallet: await ctx.open(text(r.from_sealed)),
      status: text(r.status),
      seen_at: instant(r.seen_at),
      settled_at: instant(r.settled_at),
    }),
  }),
  sqlSection({
    name: 'receipts',
    order: 90,
    description: 'Receipts of purchases: what was paid, how, and when the receipt was mailed.',
    columns: ['payment_id', 'method', 'amount', 'detail', 'paid_at', 'sent_at'],
    sql: 'SELECT payment_id, method, amount::text AS amount, detail, paid_at, sent_at FROM payment_receipts WHERE account_id = $1 ORDER BY paid_at, payment_id',
    map: (r) => ({ payment_id: text(r.payment_id), method: text(r.method), amount: credits(r.amount), detail: text(r.detail), paid_at: instant(r.paid_at), sent_at: instant(r.sent_at) }),
  }),
  sqlSection({
    name: 'usage',
    order: 100,
    description:
      'Every proxied request of the account within the usage retention period, less the day the zip is kept (metadata only: no prompt or answer is ever stored). Costs in credits.',
    columns: [
      'request_id', 'started_at', 'key_id', 'endpoint', 'model', 'provider', 'stream', 'status', 'error_code',
      'input_tokens', 'cached_tokens', 'cache_write_tokens', 'output_tokens', 'estimated', 'free_request',
      'held', 'cost', 'billing', 'price_version', 'latency_ms', 'ttfb_ms', 'attempts',
    ],
    sql: `SELECT request_id, ${isoSql('started_at')} AS started_at, key_id, endpoint, model, provider, stream, status, error_code,
                 input_tokens::text AS input_tokens, cached_tokens::text AS cached_tokens, cache_write_tokens::text AS cache_write_tokens,
                 output_tokens::text AS output_tokens, estimated, free_request, held_micros::text AS held, cost_micros::text AS cost,
                 billing, price_version, latency_ms, ttfb_ms, attempts
            FROM request_log
           WHERE account_id = $1 AND started_at >= $2::timestamptz - make_interval(days => $3::int)
           ORDER BY request_log.started_at, request_id`,
    // One day less than retention: the zip is kept 24 hours, and no record in it may outlive
    // the retention period while it is (a 90-day-old record is unreadable everywhere, zips too).
    params: (ctx) => [ctx.subject.accountId, ctx.now, Math.max(0, ctx.usageRetentionDays - 1)],
    map: (r) => ({
      request_id: text(r.request_id),
      started_at: instant(r.started_at),
      key_id: text(r.key_id),
      endpoint: text(r.endpoint),
      model: text(r.model),
      provider: text(r.provider),
      stream: flag(r.stream),
      status: num(r.status),
      error_code: text(r.error_code),
      input_tokens: num(r.input_tokens),
      cached_tokens: num(r.cached_tokens),
      cache_write_tokens: num(r.cache_write_tokens),
      output_tokens: num(r.output_tokens),
      estimated: flag(r.estimated),
      free_request: flag(r.free_request),
      held: credits(r.held),
      cost: credits(r.cost),
      billing: text(r.billing),
      price_version: num(r.price_version),
      latency_ms: num(r.latency_ms),
      ttfb_ms: num(r.ttfb_ms),
      attempts: num(r.attempts),
    }),
  }),
  sqlSection({
    name: 'refund_requests',
    order: 110,
    description: "The person's refund requests, with their own reason and staff's decision.",
    columns: ['request_id', 'payment_id', 'method', 'amount', 'reason', 'status', 'purchased_at', 'requested_at', 'decided_at', 'decided_by', 'decision_reason', 'stripe_refund_id', 'tx_hash', 'failure'],
    sql: `SELECT request_id, user_id, payment_id, method, amount::text AS amount, reason, status, purchased_at, requested_at, decided_at, decided_by,
                 decision_reason, stripe_refund_id, tx_hash, failure
            FROM refund_requests WHERE account_id = $1 OR user_id = $2 ORDER BY requested_at, request_id`,
    params: (ctx) => [ctx.subject.accountId, ctx.subject.userId],
    map: async (r, ctx) => ({
      request_id: text(r.request_id),
      payment_id: text(r.payment_id),
      method: text(r.method),
      amount: credits(r.amount),
      reason: await ctx.open(text(r.reason), text(r.user_id)),
      status: text(r.status),
      purchased_at: instant(r.purchased_at),
      requested_at: instant(r.requested_at),
      decided_at: instant(r.decided_at),
      decided_by: text(r.decided_by),
      decision_reason: text(r.decision_reason),
      stripe_refund_id: text(r.stripe_refund_id),
      tx_hash: text(r.tx_hash),
      failure: text(r.failure),
    }),
  }),
  sqlSection({
    name: 'audit_events',
    order: 120,
    description: 'What staff did or looked at about the person (the staff audit trail): who, what, when, why.',
    columns: ['audit_id', 'occurred_at', 'actor', 'action', 'reason', 'details'],
    sql: `SELECT audit_id, occurred_at, actor, action, reason, reason_sealed_for, details
            FROM staff_audit WHERE subject_user_id = $1 ORDER BY occurred_at, stream_id, stream_version`,
    params: (ctx) => [ctx.subject.userId],
    map: async (r, ctx) => ({
      audit_id: text(r.audit_id),
      occurred_at: instant(r.occurred_at),
      actor: text(r.actor),
      action: text(r.action),
      reason: await ctx.open(text(r.reason), text(r.reason_sealed_for)),
      details: JSON.stringify(r.details ?? {}),
    }),
  }),
  sqlSection({
    name: 'data_subject_requests',
    order: 130,
    description: "The person's data-subject requests (access, export, correction, deletion, restriction): their own words, when due, and how each was answered.",
    columns: ['request_id', 'kind', 'details', 'opened_by', 'opened_at', 'due_at', 'status', 'outcome', 'note', 'closed_by', 'closed_at'],
    sql: `SELECT request_id, user_id, kind, details, opened_by, opened_at, due_at, status, outcome, note, closed_by, closed_at
            FROM subject_requests WHERE user_id = $1 ORDER BY opened_at, request_id`,
    params: (ctx) => [ctx.subject.userId],
    map: async (r, ctx) => ({
      request_id: text(r.request_id),
      kind: text(r.kind),
      details: await ctx.open(text(r.details), text(r.user_id)),
      opened_by: text(r.opened_by),
      opened_at: instant(r.opened_at),
      due_at: instant(r.due_at),
      status: text(r.status),
      outcome: text(r.outcome),
      note: await ctx.open(text(r.note), text(r.user_id)),
      closed_by: text(r.closed_by),
      closed_at: instant(r.closed_at),
    }),
  }),
  sqlSection({
    name: 'breach_notices',
    order: 140,
    description: 'Breach notices about the person: which incident, when they were selected, and when the notice was sent or given up.',
    columns: ['incident_id', 'selected_at', 'queued_at', 'sent_at', 'failed_at', 'attempts'],
    sql: `SELECT incident_id, selected_at, queued_at, sent_at, failed_at, attempts FROM incident_notices WHERE user_id = $1 ORDER BY selected_at, incident_id`,
    params: (ctx) => [ctx.subject.userId],
    map: (r) =>
      Promise.resolve({
        incident_id: text(r.incident_id),
        selected_at: instant(r.selected_at),
        queued_at: instant(r.queued_at),
        sent_at: instant(r.sent_at),
        failed_at: instant(r.failed_at),
        attempts: String(r.attempts),
      }),
  }),
];
