/**
 * One proxied request, start to end (DESIGN.md, "A proxied request"):
 * price → limits → reserve (free request or durable hold) → channel attempts (fallback only
 * before the first byte reaches the client) → relay while metering → settle or void → a
 * metadata-only request log row. Authentication and body parsing happen in the routes.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { APP_CONFIG, AppConfig } from '../config/config';
import { KeyPrincipal } from '../keys/application/api-key-authenticator';
import { BillingService, NotWritten, Reservation } from './billing/billing.service';
import { SettleJournal } from './billing/settle-journal';
import { Endpoint, RequestShape, shapeOf } from './endpoints';
import { ApiFormat, ProxyError, databaseUnavailable, errorBody, quoted } from './http/proxy-error';
import { isPgUnavailable } from '../platform/database/pg-unavailable';
import { RateLimiter } from './limits/rate-limiter';
import { SpendCaps } from './limits/spend-caps';
import { formatCredits } from '../shared/money';
import { RequestLogRow, RequestLogRepository } from './usage/request-log.repository';
import { UpstreamSender, Sent, header, nothingTried } from './upstream/upstream-sender';
import { UpstreamSilence } from './upstream/silence-watch';
import { Headers, RelayProgress, collect, newProgress, relayEvents, relayRaw, sendWhole } from './relay';
import { streamErrorEvent } from './streaming/stream-error';
import { PriceBook } from './pricing/price-book.service';
import { PricingError } from './pricing/pricing.errors';
import { ModelPrice, TokenRates, ratesFor } from './pricing/model-price';
import { PriceTableVersion } from './pricing/price-table-version';
import { TokenUsage, costOf, worstCaseCost } from './pricing/cost';
import { estimateInputTokens, estimateTokens } from './metering/estimate';
import { inputTokenBound } from './metering/input-bound';
import { StreamMeter } from './metering/stream-meter';
import { SseParser } from './streaming/sse';
import { Plan, planFor } from './upstream/plan';

export interface ProxyRequest {
  endpoint: Endpoint;
  requestId: string;
  principal: KeyPrincipal;
  body: Record<string, unknown>;
  raw: Buffer;
  pathModel: string | null;
  /** The query string to forward (the caller removed our own key from it), with its '?'. */
  query: string;
  headers: IncomingHttpHeaders;
  res: ServerResponse;
  startedAt: number; // performance.now()
  startedAtDate: Date;
  /** µcr reserved under the key's spending cap by admission, given back as the request ends. */
  spendReserved?: bigint;
  /** While the request runs: the next extension of its hold (see keepHoldAlive). */
  holdKeepAlive?: NodeJS.Timeout;
}

interface Admitted {
  plan: Plan;
  inputTokens: number;
  row: RequestLogRow;
  reservation: Reservation | null;
  price: ModelPrice;
}

@Injectable()
export class ProxyService {
  private readonly log = new Logger('Proxy');

  constructor(
    private readonly prices: PriceBook,
    private readonly limiter: RateLimiter,
    private readonly billing: BillingService,
    private readonly sender: UpstreamSender,
    private readonly requestLog: RequestLogRepository,
    private readonly spendCaps: SpendCaps,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly journal: SettleJournal,
  ) {}

  async handle(req: ProxyRequest): Promise<void> {
    const { endpoint } = req;
    let shape: RequestShape;
    try {
      shape = shapeOf(endpoint, req.body, req.pathModel);
    } catch (err) {
      this.refused(req, typeof req.body.model === 'string' ? req.body.model : '', false, null, err);
      throw err;
    }
    // One price table for the whole request: the one in force when it arrived.
    const table = priceTableAt(this.prices, req.startedAtDate);
    const price = table.get(shape.model);
    let admitted: Admitted;
    try {
      admitted = await this.admit(req, shape, table, price);
    } catch (err) {
      const e = isPgUnavailable(err) ? databaseUnavailable() : err;
      this.refused(req, shape.model, shape.stream, price ?? null, e);
      throw e;
    }
    this.keepHoldAlive(req, admitted.reservation);
    try {
      await this.forward(req, shape, table, admitted);
    } finally {
      this.stopHoldKeepAlive(req);
    }
  }

