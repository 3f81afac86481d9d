/**
 * The proxy's HTTP surface, registered straight on Fastify (one encapsulated scope with its own
 * body parser: the body is read once, as bytes, parsed once, and forwarded as those bytes).
 * Handlers write to the raw response themselves, so a stream is passed on as it arrives.
 *
 * Keys are accepted the way each official SDK sends them: `Authorization: Bearer` (OpenAI),
 * `x-api-key` (Anthropic), `x-goog-api-key` or `?key=` (Gemini; on Gemini routes only); each
 * format's file under formats/ says which.
 */
import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { ApiKeyAuthenticator, KeyAuthError, KeyPrincipal } from '../../keys/application/api-key-authenticator';
import { ENDPOINTS, Endpoint, EndpointKind } from '../endpoints';
import { ProxyService } from '../proxy.service';
import { errorResponse } from './error-response';
import { ApiFormat, ProxyError, databaseUnavailable, formatOfPath, quoted } from './proxy-error';
import { isPgUnavailable } from '../../platform/database/pg-unavailable';
import { checkJsonStructure } from './json-structure-check';
import { proxyErrorFor } from './domain-error-map';
import { CatalogService } from '../catalog.service';
import { RequestLogRepository } from '../usage/request-log.repository';
import { receiptOf } from '../usage/receipt';
import { AuthFailureLimiter } from '../limits/auth-failure-limiter';
import { clientKeyOf } from '../formats';
import { forwardedQuery, geminiEndpointOf } from '../formats/gemini.format';
import { OTHER_MODEL, ProxyMetrics } from '../proxy-metrics';
import { NO_TRACING, TRACING, Tracing, inSpan } from '../../platform/tracing/tracing';
import { inFlightOf } from '../../platform/http/in-flight-requests';
import { clientAddressReader } from '../../platform/http/client-address';
import { BodyTooLarge, BodyUnreadable, FrontDoorRequest, installFrontDoor, readBody } from './proxy-front-door';

type RouteKind = EndpointKind | 'gemini';

/** What authentication reads of a request (a FastifyRequest is one). */
interface Asking {
  ip: string;
  headers: IncomingHttpHeaders;
  query: unknown;
}

const formatOfKind = (kind: RouteKind): ApiFormat => (kind === 'gemini' ? 'gemini' : ENDPOINTS[kind].format);

const unreadable = () => new ProxyError('invalid_request', 'the request could not be read');

/** One proxied request as either door hands it over: the body read, nothing of a framework's. */
interface Arrived {
  kind: RouteKind;
  /** The Gemini route's `{model}:{action}`; null elsewhere. */
  modelAction: string | null;
  body: Buffer | undefined;
  query: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  ip: string;
  res: ServerResponse;
}

declare module 'fastify' {
  /** Each proxy route's API format, for the answers given before its handler runs (body errors). */
  interface FastifyContextConfig {
    format?: ApiFormat;
  }
}

