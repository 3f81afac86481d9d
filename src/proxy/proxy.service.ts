/**
 * One proxied request, start to end (DESIGN.md, "A proxied request"):
 * price → admission (model, limits, worst case: request/admission.ts) → reserve (the request's
 * charge: request/request-charge.ts) → channel attempts (fallback only before the first byte
 * reaches the client) → relay while metering → settle or void → one metadata-only request log
 * row, built once from how the request ended (request/request-log-row.ts). Authentication and
 * body parsing happen in the routes.
 *
 * The reservation and the upstream call overlap: the upstream is asked as soon as the ledger has
 * accepted the reservation in memory (a refusal is answered before anything goes upstream), and
 * the relay to the client waits until the reservation is durable. Refused at commit (another
 * request or instance spent the credit) or not taken (Postgres gone), the upstream call is
 * aborted and the client gets the refusal, as it would have without the overlap; nothing is
 * charged. A crash in between costs an upstream call and leaves no hold.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/config';
import { BillingService } from './billing/billing.service';
import { SettleJournal } from './billing/settle-journal';
import { RequestShape, shapeOf } from './endpoints';
import { ProxyError, databaseUnavailable } from './http/proxy-error';
import { isPgUnavailable } from '../platform/database/pg-unavailable';
import { RateLimiter } from './limits/rate-limiter';
import { SpendCaps } from './limits/spend-caps';
import { RequestLogRepository, RequestLogRow } from './usage/request-log.repository';
import { UpstreamSender, Sent, header, nothingTried } from './upstream/upstream-sender';
import { CallSignal, RequestAbort } from './upstream/upstream-client';
import { UpstreamSilence } from './upstream/silence-watch';
import { Headers, RelayProgress, collect, newProgress, relayEvents, relayRaw, sendWhole } from './relay';
import { streamErrorEvent } from './streaming/stream-error';
import { PriceBook } from './pricing/price-book.service';
import { priceTableAt } from './pricing/price-quotes';
import { ModelPrice } from './pricing/model-price';
import { PriceTableVersion } from './pricing/price-table-version';
import { TokenUsage, costOf } from './pricing/cost';
import { estimateInputTokens, estimateTokens } from './metering/estimate';
import { inputTokenBound } from './metering/input-bound';
import { preciseInputBound } from './metering/precise-bound';
import { StreamMeter } from './metering/stream-meter';
import { SseParser } from './streaming/sse';
import { Plan, planFor } from './upstream/plan';
import { admission, admittedPrice } from './request/admission';
import { ProxyRequest } from './request/proxy-request';
import { ChargeServices, RequestCharge } from './request/request-charge';
import { RequestOutcome, noAnswer, requestLogRow } from './request/request-log-row';
import { OTHER_MODEL, ProxyMetrics } from './proxy-metrics';
import { TraceSpan, inSpan } from '../platform/tracing/tracing';

/** A request past admission: what it asks for, its prices, how it goes upstream, and its charge. */
interface Admitted {
  shape: RequestShape;
  /** The price table in force when it arrived, for the whole request. */
  table: PriceTableVersion;
  plan: Plan;
  /** The bound on its prompt the hold was sized from (metering/input-bound.ts). */
  inputTokens: number;
  price: ModelPrice;
  charge: RequestCharge;
  /** Resolves once the rate limits' verdict admits it (perhaps after the upstream was asked); rejects with the refusal. */
  limited: Promise<unknown>;
  /** The upstream span, once a channel answered: it ends where the settle (or release) begins. */
  upstreamSpan?: TraceSpan;
}

@Injectable()
export class ProxyService {
  private readonly log = new Logger('Proxy');
  private readonly charges: ChargeServices;

  constructor(
    private readonly prices: PriceBook,
    private readonly limiter: RateLimiter,
    billing: BillingService,
    private readonly sender: UpstreamSender,
    private readonly requestLog: RequestLogRepository,
    spendCaps: SpendCaps,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    journal: SettleJournal,
    private readonly metrics: ProxyMetrics,
  ) {
    this.charges = { billing, spendCaps, journal, log: this.log, holdTtlSeconds: config.HOLD_TTL_SECONDS };
  }