  /** From the upstream call to the settle (or void): everything after admission. */
  private async forward(req: ProxyRequest, shape: RequestShape, table: PriceTableVersion, admitted: Admitted): Promise<void> {
    const { requestId } = req;
    const { plan, inputTokens, row, reservation } = admitted;

    const controller = new AbortController();
    const progress = newProgress();
    req.res.on('close', () => {
      if (!progress.completed) controller.abort();
    });

    let attempt: Sent;
    const tried = nothingTried();
    try {
      attempt = await this.sender.send(requestId, plan, shape.model, req.query, req.headers, controller.signal, tried);
    } catch (err) {
      // The receipt of a request no channel answered still names the channel and the tries.
      row.channelId = tried.channelId;
      row.attempts = tried.attempts;
      await this.fail(req, row, reservation, err);
      throw err;
    }
    row.channelId = attempt.channel.id;
    row.attempts = attempt.attempts;
    row.status = attempt.upstream.status;

    const meter = new StreamMeter(plan.meterFormat);
    let usage: TokenUsage | null = null;
    const headers: Headers = { 'x-request-id': requestId };
    const ct = header(attempt.upstream.headers, 'content-type') ?? 'application/json';
    try {
      if (attempt.upstream.status >= 300) {
        // The provider refused the request itself (a 4xx that another channel would refuse too):
        // its own answer, in its own format, and nothing charged.
        const text = await collect(attempt.upstream).catch((err: unknown) => Promise.reject(brokenAnswer(err, controller.signal)));
        const out = plan.translateError ? plan.translateError(attempt.upstream.status, text) : text;
        row.errorCode = 'upstream_refused';
        // Released before the answer goes out, so a client that looks at its balance next sees it whole.
        await this.release(req, row, reservation, 'upstream refused the request');
        sendWhole(req.res, progress, attempt.upstream.status, { ...headers, 'content-type': plan.translateError ? 'application/json' : ct }, out);
        return;
      }
      if (shape.stream && /text\/event-stream/.test(ct)) {
        Object.assign(headers, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
        const cut = (err: unknown) => streamErrorEvent(req.endpoint.kind, cutError(err));
        if (plan.mapEvent) {
          const map = plan.mapEvent;
          await relayEvents(req.res, progress, 200, headers, attempt.upstream, (ev) => {
            meter.push(ev);
            return map(ev);
          }, () => plan.endEvents!(), cut);
        } else {
          const parser = new SseParser();
          await relayRaw(req.res, progress, 200, headers, attempt.upstream, (chunk) => {
            for (const ev of parser.push(chunk)) meter.push(ev);
          }, cut);
        }
        if (progress.upstreamCut && !progress.clientGone && meter.result().deliveredText === '') {
          // Broken off (or gone silent) before any text or tool-call delta reached the client:
          // it got an error, not an answer, so nothing is charged.
          row.errorCode = cutError(progress.cutBy).code;
          row.ttfbMs = progress.firstByteAt === null ? null : Math.round(progress.firstByteAt - req.startedAt);
          await this.release(req, row, reservation, `upstream broke off before any content (${row.errorCode})`);
          return;
        }
        usage = meter.result().usage;
      } else {
        const buf = await collect(attempt.upstream).catch((err: unknown) => Promise.reject(brokenAnswer(err, controller.signal)));
        const { body, usage: u } = plan.finishJson(buf);
        usage = u;
        if (!usage) meter.answer(buf); // no usable usage: the answer's text is estimated instead
        sendWhole(req.res, progress, 200, { ...headers, 'content-type': plan.translateError ? 'application/json' : ct }, body);
      }
    } catch (err) {
      if (!progress.firstByteAt) {
        await this.fail(req, row, reservation, err);
        throw err;
      }
      progress.upstreamCut = true;
    }
    await this.finish(req, row, reservation, progress, usage, meter, inputTokens, admitted.price, table.marginBps);
  }

  /** Everything before the upstream call: model, key allowlist, limits, and the reservation. */
  private async admit(req: ProxyRequest, shape: RequestShape, table: PriceTableVersion, price: ModelPrice | undefined): Promise<Admitted> {
    const { endpoint, principal, requestId } = req;
    if (!price) throw new ProxyError('model_not_found', `the model ${quoted(shape.model)} does not exist or is not offered here`, { param: 'model' });
    if (principal.models && !principal.models.includes(shape.model)) {
      throw new ProxyError('model_not_allowed', `this key may not use the model ${quoted(shape.model)}`, { param: 'model' });
    }
    const plan = planFor(endpoint, price, req.body, shape, req.raw, requestId, req.startedAtDate);
    // Refused before the ledger is touched: no hold (or free request) for a request nobody can serve.
    await this.sender.ensureRoutable(plan, shape.model);
    // An upper bound from the body's bytes, not a tokenizer's guess (see metering/input-bound.ts).
    const inputTokens = inputTokenBound(endpoint.kind, req.body, req.raw.length, price);
    const maxOutput = Math.min(shape.maxOutputTokens ?? price.maxOutputTokens, price.maxOutputTokens) * shape.answers;
    await this.checkLimits(principal, inputTokens + maxOutput);

    const row = this.baseRow(req, shape.model, shape.stream, price);
    let reservation: Reservation | null = null;
    if (endpoint.billed) {
      const worst = worstCaseCost(price, inputTokens, maxOutput, table.marginBps);
      if (principal.spendCapMicros !== null) {
        if (!(await this.spendCaps.reserve(principal.keyId, principal.spendCapMicros, worst))) {
          throw new ProxyError('spend_cap_reached', `this key's spending cap of ${formatCredits(principal.spendCapMicros)} credits would be passed`);
        }
        req.spendReserved = worst;
      }
      try {
        reservation = await this.billing.reserve(principal.accountId, requestId, worst);
      } catch (err) {
        await this.giveBackSpend(req, 0n);
        throw err;
      }
      row.freeRequest = reservation.kind === 'free';
      row.heldMicros = reservation.kind === 'hold' ? reservation.amount : 0n;
      row.priceVersion = table.version;
      row.unitPrices = unitPrices(price, table.marginBps);
    }
    return { plan, inputTokens, row, reservation, price };
  }

  /**
   * A hold expires HOLD_TTL_SECONDS after it was placed unless settled; an answer that streams
   * for longer must not lose its hold (and its charge) to the expiry sweep. Every half TTL while
   * the request runs, the hold's expiry moves a full TTL on (HoldExtended); a failed extension
   * is tried again sooner. A crashed process extends nothing, so its holds still expire.
   */
  private keepHoldAlive(req: ProxyRequest, reservation: Reservation | null): void {
    if (reservation?.kind !== 'hold') return;
    const every = this.config.HOLD_TTL_SECONDS * 500;
    const arm = (ms: number) => {
      req.holdKeepAlive = setTimeout(() => {
        this.billing.extend(req.principal.accountId, req.requestId, reservation).then(
          () => req.holdKeepAlive && arm(every),
          (err: Error) => {
            if (!req.holdKeepAlive) return; // the request ended meanwhile (its settle closed the hold)
            this.log.warn(`request ${req.requestId}: could not extend its hold (${err.message}); trying again`);
            arm(Math.min(every, 5_000));
          },
        );
      }, ms);
      req.holdKeepAlive.unref();
    };
    arm(every);
  }

  /** The request is done with its hold (settling, voiding, or gone): no more extensions. */
  private stopHoldKeepAlive(req: ProxyRequest): void {
    clearTimeout(req.holdKeepAlive);
    req.holdKeepAlive = undefined;
  }

  /** Returns the part of the spending-cap reservation the request did not spend. */
  private async giveBackSpend(req: ProxyRequest, spent: bigint): Promise<void> {
    const reserved = req.spendReserved ?? 0n;
    req.spendReserved = 0n;
    if (reserved > spent) {
      await this.spendCaps.release(req.principal.keyId, reserved - spent).catch((err: Error) => {
        this.log.warn(`request ${req.requestId}: could not give back its spending-cap reservation (${err.message})`);
      });
    }
  }

  /** A request refused before anything was reserved: logged (metadata only), nothing to release. */
  private refused(req: ProxyRequest, model: string, stream: boolean, price: ModelPrice | null, err: unknown): void {
    const row = this.baseRow(req, model.slice(0, 200), stream, price);
    row.status = err instanceof ProxyError ? err.status : 500;
    row.errorCode = err instanceof ProxyError ? err.code : 'internal_error';
    row.latencyMs = Math.round(performance.now() - req.startedAt);
    void this.requestLog.record(row);
  }

  private async checkLimits(p: KeyPrincipal, tokens: number): Promise<void> {
    const limits = [
      { label: 'requests per minute for this account', id: `a:${p.accountId}:r`, limit: this.config.ACCOUNT_RPM, cost: 1 },
      { label: 'tokens per minute for this account', id: `a:${p.accountId}:t`, limit: this.config.ACCOUNT_TPM, cost: tokens },
    ];
    if (p.rpm !== null) limits.push({ label: 'requests per minute for this key', id: `k:${p.keyId}:r`, limit: p.rpm, cost: 1 });
    if (p.tpm !== null) limits.push({ label: 'tokens per minute for this key', id: `k:${p.keyId}:t`, limit: p.tpm, cost: tokens });
    const verdict = await this.limiter.admit(limits);
    if (!verdict.ok) {
      throw new ProxyError('rate_limited', `rate limit reached: ${verdict.limit} ${verdict.label}`, {
        retryAfterSeconds: verdict.retryAfterSeconds,
      });
    }
  }

  private async finish(
    req: ProxyRequest,
    row: RequestLogRow,
    reservation: Reservation | null,
    progress: RelayProgress,
    reported: TokenUsage | null,
    meter: StreamMeter,
    inputTokens: number,
    price: ModelPrice,
    marginBps: number,
  ): Promise<void> {
    this.stopHoldKeepAlive(req);
    let usage = reported;
    if (!usage) {
      // A cut stream (or a provider that did not say, or said what cannot be a count): what the
      // stream already told us, else an estimate (the input with the tokenizer, never above the
      // bound the hold was sized from; the output from the answer's text), marked as such.
      const { partialUsage, deliveredText } = meter.result();
      const delivered = estimateTokens(deliveredText);
      usage = partialUsage
        ? { ...partialUsage, outputTokens: Math.max(partialUsage.outputTokens, delivered) }
        : {
            inputTokens: Math.min(inputTokens, estimateInputTokens(req.endpoint.kind, req.body, price.provider)),
            cachedTokens: 0,
            cacheWriteTokens: 0,
            outputTokens: delivered,
          };
      row.estimated = true;
    }
    Object.assign(row, {
      inputTokens: usage.inputTokens,
      cachedTokens: usage.cachedTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      outputTokens: usage.outputTokens,
      status: progress.clientGone ? 499 : row.status,
      ttfbMs: progress.firstByteAt === null ? null : Math.round(progress.firstByteAt - req.startedAt),
      latencyMs: Math.round(performance.now() - req.startedAt),
    });
    if (progress.clientGone) row.errorCode = 'client_disconnected';
    else if (progress.upstreamCut) row.errorCode = 'upstream_cut';
    if (reservation) {
      // The receipt shows the rates this usage was charged at: a long prompt may have moved the
      // whole request to the model's long-context rates.
      row.unitPrices = unitPrices(ratesFor(price, usage.inputTokens + usage.cachedTokens + usage.cacheWriteTokens), marginBps);
      const cost = costOf(price, usage, marginBps);
      const upstreamCost = costOf(price, usage, 0);
      try {
        row.costMicros = await this.billing.settle(req.principal.accountId, req.requestId, reservation, cost, upstreamCost, {
          model: row.model,
          inputTokens: usage.inputTokens + usage.cacheWriteTokens,
          outputTokens: usage.outputTokens,
          cachedTokens: usage.cachedTokens,
          estimated: row.estimated,
          ...(row.priceVersion !== null ? { priceVersion: row.priceVersion } : {}),
        });
        row.billing = reservation.kind === 'free' ? 'free' : 'settled';
        await this.giveBackSpend(req, row.costMicros);
      } catch (err) {
        if (err instanceof NotWritten) {
          // Delivered while Postgres is unreachable: charged all the same, once it is back.
          row.costMicros = err.charged;
          row.billing = 'settled';
          await this.giveBackSpend(req, err.charged);
          return this.keep(req, err, row);
        }
        row.billing = 'unbilled';
        this.log.error(`request ${req.requestId}: could not settle its hold (${(err as Error).message}); the hold expires`);
      }
    }
    void this.requestLog.record(row);
  }

  /**
   * Failed before the first byte: void the hold and log the failure. 499 only when the client
   * really went away; anything else that is not a ProxyError is ours (500, as the route answers).
   */
  private async fail(req: ProxyRequest, row: RequestLogRow, reservation: Reservation | null, err: unknown): Promise<void> {
    const clientGone = !(err instanceof ProxyError) && req.res.destroyed;
    row.status = err instanceof ProxyError ? err.status : clientGone ? 499 : 500;
    row.errorCode = err instanceof ProxyError ? err.code : clientGone ? 'client_disconnected' : 'internal_error';
    await this.release(req, row, reservation, row.errorCode);
  }

  private async release(req: ProxyRequest, row: RequestLogRow, reservation: Reservation | null, reason: string): Promise<void> {
    this.stopHoldKeepAlive(req);
    row.latencyMs = Math.round(performance.now() - req.startedAt);
    if (reservation) {
      try {
        await this.billing.release(req.principal.accountId, req.requestId, reservation, reason);
        row.billing = 'voided';
        await this.giveBackSpend(req, 0n);
      } catch (err) {
        if (err instanceof NotWritten) {
          row.billing = 'voided';
          await this.giveBackSpend(req, 0n);
          return this.keep(req, err, row);
        }
        row.billing = 'unbilled';
        this.log.error(`request ${req.requestId}: could not void its hold (${(err as Error).message}); the hold expires`);
      }
    }
    void this.requestLog.record(row);
  }

  /** The ledger write and the request's row go to the settle journal together, fsynced, to be written later. */
  private keep(req: ProxyRequest, notWritten: NotWritten, row: RequestLogRow): Promise<void> {
    this.log.warn(`request ${req.requestId}: Postgres is unreachable; its ${notWritten.command.type} is kept in the settle journal`);
    return this.journal.keep([{ id: req.requestId, accountId: req.principal.accountId, command: notWritten.command, row }]);
  }

  private baseRow(req: ProxyRequest, model: string, stream: boolean, price: ModelPrice | null): RequestLogRow {
    return {
      requestId: req.requestId,
      accountId: req.principal.accountId,
      keyId: req.principal.keyId,
      startedAt: req.startedAtDate,
      endpoint: req.endpoint.kind,
      model,
      provider: price?.provider ?? null,
      channelId: null,
      stream,
      status: 0,
      errorCode: null,
      inputTokens: 0,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 0,
      estimated: false,
      freeRequest: false,
      heldMicros: 0n,
      costMicros: 0n,
      billing: 'none',
      priceVersion: null,
      unitPrices: null,
      latencyMs: 0,
      ttfbMs: null,
      attempts: 0,
    };
  }

  /** An error answer in the endpoint's own format (used by the routes for anything thrown before a byte was sent). */
  static errorResponse(format: ApiFormat, err: ProxyError, requestId: string): { status: number; headers: Headers; body: string } {
    const headers: Headers = { 'content-type': 'application/json', 'x-request-id': requestId };
    if (err.extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.extra.retryAfterSeconds);
    return { status: err.status, headers, body: JSON.stringify(errorBody(format, err)) };
  }
}

/**
 * Reading an upstream's whole answer failed: the upstream broke it off (or paused past
 * UPSTREAM_TIMEOUT_MS) — its failure, 502 or 504 — unless the client went away first, which
 * aborted the read (then the abort goes on as it is, and fail() records 499).
 */
function brokenAnswer(err: unknown, clientSignal: AbortSignal): unknown {
  if (clientSignal.aborted) return err;
  return cutError(err);
}

/** What broke an upstream's answer off, as the client is told: silence (504) or a break (502). */
function cutError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  if (err instanceof UpstreamSilence || (err as { code?: string } | null)?.code === 'UND_ERR_BODY_TIMEOUT') {
    return new ProxyError('upstream_timeout', 'the upstream provider stopped sending its answer');
  }
  return new ProxyError('upstream_error', 'the upstream provider broke off its answer');
}

/** The price table in force, or 503 while none is known (the database was down at start). */
export function priceTableAt(prices: PriceBook, at: Date): PriceTableVersion {
  try {
    return prices.at(at);
  } catch (err) {
    if (err instanceof PricingError && err.code === 'no_price_table') {
      throw new ProxyError('unavailable', 'the gateway has not loaded its prices yet; try again shortly');
    }
    throw err;
  }
}

function unitPrices(p: TokenRates, marginBps: number): Record<string, string | number> {
  return {
    input: p.input.toString(),
    output: p.output.toString(),
    cachedInput: p.cachedInput.toString(),
    cacheWrite: p.cacheWrite.toString(),
    per: 'µcr per million tokens',
    marginBps,
  };
}