@Injectable()
export class ProxyRoutes implements OnModuleInit {
  private readonly log = new Logger('ProxyRoutes');
  /** Set as the app starts closing: from then on Fastify takes every request (and answers 503). */
  private closing = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: ApiKeyAuthenticator,
    private readonly proxy: ProxyService,
    private readonly catalog: CatalogService,
    private readonly requestLog: RequestLogRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly authFailures: AuthFailureLimiter,
    private readonly metrics: ProxyMetrics,
    @Optional() @Inject(TRACING) private readonly tracing: Tracing = NO_TRACING,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const known: KnownRoute[] = []; // every served method and path, for 405s
    const frontPaths = new Map<string, EndpointKind>();
    // Plugins that register synchronously (done at the end), so each scope's routes exist when register resolves.
    void fastify.register((scope, _opts, done) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: this.config.PROXY_BODY_LIMIT_BYTES }, (_req, body, done) =>
        done(null, body),
      );
      scope.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
        const format = request.routeOptions.config.format ?? 'openai';
        const e =
          err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? this.bodyTooLarge()
            : (err.statusCode ?? 500) < 500
              ? unreadable()
              : new ProxyError('internal_error', 'internal error');
        const out = errorResponse(format, e, randomUUID());
        void reply.code(out.status).headers(out.headers).send(out.body);
      });

      // The same routes as the front door's (below): Fastify answers what the front door leaves to it.
      const post = (url: string, kind: RouteKind) => {
        known.push(knownRoute('POST', url));
        if (kind !== 'gemini') frontPaths.set(url, kind);
        scope.post(url, { config: { format: formatOfKind(kind) } }, (req, reply) => {
          reply.hijack();
          return this.serve({
            kind,
            modelAction: kind === 'gemini' ? (req.params as { modelAction: string }).modelAction : null,
            body: req.body as Buffer | undefined,
            query: req.query as Record<string, unknown>,
            headers: req.headers,
            ip: req.ip,
            res: reply.raw,
          });
        });
      };
      const get = (url: string, format: ApiFormat, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<void>) => {
        known.push(knownRoute('GET', url));
        scope.get(url, { config: { format } }, handler);
      };
      post('/v1/chat/completions', 'openai.chat');
      post('/v1/completions', 'openai.completions');
      post('/v1/embeddings', 'openai.embeddings');
      post('/v1/responses', 'openai.responses');
      post('/v1/messages', 'anthropic.messages');
      post('/v1/messages/count_tokens', 'anthropic.count_tokens');
      post('/v1beta/models/:modelAction', 'gemini');

      get('/v1/models', 'openai', (req, reply) => this.models(req, reply, 'v1'));
      get('/v1beta/models', 'gemini', (req, reply) => this.models(req, reply, 'gemini'));
      get('/v1/generations/:id', 'openai', (req, reply) => this.generation(req, reply));
      done();
    });

    // The plain case of every POST route above, answered before Fastify and Nest see it (see
    // proxy-front-door.ts), the client's address read as Fastify reads request.ip.
    const tracker = inFlightOf(fastify);
    const addressOf = clientAddressReader(this.config.TRUST_PROXY);
    installFrontDoor<RouteKind>(fastify.server, {
      paths: frontPaths,
      geminiKind: 'gemini',
      passThrough: () => this.closing,
      handle: (d) => this.enterFront(d, addressOf(d.raw)),
      track: (work) => (tracker ? tracker.track(work) : work),
    });
    fastify.addHook('preClose', (done) => {
      this.closing = true;
      done();
    });

    // Anything else under the proxy's prefixes is answered in that API's shape, not Nest's: 405
    // with Allow for a served path and another method, else 404. Bodies are not read.
    for (const prefix of ['/v1', '/v1/messages', '/v1beta']) {
      void fastify.register(
        (scope, _opts, done) => {
          scope.removeAllContentTypeParsers();
          scope.addContentTypeParser('*', (_req, _payload, parsed) => parsed(null));
          scope.setNotFoundHandler((req, reply) => this.unrouted(req, reply, known));
          scope.setErrorHandler((_err, req, reply) => this.unrouted(req, reply, known));
          done();
        },
        { prefix },
      );
    }
  }

  private unrouted(request: FastifyRequest, reply: FastifyReply, known: KnownRoute[]): void {
    const path = request.url.split('?')[0];
    const allowed = known.filter((r) => r.pattern.test(path)).flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]));
    const e = allowed.length
      ? new ProxyError('method_not_allowed', `${request.method} is not served on ${quoted(path)}; use ${allowed.join(' or ')}`)
      : new ProxyError('not_found', `no such route: ${request.method} ${quoted(path)}`);
    const out = errorResponse(formatOfPath(path) ?? 'openai', e, randomUUID());
    if (allowed.length) out.headers.allow = allowed.join(', ');
    void reply.code(out.status).headers(out.headers).send(out.body);
  }

  /** A request the front door took: its body read as Fastify would (limit, length), then served alike. */
  private async enterFront(d: FrontDoorRequest<RouteKind>, ip: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(d.raw, this.config.PROXY_BODY_LIMIT_BYTES);
    } catch (err) {
      const e = err instanceof BodyTooLarge ? this.bodyTooLarge() : err instanceof BodyUnreadable ? unreadable() : new ProxyError('internal_error', 'internal error');
      const out = errorResponse(formatOfKind(d.kind), e, randomUUID());
      // The rest of the body is not read: the connection ends with this answer.
      if (!d.res.headersSent && !d.res.destroyed) {
        d.res.writeHead(out.status, { ...out.headers, connection: 'close', 'content-length': String(Buffer.byteLength(out.body)) });
        d.res.end(out.body);
      }
      return;
    }
    return this.serve({ kind: d.kind, modelAction: d.modelAction, body, query: d.query, headers: d.raw.headers, ip, res: d.res });
  }

  private bodyTooLarge(): ProxyError {
    return new ProxyError('body_too_large', `the body is larger than ${this.config.PROXY_BODY_LIMIT_BYTES} bytes`);
  }

  private async serve(request: Arrived): Promise<void> {
    const { kind, res } = request;
    const startedAt = performance.now();
    const startedAtDate = this.clock.now();
    const requestId = randomUUID();
    this.requestLog.expect(requestId);
    let format: ApiFormat = formatOfKind(kind);
    let endpoint: Endpoint | undefined;
    let handedOver = false; // past this, the proxy service measures the request (from its log row)
    const span = this.tracing.root('proxy.request');
    span.set('tollgate.endpoint', kind === 'gemini' ? 'gemini' : kind);
    span.set('tollgate.request_id', requestId);
    try {
      let pathModel: string | null = null;
      if (kind === 'gemini') {
        ({ endpoint, model: pathModel } = geminiEndpointOf(request.modelAction ?? ''));
      } else {
        endpoint = ENDPOINTS[kind];
      }
      format = endpoint.format;
      const principal = await inSpan(span, 'auth', () => this.authenticate(request, format === 'gemini'));
      const raw = request.body;
      const body = parseBody(raw);
      handedOver = true;
      await this.proxy.handle({
        endpoint,
        requestId,
        principal,
        body,
        raw: raw!,
        pathModel,
        query: forwardedQuery(request.query as Record<string, string>),
        headers: request.headers,
        res,
        startedAt,
        startedAtDate,
        trace: span,
      });
    } catch (err) {
      const status = this.answerError(res, format, err, requestId);
      span.fail(err instanceof ProxyError ? err.code : 'internal_error');
      if (!handedOver) {
        // Refused before its model was read (no key, bad key, unreadable body): no model to name.
        const endpointKind = endpoint?.kind ?? (kind === 'gemini' ? 'gemini.generate' : kind);
        this.metrics.ended({ endpoint: endpointKind, model: OTHER_MODEL, priced: false, status, latencyMs: performance.now() - startedAt, ttfbMs: null });
      }
    } finally {
      this.requestLog.abandon(requestId); // a no-op once its row is recorded
      span.set('http.response.status_code', res.headersSent ? res.statusCode : 499);
      span.end();
    }
  }

  /** Answers the error (unless an answer already started); the status the client got (499: it left). */
  private answerError(res: ServerResponse, format: ApiFormat, err: unknown, requestId: string): number {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return res.statusCode;
    }
    if (res.destroyed) return 499;
    let e: ProxyError;
    if (err instanceof ProxyError) e = err;
    else if (isPgUnavailable(err)) e = databaseUnavailable();
    else {
      // Never the message: an error's text may quote the content it choked on (JSON.parse
      // does), and logs never get content. Its type and where it was thrown are enough to start.
      const thrown = err as Error;
      const where = (thrown?.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 3).map((l) => l.trim()).join(' < ');
      this.log.error(`unexpected ${thrown?.name ?? 'error'} at ${where || 'an unknown place'}`);
      e = new ProxyError('internal_error', 'internal error');
    }
    const out = errorResponse(format, e, requestId);
    res.writeHead(out.status, { ...out.headers, 'content-length': String(Buffer.byteLength(out.body)) });
    res.end(out.body);
    return out.status;
  }

  /** `?key=` counts only on Gemini routes, the one API that documents it (a key in a URL ends up in access logs). */
  private async authenticate(request: Asking, queryKeyAllowed: boolean): Promise<KeyPrincipal> {
    // An address past its failures is refused before its key costs a lookup, good key or not.
    const wait = this.authFailures.refusal(request.ip);
    if (wait !== null) throw tooManyFailures(wait);
    const presented = presentedKey(request, queryKeyAllowed);
    if (!presented) {
      const ways = queryKeyAllowed ? 'x-goog-api-key or ?key=' : 'Authorization: Bearer or x-api-key';
      throw await this.failedAuth(request, new ProxyError('invalid_api_key', `no API key: send it as ${ways}`));
    }
    try {
      return await this.auth.authenticate(presented);
    } catch (err) {
      if (err instanceof KeyAuthError) throw await this.failedAuth(request, proxyErrorFor(err));
      throw err;
    }
  }

  /** Counts the failure; the error to answer with (429 once the address is past its limit). */
  private async failedAuth(request: Asking, err: ProxyError): Promise<ProxyError> {
    const wait = await this.authFailures.failed(request.ip);
    return wait === null ? err : tooManyFailures(wait);
  }

  private async models(request: FastifyRequest, reply: FastifyReply, flavour: 'v1' | 'gemini'): Promise<void> {
    const requestId = randomUUID();
    const format: ApiFormat = flavour === 'gemini' ? 'gemini' : request.headers['anthropic-version'] ? 'anthropic' : 'openai';
    try {
      const principal = await this.authenticate(request, flavour === 'gemini');
      const body = this.catalog.list(principal, format, this.clock.now());
      void reply.code(200).headers({ 'x-request-id': requestId }).send(body);
    } catch (err) {
      const e = err instanceof ProxyError ? err : isPgUnavailable(err) ? databaseUnavailable() : new ProxyError('internal_error', 'internal error');
      const out = errorResponse(format, e, requestId);
      void reply.code(out.status).headers(out.headers).send(out.body);
    }
  }

  private async generation(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const requestId = randomUUID();
    try {
      const principal = await this.authenticate(request, false);
      const id = (request.params as { id: string }).id;
      const row = await this.requestLog.find(id, principal.accountId);
      if (!row) throw new ProxyError('not_found', `no request ${id} for this account`);
      void reply.code(200).headers({ 'x-request-id': requestId }).send(receiptOf(row));
    } catch (err) {
      const e = err instanceof ProxyError ? err : isPgUnavailable(err) ? databaseUnavailable() : new ProxyError('internal_error', 'internal error');
      const out = errorResponse('openai', e, requestId);
      void reply.code(out.status).headers(out.headers).send(out.body);
    }
  }
}

