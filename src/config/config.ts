/**
 * The one place that reads process.env. Every entry point calls loadConfig() once at boot;
 * everything else receives the typed AppConfig by injection.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { DomainError } from '../shared/domain-error';

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `10.0.0.1` or `10.0.0.0/8` (IPv4 or IPv6). */
function isAddressOrCidr(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** proxy-addr's named ranges, which Fastify's trustProxy takes in its list. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Whose X-Forwarded-For is believed, in the forms Fastify's `trustProxy` takes, handed to it as
 * is (and read the same way by the proxy's front door, platform/http/client-address.ts): false
 * (none), true (every hop: the leftmost forwarded address), a hop count (the nearest N hops are
 * proxies), or a list of addresses, CIDRs and the named ranges loopback, linklocal, uniquelocal.
 */
export type TrustProxy = boolean | number | string[];

const MAX_PROXY_HOPS = 64;
const trustProxy = z.string().transform((v, ctx): TrustProxy => {
  const t = v.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^\d+$/.test(t)) {
    const hops = Number(t);
    if (hops >= 1 && hops <= MAX_PROXY_HOPS) return hops;
    ctx.addIssue({ code: 'custom', message: `a hop count is 1 to ${MAX_PROXY_HOPS}` });
    return z.NEVER;
  }
  const list = t.split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.every((a) => isAddressOrCidr(a) || PROXY_RANGES.has(a))) {
    ctx.addIssue({ code: 'custom', message: 'must be true, a hop count, or a comma list of IP addresses, CIDRs (10.0.0.0/8, ::1) and loopback, linklocal, uniquelocal' });
    return z.NEVER;
  }
  return list.length ? list : false;
});

const OIDC_NAME = /^[a-z0-9-]{1,32}$/;

const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const evmAddress = z.string().regex(EVM_ADDRESS, 'must be an address: 0x and 40 hex digits').transform((v) => v.toLowerCase());

