import { ConfigError, loadConfig } from '../../src/config/config';

const failure = (env: NodeJS.ProcessEnv): ConfigError => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('has defaults that work on a fresh machine', () => {
    expect(loadConfig({})).toEqual({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tollgate',
      DATABASE_POOL_SIZE: 10,
      LEDGER_SETTLE_JOIN_MS: 2,
      DATABASE_CONNECT_TIMEOUT_MS: 5_000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'tg:',
      LOG_LEVEL: 'info',
      LOW_BALANCE_CHECK_MS: 30_000,
      MIGRATE_ON_START: true,
      API_RUNS_WORKERS: true,
      HOLD_TTL_SECONDS: 600,
      PROJECTION_POLL_MS: 100,
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      ANTHROPIC_BASE_URL: 'https://api.anthropic.com',
      GEMINI_BASE_URL: 'https://generativelanguage.googleapis.com',
      XAI_BASE_URL: 'https://api.x.ai/v1',
      PRICE_MARGIN_PERCENT: '0',
      PROXY_BODY_LIMIT_BYTES: 10 * 1024 * 1024,
      UPSTREAM_TIMEOUT_MS: 60_000,
      UPSTREAM_MAX_CONNECTIONS: 4_096,
      HOLD_TOKENIZER_MAX_BYTES: 262_144,
      USAGE_RETENTION_DAYS: 90,
      USAGE_RETENTION_EVERY_MS: 3_600_000,
      INCIDENT_NOTICE_SWEEP_SECONDS: 15,
      LISTEN_BACKLOG: 4096,
      INCIDENT_NOTICE_LEASE_SECONDS: 120,
      INCIDENT_NOTICE_RETRY_SECONDS: 60,
      CIRCUIT_FAILURES: 5,
      CIRCUIT_WINDOW: 20,
      CIRCUIT_COOLDOWN_MS: 30_000,
      ACCOUNT_RPM: 3_000,
      ACCOUNT_TPM: 10_000_000,
      AUTH_FAILURES_PER_MINUTE: 30,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 25_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 72_000,
      TRUST_PROXY: false,
      DATA_DIR: './data',
      // Compliance (issue 21)
      EXPORT_JOB_LOCK_MS: 30_000,
      EXPORT_PURGE_EVERY_MS: 600_000,
      // Operators (issue 22)
      READY_MAX_LAG_SECONDS: 60,
      OTEL_SERVICE_NAME: 'tollgate',
      // The dashboard assistant (issue 22)
      ASSISTANT_MAX_MESSAGES: 40,
      ASSISTANT_MAX_INPUT_CHARS: 32_000,
      ASSISTANT_MAX_TOOL_ROUNDS: 4,
      ASSISTANT_MAX_OUTPUT_TOKENS: 1_024,
      ASSISTANT_TIMEOUT_MS: 120_000,
      REDIS_COMMAND_TIMEOUT_MS: 500,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      PUBLIC_URL: 'http://localhost:3000',
      REDEEM_PER_ACCOUNT_PER_HOUR: 10,
      REDEEM_PER_CLIENT_PER_HOUR: 30,
      SESSION_TTL_SECONDS: 604_800,
      MAIL_FROM: 'Tollgate <no-reply@localhost>',
      MAIL_OUTBOX_DIR: './data/outbox',
      MAGIC_LINK_TTL_SECONDS: 900,
      MAGIC_LINK_PER_ADDRESS_PER_HOUR: 5,
      MAGIC_LINK_PER_CLIENT_PER_HOUR: 30,
      GOOGLE_ISSUER: 'https://accounts.google.com',
      GITHUB_OAUTH_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      OIDC_PROVIDERS: [],
      WEBAUTHN_RP_ID: 'localhost',
      WEBAUTHN_ORIGIN: 'http://localhost:3000',
      WEBAUTHN_RP_NAME: 'Tollgate',
      AUTH_PASSWORDS: false,
      TOPUP_MAX_USD: 10_000,
      CRYPTO_TOKENS_ETHEREUM: [
        { symbol: 'USDC', address: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48' },
        { symbol: 'USDT', address: '0xdac17f958d2ee523a2206206994597c13d831ec7' },
      ],
      CRYPTO_TOKENS_BASE: [{ symbol: 'USDC', address: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913' }],
      CRYPTO_FINALITY: 'finalized',
      CRYPTO_SCAN_INTERVAL_MS: 5_000,
      CRYPTO_INTENT_TTL: 3_600,
      CHAINS: [],
    });
  });

  it('derives the public address, outbox and relying party, and reads OIDC providers (issue 19)', () => {
    const c = loadConfig({ PORT: '8080', PUBLIC_URL: 'https://gw.example.com/', DATA_DIR: '/var/tg/' });
    expect(c).toMatchObject({ PUBLIC_URL: 'https://gw.example.com', MAIL_OUTBOX_DIR: '/var/tg/outbox', WEBAUTHN_RP_ID: 'gw.example.com', WEBAUTHN_ORIGIN: 'https://gw.example.com' });
    expect(loadConfig({ PORT: '8080' }).PUBLIC_URL).toBe('http://localhost:8080');
    const sso = [{ name: 'acme', issuer: 'https://sso.acme.test', clientId: 'c', clientSecret: 's' }];
    expect(loadConfig({ OIDC_PROVIDERS: JSON.stringify(sso) }).OIDC_PROVIDERS).toEqual(sso);
    expect(failure({ OIDC_PROVIDERS: 'not json' }).message).toContain('OIDC_PROVIDERS');
    expect(failure({ OIDC_PROVIDERS: JSON.stringify([{ ...sso[0], name: 'github' }]) }).message).toContain('OIDC_PROVIDERS');
    expect(failure({ OIDC_PROVIDERS: JSON.stringify([sso[0], sso[0]]) }).message).toContain('unique');
    // displayName: the sign-in button's words, optional, trimmed, one line.
    const named = [{ ...sso[0], displayName: '  Acme SSO ' }];
    expect(loadConfig({ OIDC_PROVIDERS: JSON.stringify(named) }).OIDC_PROVIDERS).toEqual([{ ...sso[0], displayName: 'Acme SSO' }]);
    expect(failure({ OIDC_PROVIDERS: JSON.stringify([{ ...sso[0], displayName: 'Acme\nSSO' }]) }).message).toContain('control characters');
    expect(failure({ OIDC_PROVIDERS: JSON.stringify([{ ...sso[0], displayName: 'x'.repeat(65) }]) }).message).toContain('displayName');
    expect(failure({ OIDC_PROVIDERS: JSON.stringify([{ ...sso[0], displayName: '   ' }]) }).message).toContain('OIDC_PROVIDERS');
    expect(failure({ SESSION_TTL_SECONDS: '604801' }).message).toContain('SESSION_TTL_SECONDS');
    expect(failure({ SMTP_URL: 'http://mail' }).message).toContain('SMTP_URL');
  });

  it('reads the upstream connection limit and the precise hold bound\'s size limit (0: no limit / off)', () => {
    expect(loadConfig({ UPSTREAM_MAX_CONNECTIONS: '0', HOLD_TOKENIZER_MAX_BYTES: '0' })).toMatchObject({ UPSTREAM_MAX_CONNECTIONS: 0, HOLD_TOKENIZER_MAX_BYTES: 0 });
    expect(loadConfig({ UPSTREAM_MAX_CONNECTIONS: '2' }).UPSTREAM_MAX_CONNECTIONS).toBe(2);
    expect(failure({ UPSTREAM_MAX_CONNECTIONS: '-1' }).message).toContain('UPSTREAM_MAX_CONNECTIONS');
    expect(failure({ UPSTREAM_MAX_CONNECTIONS: '1000001' }).message).toContain('UPSTREAM_MAX_CONNECTIONS');
    expect(failure({ HOLD_TOKENIZER_MAX_BYTES: 'lots' }).message).toContain('HOLD_TOKENIZER_MAX_BYTES');
  });

  it("reads the settle's join window: 0 (never) to 5000 ms", () => {
    expect(loadConfig({ LEDGER_SETTLE_JOIN_MS: '0' }).LEDGER_SETTLE_JOIN_MS).toBe(0);
    expect(loadConfig({ LEDGER_SETTLE_JOIN_MS: '5000' }).LEDGER_SETTLE_JOIN_MS).toBe(5_000);
    expect(failure({ LEDGER_SETTLE_JOIN_MS: '5001' }).message).toContain('LEDGER_SETTLE_JOIN_MS');
    expect(failure({ LEDGER_SETTLE_JOIN_MS: '1.5' }).message).toContain('LEDGER_SETTLE_JOIN_MS');
  });

  it('reads WEB_DIR (unset by default: the checkout\'s dist/web; empty is unset)', () => {
    expect(loadConfig({}).WEB_DIR).toBeUndefined();
    expect(loadConfig({ WEB_DIR: '' }).WEB_DIR).toBeUndefined();
    expect(loadConfig({ WEB_DIR: '/srv/tollgate-web' }).WEB_DIR).toBe('/srv/tollgate-web');
    expect(failure({ WEB_DIR: 'x'.repeat(1025) }).message).toContain('WEB_DIR:');
  });

  it('reads DATA_DIR (empty is unset; longer than 1024 characters is refused)', () => {
    expect(loadConfig({ DATA_DIR: '/var/lib/tollgate' }).DATA_DIR).toBe('/var/lib/tollgate');
    expect(loadConfig({ DATA_DIR: '' }).DATA_DIR).toBe('./data'); // empty counts as unset
    expect(failure({ DATA_DIR: 'x'.repeat(1025) }).message).toContain('DATA_DIR:');
  });

  it("reads TRUST_PROXY in Fastify's forms (true, a hop count, a list of addresses, CIDRs and named ranges), and refuses anything else", () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
    expect(loadConfig({ TRUST_PROXY: 'loopback, uniquelocal,10.1.2.3' }).TRUST_PROXY).toEqual(['loopback', 'uniquelocal', '10.1.2.3']);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: ' , ' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    for (const bad of ['10.0.0.0/33', 'loadbalancer', '10.0.0.1/8/1', '::1/129', '10.0.0.0/x', '0', '65', 'true,10.0.0.1', '-1', '1.5']) {
      expect(failure({ TRUST_PROXY: bad }).message).toContain('TRUST_PROXY:');
    }
  });

  it('refuses a headers timeout longer than the request timeout (Node would throw at start)', () => {
    expect(failure({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }).message).toContain('HTTP_HEADERS_TIMEOUT_MS:');
    expect(loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '1000' }).HTTP_REQUEST_TIMEOUT_MS).toBe(1000);
  });

  it('requires an encryption key in production, and only there', () => {
    expect(failure({ NODE_ENV: 'production' }).message).toContain('ENCRYPTION_KEY:');
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEY: key }).ENCRYPTION_KEY).toBe(key);
  });

  it('reads and coerces values, and treats an empty value as unset', () => {
    const c = loadConfig({ PORT: '8080', MIGRATE_ON_START: 'false', EVENTSTORE_URL: 'esdb://127.0.0.1:2113?tls=false', HOST: '' });
    expect(c.PORT).toBe(8080);
    expect(c.MIGRATE_ON_START).toBe(false);
    expect(c.EVENTSTORE_URL).toBe('esdb://127.0.0.1:2113?tls=false');
    expect(c.HOST).toBe('0.0.0.0');
  });

  it.each([
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://127.0.0.1/tollgate'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_POOL_SIZE', '0'],
    ['LEDGER_SETTLE_JOIN_MS', '-1'],
    ['LEDGER_SETTLE_JOIN_MS', '6000'],
    ['REDIS_COMMAND_TIMEOUT_MS', '10'],
    ['SHUTDOWN_TIMEOUT_MS', '0'],
    ['SHUTDOWN_TIMEOUT_MS', '700000'],
    ['LOG_LEVEL', 'loud'],
    ['MIGRATE_ON_START', 'yes'],
    ['EVENTSTORE_URL', 'http://127.0.0.1:2113'],
    ['ENCRYPTION_KEY', 'c2hvcnQ='],
    ['PRICE_MARGIN_PERCENT', '-5'],
    ['OPENAI_BASE_URL', 'api.openai.com'],
  ])('a bad %s (%j) is one line naming the variable', (name, value) => {
    const err = failure({ [name]: value });
    expect(err.message).toContain(`${name}:`);
    expect(err.message).not.toContain('\n');
  });

  it('names every bad variable at once', () => {
    const err = failure({ PORT: 'x', REDIS_URL: 'y' });
    expect(err.message).toMatch(/PORT:.*REDIS_URL:|REDIS_URL:.*PORT:/);
  });
});