function tooManyFailures(retryAfterSeconds: number): ProxyError {
  return new ProxyError('rate_limited', 'too many failed authentications from this address; try again later', { retryAfterSeconds });
}

interface KnownRoute {
  method: 'GET' | 'POST';
  pattern: RegExp;
}

/** A served route as a pattern over request paths (`:param` is one path segment). */
function knownRoute(method: KnownRoute['method'], url: string): KnownRoute {
  const source = url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return { method, pattern: new RegExp(`^${source}$`) };
}

/** Where each format's SDK sends the key: see formats/. */
function presentedKey(request: Asking, queryKeyAllowed: boolean): string | null {
  return clientKeyOf(request.headers, queryKeyAllowed ? (request.query as Record<string, unknown> | undefined) : undefined);
}

function parseBody(raw: Buffer | undefined): Record<string, unknown> {
  if (!raw || raw.length === 0) throw new ProxyError('invalid_json', 'the body must be a JSON object');
  // Before JSON.parse: it accepts both, and what it makes of them is not what the upstream reads.
  const problem = checkJsonStructure(raw);
  if (problem?.kind === 'too_deep') {
    throw new ProxyError('invalid_request', `the body nests arrays and objects more than ${problem.maxDepth} levels deep`);
  }
  if (problem?.kind === 'duplicate_key') {
    throw new ProxyError('invalid_request', `the body has the key ${JSON.stringify(problem.key.slice(0, 60))} twice in one object`);
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ProxyError('invalid_json', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ProxyError('invalid_json', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