  async handle(req: ProxyRequest): Promise<void> {
    let shape: RequestShape;
    try {
      shape = shapeOf(req.endpoint, req.body, req.pathModel);
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
    try {
      await this.forward(req, admitted);
    } finally {
      admitted.charge.stopHoldKeepAlive();
    }
  }

  /** Everything before the upstream call: model, key allowlist, limits, and the reservation. */
  private async admit(req: ProxyRequest, shape: RequestShape, table: PriceTableVersion, found: ModelPrice | undefined): Promise<Admitted> {
    const { endpoint, principal, requestId } = req;
    const price = admittedPrice(principal, shape, found);
    const plan = planFor(endpoint, price, req.body, shape, req.raw, requestId, req.startedAtDate);
    // Refused before the ledger is touched: no hold (or free request) for a request nobody can serve.
    await this.sender.ensureRoutable(plan, shape.model);
    // An upper bound from the body's bytes, not a tokenizer's guess (see metering/input-bound.ts).
    let bound = inputTokenBound(endpoint.kind, req.body, req.raw.length, price);
    const terms = (inputTokens: number) => admission(principal, shape, price, inputTokens, endpoint.billed, this.config, table.marginBps);
    // The tighter bound where the model's exact tokenizer ships (metering/precise-bound.ts), counted
    // only when the cheap one is refused, so the cheap bound never refuses what it would admit.
    let precise: number | null | undefined;
    const tighter = () => (precise ??= preciseInputBound(endpoint.kind, req.body, req.raw.length, price, price.model, this.config.HOLD_TOKENIZER_MAX_BYTES));
    let { limits, worstCase } = terms(bound);
    // The limits' verdict. Where this instance's counts are over a second old it waits for Redis,
    // and meanwhile says whether its own counts admit (RateLimiter.admit): if they do, the request
    // goes on as admitted (its hold decided, the upstream asked) and forward() relays nothing
    // before the verdict; a refusal then aborts the upstream call and returns the hold.
    let goAhead!: () => void;
    const early = new Promise<void>((resolve) => (goAhead = resolve));
    const limited = (async () => {
      let verdict = await this.limiter.admit(limits, goAhead);
      if (!verdict.ok && verdict.unit === 'tokens' && (tighter() ?? bound) < bound) {
        bound = tighter()!;
        ({ limits, worstCase } = terms(bound));
        verdict = await this.limiter.admit(limits); // the refusal took nothing: asked again, afresh
      }
      if (!verdict.ok) {
        throw new ProxyError('rate_limited', `rate limit reached: ${verdict.limit} ${verdict.label}`, {
          retryAfterSeconds: verdict.retryAfterSeconds,
        });
      }
      return verdict.taken;
    })();
    limited.catch(() => undefined); // forward() answers a refusal that came after the go-ahead
    await Promise.race([early, limited]);
    const charge = new RequestCharge(this.charges, principal, requestId);
    if (worstCase !== null) {
      // Admitted once the ledger accepts the reservation in memory; the 'hold' span lasts until it is durable.
      let decided!: () => void;
      const accepted = new Promise<void>((resolve) => (decided = resolve));
      const held = worstCase;
      const heldBound = bound;
      const hold = inSpan(req.trace, 'hold', async () => {
        try {
          await charge.reserve(held);
        } catch (err) {
          // The cheap bound was refused: the tighter one, and the tokens counters are given the
          // difference back, so they hold the bound the request is admitted on.
          const refused = err instanceof ProxyError && (err.code === 'insufficient_credits' || err.code === 'spend_cap_reached');
          const less = refused ? tighter() : null;
          if (less === null || less >= heldBound) throw err;
          const taken = await limited; // what the counters took (a refusal there is the answer)
          const givenBack = bound > less ? this.limiter.giveBack(taken, bound - less) : undefined;
          bound = less;
          await charge.reserve(terms(less).worstCase!);
          await givenBack;
        }
        decided();
        await charge.durable;
      });
      hold.catch(() => undefined); // forward() answers a refusal at commit, from `charge.durable`
      await Promise.race([accepted, hold]);
    }
    return { shape, table, plan, inputTokens: bound, price, charge, limited };
  }

  /** From the upstream call to the settle (or void): everything after admission. */
  private async forward(req: ProxyRequest, a: Admitted): Promise<void> {
    const { requestId } = req;
    const { shape, plan } = a;

    const controller = new RequestAbort(); // an AbortController's work, lighter (upstream-client.ts)
    const progress = newProgress();
    req.res.on('close', () => {
      if (!progress.completed) controller.abort();
    });
    // The reservation may still be committing: refused (or not taken), the upstream call is
    // aborted at once (no reason given: an abort, not a failure of the channel's).
    const commit: { refused: boolean; err?: unknown } = { refused: false };
    const durable = a.charge.durable.then(
      () => undefined,
      (err: unknown) => {
        Object.assign(commit, { refused: true, err });
        controller.abort();
      },
    );
    // The rate limits' verdict may still be on its way from Redis: a refusal (or Redis failing)
    // aborts the upstream call too, and the reservation is returned.
    const limits: { refused: boolean; err?: unknown } = { refused: false };
    const limited = a.limited.then(
      () => undefined,
      (err: unknown) => {
        Object.assign(limits, { refused: true, err });
        controller.abort();
      },
    );

    let attempt: Sent;
    const tried = nothingTried();
    // From the first try to the answer's last byte relayed (or the failure).
    const upstreamSpan = req.trace.child('upstream');
    try {
      attempt = await this.sender.send(requestId, plan, shape.model, req.query, req.headers, controller, tried);
    } catch (err) {
      await durable; // a hold to void is a durable one; a refusal at commit is what the client is told
      await limited;
      // What the client is told: a refusal at commit, else the limits' refusal, else what the upstream did.
      const thrown = commit.refused ? commit.err : limits.refused ? limits.err : err;
      upstreamSpan.fail(thrown instanceof ProxyError ? thrown.code : 'upstream_error');
      upstreamSpan.end();
      if (commit.refused) this.refusedAtCommit(req, a, tried.channelId, tried.attempts, thrown);
      // The receipt of a request no channel answered still names the channel and the tries.
      await this.fail(req, a, tried.channelId, tried.attempts, thrown);
      throw thrown;
    }
    // No byte of the answer reaches the client before the reservation is durable and the limits
    // admitted it. Meanwhile the answer waits in the upstream socket (backpressure), and that
    // wait is ours, not the upstream's silence.
    attempt.upstream.watch.busy = true;
    await durable;
    await limited;
    attempt.upstream.watch.busy = false;
    if (commit.refused || limits.refused) {
      attempt.upstream.body.destroy(); // aborted already; a whole answer read to its end is dropped too
      upstreamSpan.fail(commit.refused ? 'refused_at_commit' : 'refused_by_limits');
      upstreamSpan.end();
      if (commit.refused) this.refusedAtCommit(req, a, attempt.channel.id, attempt.attempts, commit.err);
      await this.fail(req, a, attempt.channel.id, attempt.attempts, limits.err);
      throw limits.err;
    }
    upstreamSpan.set('tollgate.channel', attempt.channel.id);
    upstreamSpan.set('tollgate.attempts', attempt.attempts);
    upstreamSpan.set('http.response.status_code', attempt.upstream.status);

    a.upstreamSpan = upstreamSpan; // ended where the settle (or release) starts

    const meter = new StreamMeter(plan.meterFormat);
    let usage: TokenUsage | null = null;
    const headers: Headers = { 'x-request-id': requestId };
    const ct = header(attempt.upstream.headers, 'content-type') ?? 'application/json';
    try {
      if (attempt.upstream.status >= 300) {
        // The provider refused the request itself (a 4xx that another channel would refuse too):
        // its own answer, in its own format, and nothing charged.
        const text = await collect(attempt.upstream).catch((err: unknown) => {
          throw brokenAnswer(err, controller);
        });
        const out = plan.translateError ? plan.translateError(attempt.upstream.status, text) : text;
        // Released before the answer goes out, so a client that looks at its balance next sees it whole.
        const refused = noAnswer(attempt.upstream.status, 'upstream_refused', attempt.channel.id, attempt.attempts, null, elapsedMs(req));
        await this.release(req, a, refused, 'upstream refused the request');
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
          const code = cutError(progress.cutBy).code;
          const broken = noAnswer(attempt.upstream.status, code, attempt.channel.id, attempt.attempts, ttfbMs(req, progress), elapsedMs(req));
          await this.release(req, a, broken, `upstream broke off before any content (${code})`);
          return;
        }
        usage = meter.finalUsage(); // the text is read only if it is needed (finish)
      } else {
        const buf = await collect(attempt.upstream).catch((err: unknown) => {
          throw brokenAnswer(err, controller);
        });
        const { body, usage: u } = plan.finishJson(buf);
        usage = u;
        if (!usage) meter.answer(buf); // no usable usage: the answer's text is estimated instead
        sendWhole(req.res, progress, 200, { ...headers, 'content-type': plan.translateError ? 'application/json' : ct }, body);
      }
    } catch (err) {
      if (!progress.firstByteAt) {
        await this.fail(req, a, attempt.channel.id, attempt.attempts, err);
        throw err;
      }
      progress.upstreamCut = true;
    }
    await this.finish(req, a, attempt, progress, usage, meter);
  }