/** `SYMBOL:0xaddress,…`: the token contracts a chain accepts payments in (only these count). */
const tokenList = z
  .string()
  .transform((v, ctx) => {
    const tokens: Array<{ symbol: string; address: string }> = [];
    for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [symbol, address, ...rest] = item.split(':');
      if (rest.length > 0 || !/^[A-Z0-9]{2,10}$/.test(symbol ?? '') || !EVM_ADDRESS.test(address ?? '')) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not SYMBOL:0xaddress (symbol in capitals, 40 hex digits)` });
        return z.NEVER;
      }
      tokens.push({ symbol, address: address.toLowerCase() });
    }
    return tokens;
  });

// The official contracts (6 decimals each), checked against the issuers' own pages: Circle's USDC
// on Ethereum and on Base, Tether's USDT on Ethereum (Tether issues no native USDT on Base).
export const DEFAULT_TOKENS_ETHEREUM = 'USDC:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48,USDT:0xdAC17F958D2ee523a2206206994597C13D831ec7';
export const DEFAULT_TOKENS_BASE = 'USDC:0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913';

export const CHAIN_IDS = { ethereum: 1, base: 8453 } as const;
export type ChainName = keyof typeof CHAIN_IDS;

/** OIDC_PROVIDERS: a JSON list of issuers for company sign-in, each with a unique URL-safe name (and an optional displayName for its button). */
const oidcProviders = z
  .string()
  .transform((v, ctx) => {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON list of {name, issuer, clientId, clientSecret}' });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(
        z.object({
          name: z
            .string()
            .regex(OIDC_NAME, { message: 'name must be 1-32 of a-z 0-9 -' })
            .refine((n) => n !== 'google' && n !== 'github', { message: 'name google and github are taken by the built-in providers' }),
          issuer: url(['http:', 'https:']),
          clientId: z.string().min(1),
          clientSecret: z.string().min(1),
          // What the sign-in button says ("Sign in with Acme SSO"); default the name.
          displayName: z
            .string()
            .trim()
            .min(1)
            .max(64, { message: 'displayName must be at most 64 characters' })
            // eslint-disable-next-line no-control-regex
            .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), { message: 'displayName must not contain control characters' })
            .optional(),
        }),
      )
      .max(50)
      .refine((list) => new Set(list.map((p) => p.name)).size === list.length, { message: 'names must be unique' }),
  );

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: intFrom(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  // Connections the kernel queues for the API before it accepts them. Node's default, 511, is
  // soon full when a thousand clients connect in a second (a burst of streams, a reconnect
  // storm): past it the kernel drops their SYNs and each client waits out a retransmit, 1 s
  // then 3 s. Linux caps it at net.core.somaxconn.
  LISTEN_BACKLOG: intFrom(1, 65535).default(4096),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/tollgate'),
  DATABASE_POOL_SIZE: intFrom(1, 200).default(10),
  // How long the proxy's settle (sent after an answer's last byte; nobody waits on it) waits on an
  // idle account for the next command, to share its commit: a client's next request's hold then
  // waits for one commit, not two (LedgerService's header). 0: never. A close ends the wait at
  // once and lets the requests under way finish first (src/drain-before-close.hook.ts).
  LEDGER_SETTLE_JOIN_MS: intFrom(0, 5_000).default(2),
  // A Postgres that accepts connections but does not answer (frozen, or a network that drops
  // packets) must not hold requests forever: getting a connection (a new one, or a free one
  // from a full pool) gives up after this, and the request is answered 503.
  DATABASE_CONNECT_TIMEOUT_MS: intFrom(100, 600_000).default(5_000),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  // Every Redis key and channel starts with this, so deployments (and test runs) sharing one
  // Redis never see each other's data.
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 _ . : -' }).default('tg:'),
  EVENTSTORE_URL: url(['esdb:', 'esdb+discover:', 'kurrentdb:', 'kurrent:']).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  // The API also runs the worker's jobs (read models, hold expiry), so one process is a whole
  // gateway. Set false where a separate worker process runs them (docker-compose does).
  API_RUNS_WORKERS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  HOLD_TTL_SECONDS: intFrom(1, 86_400).default(600),
  PROJECTION_POLL_MS: intFrom(5, 60_000).default(100),

  // Encrypts secrets at rest (upstream keys of channels): 32 bytes, base64. Required in
  // production; elsewhere a fixed development key is used, so a fresh machine just works.
  ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, { message: 'must be 32 bytes, base64-encoded' })
    .optional(),

  // Upstream channels seeded at start; each provider is optional. Base URLs are the ones the
  // provider's official SDK uses (OpenAI and xAI include /v1; Anthropic and Gemini do not).
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: url(['http:', 'https:']).default('https://api.openai.com/v1'),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: url(['http:', 'https:']).default('https://api.anthropic.com'),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_BASE_URL: url(['http:', 'https:']).default('https://generativelanguage.googleapis.com'),
  XAI_API_KEY: z.string().optional(),
  XAI_BASE_URL: url(['http:', 'https:']).default('https://api.x.ai/v1'),

  // The proxy.
  PRICE_MARGIN_PERCENT: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,2})?$/, { message: 'must be a percentage like 5 or 7.5 (at most 2 decimals)' })
    .default('0'),
  PROXY_BODY_LIMIT_BYTES: intFrom(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  UPSTREAM_TIMEOUT_MS: intFrom(100, 600_000).default(60_000),
  // Requests one instance may have in flight on one channel at once (each an upstream
  // connection over HTTP/1.1), for channels that set none of their own (`tollgate channels
  // update --max-connections`); 0 is no limit. Past it a request goes to another channel or is
  // refused with 503 and retry-after, never queued out of sight.
  UPSTREAM_MAX_CONNECTIONS: intFrom(0, 1_000_000).default(4_096),
  // A PEM file of CA certificates trusted for upstream TLS besides Node's own roots (an
  // OpenAI-compatible upstream behind a private CA). Read once at start. Verification is never off.
  UPSTREAM_CA_FILE: z.string().min(1).max(1024).optional(),
  // A hold is sized from the body's bytes; when the account cannot afford that, a model whose
  // exact tokenizer ships here (OpenAI's o200k models) gets a second, tighter bound counted with
  // it, for bodies up to this size (counting costs ~0.1 ms per KB); 0 turns the second bound off.
  HOLD_TOKENIZER_MAX_BYTES: intFrom(0, 100 * 1024 * 1024).default(256 * 1024),
  CIRCUIT_FAILURES: intFrom(1, 1000).default(5),
  CIRCUIT_WINDOW: intFrom(1, 10_000).default(20),
  CIRCUIT_COOLDOWN_MS: intFrom(100, 3_600_000).default(30_000),
  ACCOUNT_RPM: intFrom(1, 10_000_000).default(3_000),
  ACCOUNT_TPM: intFrom(1, 1_000_000_000).default(10_000_000),

  // Authentication. Failed authentications a client address may make per minute before the
  // proxy answers 429 without looking its keys up; 0 turns the limit off.
  AUTH_FAILURES_PER_MINUTE: intFrom(0, 1_000_000).default(30),

  // Receiving a request (issue 16). These bound how long a client may take to send its headers
  // and its whole request, so a stalled body cannot hold a socket forever: it is answered 408 and
  // closed. They never bound the answer (an upstream that pauses is UPSTREAM_TIMEOUT_MS's).
  HTTP_HEADERS_TIMEOUT_MS: intFrom(100, 600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: intFrom(100, 3_600_000).default(25_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: intFrom(100, 600_000).default(72_000),
  // Peers (load balancers) whose X-Forwarded-For is believed; from anyone else the socket's
  // address is the client's. Default none. `true`, a hop count, or a list (see TrustProxy).
  TRUST_PROXY: trustProxy.default(false),

  // Postgres outages (issue 17). Where the API keeps, fsynced, the settles (and request-log rows)
  // it could not write while Postgres was unreachable, until they are written: a directory on a
  // persistent volume. Losing it while it holds entries loses those charges and receipts.
  DATA_DIR: z.string().min(1).max(1024).default('./data'),

  // The dashboard (issue 22): where its built files are (index.html and assets/). Default: the
  // checkout's dist/web, which `npm run build` writes; without a build the API serves no pages.
  WEB_DIR: z.string().min(1).max(1024).optional(),

  // Outages (issue 17). Redis commands on the request path (rate limits, spending caps) wait
  // this long at most, and not at all while Redis is disconnected: the request is answered 503
  // `unavailable` with retry-after instead of hanging. A stopping process (SIGTERM) lets
  // answers under way finish, then exits within SHUTDOWN_TIMEOUT_MS whatever a store does.
  REDIS_COMMAND_TIMEOUT_MS: intFrom(50, 60_000).default(500),
  SHUTDOWN_TIMEOUT_MS: intFrom(100, 600_000).default(10_000),

  // Accounts and sign-in (issue 19). The address people reach the gateway at: links in mail,
  // OAuth redirect URIs, the origin that cookie-authenticated writes must come from, and the
  // passkeys' relying party. Default http://localhost:<PORT>.
  PUBLIC_URL: url(['http:', 'https:']).transform((v) => v.replace(/\/+$/, '')).optional(),
  // A session lives this long from sign-in; the product promises 7 days at most.
  SESSION_TTL_SECONDS: intFrom(60, 604_800).default(604_800),
  // Mail. Without SMTP_URL, development writes messages to MAIL_OUTBOX_DIR (default
  // <DATA_DIR>/outbox) and production refuses to send (magic links answer 503).
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().min(3).max(320).default('Tollgate <no-reply@localhost>'),
  MAIL_OUTBOX_DIR: z.string().min(1).max(1024).optional(),
  // Low-balance alerts (payments/alerts): how often available credit is compared with each threshold.
  LOW_BALANCE_CHECK_MS: intFrom(200, 3_600_000).default(30_000),
  MAGIC_LINK_TTL_SECONDS: intFrom(60, 3_600).default(900),
  MAGIC_LINK_PER_ADDRESS_PER_HOUR: intFrom(1, 10_000).default(5),
  MAGIC_LINK_PER_CLIENT_PER_HOUR: intFrom(1, 100_000).default(30),
  // Redemption codes (POST /api/billing/redeem): attempts per account and per client address per hour.
  REDEEM_PER_ACCOUNT_PER_HOUR: intFrom(1, 100_000).default(10),
  REDEEM_PER_CLIENT_PER_HOUR: intFrom(1, 100_000).default(30),
  // OAuth / OpenID Connect. A provider is on when its client id and secret are set.
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_ISSUER: url(['http:', 'https:']).default('https://accounts.google.com'),
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  GITHUB_OAUTH_URL: url(['http:', 'https:']).transform((v) => v.replace(/\/+$/, '')).default('https://github.com'),
  GITHUB_API_URL: url(['http:', 'https:']).transform((v) => v.replace(/\/+$/, '')).default('https://api.github.com'),
  // Company SSO: a JSON list of {name, issuer, clientId, clientSecret, displayName?}.
  OIDC_PROVIDERS: oidcProviders.default([]),
  // Passkeys: the relying party (default: PUBLIC_URL's host name and origin).
  WEBAUTHN_RP_ID: z.string().min(1).max(253).optional(),
  WEBAUTHN_ORIGIN: url(['http:', 'https:']).transform((v) => new URL(v).origin).optional(),
  WEBAUTHN_RP_NAME: z.string().min(1).max(64).default('Tollgate'),
  // Email + password sign-in, off unless an operator turns it on.
  AUTH_PASSWORDS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // Payments (issue 20). Stripe is offered when its secret key is set; STRIPE_API_URL points the
  // SDK elsewhere (tests: a local server). Top-ups are $5 to TOPUP_MAX_USD.
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  STRIPE_API_URL: url(['http:', 'https:']).optional(),
  TOPUP_MAX_USD: intFrom(5, 1_000_000).default(10_000),
  // USDC/USDT. A chain is offered when it has an RPC URL and a receiving address.
  CHAIN_ETHEREUM_RPC_URL: url(['http:', 'https:']).optional(),
  CHAIN_BASE_RPC_URL: url(['http:', 'https:']).optional(),
  CRYPTO_RECEIVE_ADDRESS: evmAddress.optional(),
  CRYPTO_RECEIVE_ADDRESS_ETHEREUM: evmAddress.optional(),
  CRYPTO_RECEIVE_ADDRESS_BASE: evmAddress.optional(),
  CRYPTO_TOKENS_ETHEREUM: tokenList.prefault(DEFAULT_TOKENS_ETHEREUM),
  CRYPTO_TOKENS_BASE: tokenList.prefault(DEFAULT_TOKENS_BASE),
  // Credit a transfer once its block is `finalized` (the chain's own finality), or after N confirmations.
  CRYPTO_FINALITY: z
    .string()
    .regex(/^(finalized|[1-9][0-9]{0,3})$/, "must be 'finalized' or a number of confirmations (1-9999)")
    .default('finalized')
    .transform((v): 'finalized' | number => (v === 'finalized' ? 'finalized' : Number(v))),
  CRYPTO_SCAN_INTERVAL_MS: intFrom(200, 3_600_000).default(5_000),
  CRYPTO_INTENT_TTL: intFrom(60, 7 * 86_400).default(3_600),
  // Compliance (issue 21). Per-request usage metadata is readable this many days, then forgotten
  // everywhere (the privacy notes promise at most 90).
  USAGE_RETENTION_DAYS: intFrom(1, 90).default(90),
  // Where finished data exports are kept for their 24 hours: unset, in Postgres (every instance
  // can serve them); set, a directory every instance shares (its own volume).
  EXPORT_DIR: z.string().min(1).optional(),
  // Breach notices (compliance/incidents): how often the worker looks for notices due, how long a
  // sender holds a notice it is sending (a sender that died frees it after this), and the first
  // retry's delay after a failed send (doubling, at most an hour).
  INCIDENT_NOTICE_SWEEP_SECONDS: intFrom(1, 3600).default(15),
  INCIDENT_NOTICE_LEASE_SECONDS: intFrom(1, 3600).default(120),
  INCIDENT_NOTICE_RETRY_SECONDS: intFrom(1, 3600).default(60),
  // How often the retention pass runs (compliance/retention): request log rows and day keys past
  // retention are gone within this long of expiring. Also how often its schedule is looked for.
  USAGE_RETENTION_EVERY_MS: intFrom(1_000, 86_400_000).default(3_600_000),
  // How long a data-export build holds its job before another worker may take it over (a worker
  // killed mid-export is noticed after this), and how often expired exports are deleted.
  EXPORT_JOB_LOCK_MS: intFrom(1_000, 600_000).default(30_000),
  EXPORT_PURGE_EVERY_MS: intFrom(100, 86_400_000).default(10 * 60_000),
  // Operators (issue 22). GET /metrics on the API; on the worker, a listener of its own at
  // METRICS_PORT (unset: the worker serves none). With METRICS_TOKEN set, a scrape must send it
  // as a bearer token. /health/ready answers 503 when a read model is this far behind the log.
  METRICS_PORT: intFrom(1, 65535).optional(),
  METRICS_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).max(256).optional(),
  READY_MAX_LAG_SECONDS: intFrom(1, 86_400).default(60),
  // Traces of proxied requests, sent as OTLP over HTTP (JSON) to <endpoint>/v1/traces. Unset:
  // no tracing code is even loaded.
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']).transform((v) => v.replace(/\/+$/, '')).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(128).default('tollgate'),
  // The dashboard assistant (issue 22): the model it asks through the gateway (unset: the
  // assistant answers 503 assistant_not_configured), and its bounds per question.
  ASSISTANT_MODEL: z.string().min(1).max(200).optional(),
  ASSISTANT_MAX_MESSAGES: intFrom(1, 200).default(40),
  ASSISTANT_MAX_INPUT_CHARS: intFrom(100, 200_000).default(32_000),
  ASSISTANT_MAX_TOOL_ROUNDS: intFrom(1, 10).default(4),
  ASSISTANT_MAX_OUTPUT_TOKENS: intFrom(16, 32_000).default(1_024),
  ASSISTANT_TIMEOUT_MS: intFrom(1_000, 600_000).default(120_000),
}).superRefine((c, ctx) => {
  if (c.HTTP_HEADERS_TIMEOUT_MS > c.HTTP_REQUEST_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['HTTP_HEADERS_TIMEOUT_MS'], message: 'must not be more than HTTP_REQUEST_TIMEOUT_MS' });
  }
  if (c.NODE_ENV === 'production' && !c.ENCRYPTION_KEY) {
    ctx.addIssue({ code: 'custom', path: ['ENCRYPTION_KEY'], message: 'is required in production (32 bytes, base64)' });
  }
});

