/**
 * A small local Stripe for the payment tests: one node:http server answering, in Stripe's own
 * wire format (form-encoded requests, JSON objects and lists, `{error: {type, code, message}}`
 * refusals), the few API calls the gateway makes through the `stripe` SDK:
 *   POST /v1/checkout/sessions, POST /v1/refunds, GET /v1/refunds, GET /v1/payment_intents,
 *   GET /v1/payment_intents/:id, GET /v1/charges/:id, GET /v1/refunds/:id.
 * Point the gateway at it with STRIPE_API_URL=fake.url (the SDK's host, port and protocol).
 *
 * Tests steer it in-process: `payments` (what Stripe's own list shows), `refundMode` (make
 * refunds fail), and read `calls` (each request's method, path, form fields and idempotency key).
 * Webhook events are built by the `*Event` helpers and signed by `signed()` with the SDK's
 * stripe.webhooks.generateTestHeaderString: the same signature scheme Stripe uses.
 */
import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export const STRIPE_TEST_KEY = 'sk_test_tollgate_fake';
export const STRIPE_TEST_WEBHOOK_SECRET = 'whsec_tollgate_fake_secret';

export interface StripeCall {
  method: string;
  path: string;
  /** Form fields as sent, bracketed names kept: `metadata[account_id]`. */
  form: Record<string, string>;
  query: Record<string, string>;
  idempotencyKey: string | null;
}

/** A payment intent as Stripe's list shows it (for reconcile). */
export interface FakePaymentIntent {
  id: string;
  amount: number; // cents
  amount_received: number;
  currency: string;
  status: 'succeeded' | 'processing' | 'requires_payment_method' | 'canceled';
  created: number; // unix seconds
  latest_charge: string | null;
  metadata: Record<string, string>;
}

export interface FakeRefund {
  id: string;
  object: 'refund';
  amount: number; // cents
  charge: string | null;
  payment_intent: string | null;
  status: 'succeeded' | 'pending' | 'failed' | 'canceled';
  created: number;
  currency: string;
  metadata: Record<string, string>;
  reason: string | null;
}