  /** The answer went out (whole, cut, or to a client that left): charge what it used. */
  private async finish(
    req: ProxyRequest,
    a: Admitted,
    attempt: Sent,
    progress: RelayProgress,
    reported: TokenUsage | null,
    meter: StreamMeter,
  ): Promise<void> {
    const { shape, table, price, charge } = a;
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
            inputTokens: Math.min(a.inputTokens, estimateInputTokens(req.endpoint.kind, req.body, price.provider)),
            cachedTokens: 0,
            cacheWriteTokens: 0,
            outputTokens: delivered,
          };
    }
    const outcome: RequestOutcome = {
      status: progress.clientGone ? 499 : attempt.upstream.status,
      errorCode: progress.clientGone ? 'client_disconnected' : progress.upstreamCut ? 'upstream_cut' : null,
      channelId: attempt.channel.id,
      attempts: attempt.attempts,
      usage,
      estimated: !reported,
      ttfbMs: ttfbMs(req, progress),
      latencyMs: elapsedMs(req),
    };
    a.upstreamSpan?.end();
    const row = () => requestLogRow(req, shape.model, shape.stream, price, charge, table, outcome);
    if (charge.reservation) {
      const used = usage;
      await inSpan(req.trace, 'settle', () =>
        charge.settle(
          costOf(price, used, table.marginBps),
          costOf(price, used, 0),
          {
            model: shape.model,
            inputTokens: used.inputTokens + used.cacheWriteTokens,
            outputTokens: used.outputTokens,
            cachedTokens: used.cachedTokens,
            estimated: outcome.estimated,
            priceVersion: table.version,
          },
          row, // committed with the settle, in the ledger's group commit
        ),
      );
    }
    return this.logRow(row(), charge, req.trace);
  }

  /**
   * Failed before the first byte: void the hold and log the failure. 499 only when the client
   * really went away; anything else that is not a ProxyError is ours (500, as the route answers).
   */
  private fail(req: ProxyRequest, a: Admitted, channelId: string | null, attempts: number, thrown: unknown): Promise<void> {
    // The row says what the route answers: an unreachable Postgres is a 503, not our 500.
    const err = isPgUnavailable(thrown) ? databaseUnavailable() : thrown;
    const clientGone = !(err instanceof ProxyError) && req.res.destroyed;
    const status = err instanceof ProxyError ? err.status : clientGone ? 499 : 500;
    const errorCode = err instanceof ProxyError ? err.code : clientGone ? 'client_disconnected' : 'internal_error';
    return this.release(req, a, noAnswer(status, errorCode, channelId, attempts, null, elapsedMs(req)), errorCode);
  }

  /** No answer to charge for: the reservation returns, and the row says how the request ended. */
  private async release(req: ProxyRequest, a: Admitted, outcome: RequestOutcome, reason: string): Promise<void> {
    a.upstreamSpan?.end();
    const row = () => requestLogRow(req, a.shape.model, a.shape.stream, a.price, a.charge, a.table, outcome);
    await inSpan(req.trace, 'settle', () => a.charge.release(reason, row)); // a release: the reservation returns, with the row
    return this.logRow(row(), a.charge, req.trace);
  }

  /**
   * The reservation was refused at commit (or Postgres could not take it) after the upstream was
   * asked: the upstream call is aborted, nothing was reserved or charged, and the client gets the
   * refusal it would have had before the upstream was asked. The row names the channel tried.
   */
  private refusedAtCommit(req: ProxyRequest, a: Admitted, channelId: string | null, attempts: number, thrown: unknown): never {
    const err = isPgUnavailable(thrown) ? databaseUnavailable() : thrown;
    const status = err instanceof ProxyError ? err.status : 500;
    const errorCode = err instanceof ProxyError ? err.code : 'internal_error';
    const outcome = noAnswer(status, errorCode, channelId, attempts, null, elapsedMs(req));
    const row = requestLogRow(req, a.shape.model, a.shape.stream, a.price, a.charge, a.table, outcome);
    this.measure(row, req.trace);
    void this.requestLog.record(row);
    throw err;
  }

  /** A request refused before anything was reserved: logged (metadata only), nothing to release. */
  private refused(req: ProxyRequest, model: string, stream: boolean, price: ModelPrice | null, err: unknown): void {
    const status = err instanceof ProxyError ? err.status : 500;
    const errorCode = err instanceof ProxyError ? err.code : 'internal_error';
    const outcome = noAnswer(status, errorCode, null, 0, null, elapsedMs(req));
    const row = requestLogRow(req, model.slice(0, 200), stream, price, null, null, outcome);
    this.measure(row, req.trace);
    void this.requestLog.record(row);
  }

  /**
   * The row goes where the charge's ledger write went: committed with it already (the usual
   * case), or with a write Postgres could not take, to the settle journal (the request waits for
   * it to be on disk); else (no ledger write, or one refused) to the request log, off the
   * response path.
   */
  private logRow(row: RequestLogRow, charge: RequestCharge, span: TraceSpan): Promise<void> | undefined {
    this.measure(row, span);
    if (charge.rowWritten) {
      this.requestLog.writtenWithLedger(row.requestId);
      return undefined;
    }
    if (charge.unwritten) return charge.keep(row);
    void this.requestLog.record(row);
    return undefined;
  }

  /** Every request that reached the proxy service ends in one row; its metrics and span attributes come from it. */
  private measure(row: RequestLogRow, span: TraceSpan): void {
    const priced = row.provider !== null;
    span.set('tollgate.model', priced ? row.model : OTHER_MODEL);
    this.metrics.ended({ endpoint: row.endpoint, model: row.model, priced, status: row.status, latencyMs: row.latencyMs, ttfbMs: row.ttfbMs });
  }
}

const elapsedMs = (req: ProxyRequest): number => Math.round(performance.now() - req.startedAt);

const ttfbMs = (req: ProxyRequest, progress: RelayProgress): number | null =>
  progress.firstByteAt === null ? null : Math.round(progress.firstByteAt - req.startedAt);

/**
 * Reading an upstream's whole answer failed: the upstream broke it off (or paused past
 * UPSTREAM_TIMEOUT_MS) — its failure, 502 or 504 — unless the client went away first, which
 * aborted the read (then the abort goes on as it is, and fail() records 499).
 */
function brokenAnswer(err: unknown, clientSignal: CallSignal): unknown {
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