const parsed = schema.transform((c) => {
  const publicUrl = c.PUBLIC_URL ?? `http://localhost:${c.PORT}`;
  return {
    ...c,
    PUBLIC_URL: publicUrl,
    MAIL_OUTBOX_DIR: c.MAIL_OUTBOX_DIR ?? `${c.DATA_DIR.replace(/\/+$/, '')}/outbox`,
    WEBAUTHN_RP_ID: c.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname,
    WEBAUTHN_ORIGIN: c.WEBAUTHN_ORIGIN ?? new URL(publicUrl).origin,
    CHAINS: chainsOf(c),
  };
});

/** A chain payments are taken on: configured with an RPC URL and a receiving address. */
export interface ChainConfig {
  name: ChainName;
  chainId: number;
  rpcUrl: string;
  receiveAddress: string; // lower case
  tokens: Array<{ symbol: string; address: string }>; // addresses lower case
}

function chainsOf(c: z.infer<typeof schema>): ChainConfig[] {
  const chains: ChainConfig[] = [];
  const add = (name: ChainName, rpcUrl: string | undefined, own: string | undefined, tokens: ChainConfig['tokens']) => {
    const receiveAddress = own ?? c.CRYPTO_RECEIVE_ADDRESS;
    if (rpcUrl && receiveAddress && tokens.length > 0) chains.push({ name, chainId: CHAIN_IDS[name], rpcUrl, receiveAddress, tokens });
  };
  add('ethereum', c.CHAIN_ETHEREUM_RPC_URL, c.CRYPTO_RECEIVE_ADDRESS_ETHEREUM, c.CRYPTO_TOKENS_ETHEREUM);
  add('base', c.CHAIN_BASE_RPC_URL, c.CRYPTO_RECEIVE_ADDRESS_BASE, c.CRYPTO_TOKENS_BASE);
  return chains;
}

export type AppConfig = z.infer<typeof parsed>;

/** Cookies are Secure unless people reach the gateway over plain http (development). */
export const cookieSecure = (config: Pick<AppConfig, 'PUBLIC_URL'>): boolean => !config.PUBLIC_URL.startsWith('http:');

/** The origin cookie-authenticated writes must come from (PUBLIC_URL's). */
export const publicOrigin = (config: Pick<AppConfig, 'PUBLIC_URL'>): string => new URL(config.PUBLIC_URL).origin;
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends DomainError<'invalid_config'> {
  override readonly name = 'ConfigError';
  override readonly showsCode = false;

  constructor(message: string) {
    super('invalid_config', message);
  }
}

/** Parses the environment; the error message is one line naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings count as unset, as a shell `FOO=` usually means "no value".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = parsed.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