export interface FakeStripe {
  /** http://127.0.0.1:PORT: STRIPE_API_URL. */
  url: string;
  secretKey: string;
  webhookSecret: string;
  calls: StripeCall[];
  /** Payment intents Stripe knows (GET lists and retrieves read these). */
  payments: Map<string, FakePaymentIntent>;
  refunds: Map<string, FakeRefund>;
  /** 'ok' (default): refunds succeed; 'refuse': 400 like a refund Stripe will not make; 'error': 500. */
  refundMode: 'ok' | 'refuse' | 'error';
  /** Milliseconds a created refund waits before it is answered (a webhook may overtake the answer). */
  refundDelayMs: number;
  /** Answers every call with 500 while true (Stripe down). */
  down: boolean;
  /** Milliseconds every call waits before it is answered (a slow Stripe). */
  delayMs: number;
  /** A webhook body and its Stripe-Signature header. `timestamp` (unix seconds) for a stale one. */
  signed(event: object, opts?: { timestamp?: number; secret?: string }): { body: string; signature: string };
  close(): Promise<void>;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

export async function startFakeStripe(): Promise<FakeStripe> {
  const stripe = new Stripe(STRIPE_TEST_KEY);
  const fake: FakeStripe = {
    url: '',
    secretKey: STRIPE_TEST_KEY,
    webhookSecret: STRIPE_TEST_WEBHOOK_SECRET,
    calls: [],
    payments: new Map(),
    refunds: new Map(),
    refundMode: 'ok',
    refundDelayMs: 0,
    down: false,
    delayMs: 0,
    signed(event, opts = {}) {
      const body = JSON.stringify(event);
      const signature = stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: opts.secret ?? STRIPE_TEST_WEBHOOK_SECRET,
        timestamp: opts.timestamp,
      });
      return { body, signature };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server = createServer((req, res) => {
    void handle(fake, req, res).catch((err: unknown) => send(res, 500, { error: { type: 'api_error', message: String(err) } }));
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

const refundsByKey = new Map<string, FakeRefund>();
const sessionsByKey = new Map<string, { form: string; session: object }>();

async function handle(fake: FakeStripe, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const url = new URL(req.url ?? '/', 'http://x');
  const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
  const query = Object.fromEntries(url.searchParams);
  const call: StripeCall = { method: req.method ?? 'GET', path: url.pathname, form, query, idempotencyKey: (req.headers['idempotency-key'] as string | undefined) ?? null };
  fake.calls.push(call);
  if (req.headers.authorization !== `Bearer ${fake.secretKey}`) {
    return send(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
  }
  if (fake.down) return send(res, 500, { error: { type: 'api_error', message: 'Stripe is down (fake)' } });
  if (fake.delayMs > 0) await new Promise((r) => setTimeout(r, fake.delayMs));

  const metadataOf = (f: Record<string, string>) =>
    Object.fromEntries(Object.entries(f).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]));

  if (call.method === 'POST' && url.pathname === '/v1/checkout/sessions') {
    // An idempotency key answers the first session again, as Stripe does; with other parameters, 400 idempotency_error.
    const prior = call.idempotencyKey ? sessionsByKey.get(call.idempotencyKey) : undefined;
    if (prior && prior.form !== JSON.stringify(form)) {
      return send(res, 400, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } });
    }
    if (prior) return send(res, 200, prior.session);
    const sid = id('cs_test');
    const amount = Number(form['line_items[0][price_data][unit_amount]'] ?? 0) * Number(form['line_items[0][quantity]'] ?? 1);
    const session = {
      id: sid,
      object: 'checkout.session',
      url: `https://checkout.stripe.com/c/pay/${sid}`,
      mode: form.mode,
      amount_total: amount,
      currency: form['line_items[0][price_data][currency]'] ?? 'usd',
      client_reference_id: form.client_reference_id ?? null,
      metadata: metadataOf(form),
      payment_intent: null,
      payment_status: 'unpaid',
      status: 'open',
      success_url: form.success_url,
      cancel_url: form.cancel_url,
    };
    if (call.idempotencyKey) sessionsByKey.set(call.idempotencyKey, { form: JSON.stringify(form), session });
    return send(res, 200, session);
  }
  if (call.method === 'POST' && url.pathname === '/v1/refunds') {
    if (fake.refundMode === 'refuse') {
      return send(res, 400, { error: { type: 'invalid_request_error', code: 'charge_already_refunded', message: 'Charge has already been refunded.' } });
    }
    if (fake.refundMode === 'error') return send(res, 500, { error: { type: 'api_error', message: 'refunds unavailable (fake)' } });
    const pi = form.payment_intent ?? null;
    const refund: FakeRefund = {
      id: id('re'),
      object: 'refund',
      amount: Number(form.amount ?? fake.payments.get(pi ?? '')?.amount_received ?? 0),
      charge: fake.payments.get(pi ?? '')?.latest_charge ?? null,
      payment_intent: pi,
      status: 'succeeded',
      created: now(),
      currency: 'usd',
      metadata: metadataOf(form),
      reason: form.reason ?? null,
    };
    // An idempotency key answers the first refund again, as Stripe does.
    const earlier = call.idempotencyKey ? refundsByKey.get(call.idempotencyKey) : undefined;
    if (earlier) return send(res, 200, earlier);
    if (call.idempotencyKey) refundsByKey.set(call.idempotencyKey, refund);
    fake.refunds.set(refund.id, refund);
    if (fake.refundDelayMs > 0) await new Promise((r) => setTimeout(r, fake.refundDelayMs));
    return send(res, 200, refund);
  }
  if (call.method === 'GET' && url.pathname === '/v1/refunds') {
    // `payment_intent` / `charge` filters, as Stripe's list takes them.
    const refunds = [...fake.refunds.values()].filter((r) => (!query.payment_intent || r.payment_intent === query.payment_intent) && (!query.charge || r.charge === query.charge));
    return send(res, 200, list('/v1/refunds', inWindow(refunds, query)));
  }
  if (call.method === 'GET' && url.pathname === '/v1/payment_intents') return send(res, 200, list('/v1/payment_intents', inWindow([...fake.payments.values()], query)));
  const one = /^\/v1\/(payment_intents|refunds|charges)\/([^/]+)$/.exec(url.pathname);
  if (call.method === 'GET' && one) {
    const [, kind, key] = one;
    const found =
      kind === 'payment_intents'
        ? fake.payments.get(key)
        : kind === 'refunds'
          ? fake.refunds.get(key)
          : [...fake.payments.values()].find((p) => p.latest_charge === key) && { id: key, object: 'charge', payment_intent: [...fake.payments.values()].find((p) => p.latest_charge === key)!.id };
    if (found) return send(res, 200, found);
    return send(res, 404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${key}'` } });
  }
  return send(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${call.method}: ${url.pathname})` } });
}

/** `created[gte]` / `created[lt]` windows of list calls. */
function inWindow<T extends { created: number }>(items: T[], query: Record<string, string>): T[] {
  const gte = query['created[gte]'] ? Number(query['created[gte]']) : -Infinity;
  const lt = query['created[lt]'] ? Number(query['created[lt]']) : Infinity;
  return items.filter((i) => i.created >= gte && i.created < lt).sort((a, b) => b.created - a.created);
}

function list(url: string, data: unknown[]) {
  return { object: 'list', url, has_more: false, data };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': id('req') });
  res.end(text);
}

// ---- Webhook events, in Stripe's shapes (only the fields the gateway reads, plus ids and types).

let seq = 0;
const event = (type: string, object: object) => ({
  id: id('evt'),
  object: 'event',
  api_version: '2025-01-27.acacia',
  created: now() + seq++ * 0,
  livemode: false,
  pending_webhooks: 1,
  request: { id: null, idempotency_key: null },
  type,
  data: { object },
});

export interface CheckoutFacts {
  accountId: string;
  cents: number;
  paymentIntent?: string;
  sessionId?: string;
  /** 'paid' (card), 'unpaid' (an async method still processing). */
  paymentStatus?: 'paid' | 'unpaid' | 'no_payment_required';
}

export function checkoutSession(f: CheckoutFacts) {
  return {
    id: f.sessionId ?? id('cs_test'),
    object: 'checkout.session',
    mode: 'payment',
    amount_total: f.cents,
    amount_subtotal: f.cents,
    currency: 'usd',
    client_reference_id: f.accountId,
    metadata: { account_id: f.accountId },
    payment_intent: f.paymentIntent ?? id('pi'),
    payment_status: f.paymentStatus ?? 'paid',
    status: 'complete',
  };
}

export const checkoutCompletedEvent = (f: CheckoutFacts) => event('checkout.session.completed', checkoutSession(f));
export const asyncPaymentSucceededEvent = (f: CheckoutFacts) => event('checkout.session.async_payment_succeeded', checkoutSession({ ...f, paymentStatus: 'paid' }));
export const asyncPaymentFailedEvent = (f: CheckoutFacts) => event('checkout.session.async_payment_failed', checkoutSession({ ...f, paymentStatus: 'unpaid' }));

export interface ChargeFacts {
  paymentIntent: string;
  charge?: string;
  cents: number;
  /** What has been refunded in all (Stripe's `amount_refunded`), and the refunds so far. */
  refunds: Array<{ id?: string; cents: number; metadata?: Record<string, string>; status?: FakeRefund['status'] }>;
}

export function chargeRefundedEvent(f: ChargeFacts) {
  const refunds = f.refunds.map((r) => ({
    id: r.id ?? id('re'),
    object: 'refund',
    amount: r.cents,
    payment_intent: f.paymentIntent,
    charge: f.charge ?? 'ch_x',
    status: r.status ?? 'succeeded',
    currency: 'usd',
    created: now(),
    metadata: r.metadata ?? {},
  }));
  const refunded = refunds.reduce((t, r) => t + r.amount, 0);
  return event('charge.refunded', {
    id: f.charge ?? id('ch'),
    object: 'charge',
    amount: f.cents,
    amount_captured: f.cents,
    amount_refunded: refunded,
    refunded: refunded >= f.cents,
    currency: 'usd',
    payment_intent: f.paymentIntent,
    refunds: { object: 'list', data: refunds, has_more: false },
  });
}

export interface DisputeFacts {
  disputeId?: string;
  paymentIntent: string;
  charge?: string;
  cents: number;
  status?: 'needs_response' | 'under_review' | 'won' | 'lost';
}

const dispute = (f: DisputeFacts) => ({
  id: f.disputeId ?? id('dp'),
  object: 'dispute',
  amount: f.cents,
  currency: 'usd',
  charge: f.charge ?? id('ch'),
  payment_intent: f.paymentIntent,
  reason: 'fraudulent',
  status: f.status ?? 'needs_response',
});

export const disputeCreatedEvent = (f: DisputeFacts) => event('charge.dispute.created', dispute(f));
export const disputeClosedEvent = (f: DisputeFacts & { status: 'won' | 'lost' }) => event('charge.dispute.closed', dispute(f));

/** Delivers a webhook to a gateway as Stripe does (POST /webhooks/stripe, the signed raw body). */
export async function deliverWebhook(
  gatewayUrl: string,
  fake: Pick<FakeStripe, 'signed'>,
  event: object,
  opts: { timestamp?: number; secret?: string; tamper?: (body: string) => string; noSignature?: boolean } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { body, signature } = fake.signed(event, { timestamp: opts.timestamp, secret: opts.secret });
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' };
  if (!opts.noSignature) headers['stripe-signature'] = signature;
  const res = await fetch(`${gatewayUrl}/webhooks/stripe`, { method: 'POST', headers, body: opts.tamper ? opts.tamper(body) : body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}
