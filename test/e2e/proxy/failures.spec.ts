/**
 * When things go wrong mid-request: the client leaves mid-stream, a channel fails or hangs
 * before its first byte, the API process dies holding credit.
 */
import { ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { GoogleGenAI } from '@google/genai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { leaveStreamAfter } from '../../support/sse-reader';
import { Gateway, startGateway, testRedisPrefix } from '../../support/gateway';
import { spawnBuilt } from '../../support/cli-runner';
import { ChannelRepository } from '../../../src/proxy/channels/channel.repository';
import { ChannelDirectory } from '../../../src/proxy/channels/channel-directory';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort, waitFor, untilHealthy } from '../../support/wait';

const FUNDS = 10_000_000n;

describe('failures', () => {
  let primary: FakeUpstream;
  let backup: FakeUpstream;
  let gw: Gateway;
  let backupChannelId: string;

  beforeAll(async () => {
    [primary, backup] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
    gw = await startGateway({ openai: primary, env: { UPSTREAM_TIMEOUT_MS: '1000' } });
    const added = await gw.app.get(ChannelRepository).add({
      name: 'backup-openai',
      provider: 'openai',
      baseUrl: `${backup.url}/v1`,
      apiKey: backup.apiKey,
      priority: -1, // tried after the env channel (priority 0)
    });
    backupChannelId = added.id;
    await gw.app.get(ChannelDirectory).reload();
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([primary?.close(), backup?.close()]);
  });
  beforeEach(() => {
    primary.reset();
    backup.reset();
  });

  async function client() {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    return { accountId, secret, openai: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 }) };
  }

  it('a client that leaves mid-stream: the upstream call is aborted and only what was delivered is billed', async () => {
    const { accountId, secret } = await client();
    primary.script({ kind: 'slow', delayMsPerChunk: 100 });
    expect(await leaveStreamAfter(gw.url, secret, { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a long answer please [reply:60]' }] }, 4)).toBe(200);

    const [upstream] = await primary.waitForRequests(1);
    await primary.settled(upstream);
    expect(upstream.aborted).toBe(true);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 499, error_code: 'client_disconnected', estimated: true, billing: 'settled' });
    expect(Number(row.output_tokens)).toBeGreaterThan(0);
    expect(Number(row.output_tokens)).toBeLessThan(60);
    expect(BigInt(row.cost_micros)).toBeGreaterThan(0n);
    expect(BigInt(row.cost_micros)).toBeLessThan(BigInt(row.held_micros));
    expect(await gw.available(accountId)).toBe(FUNDS - BigInt(row.cost_micros));
  });

  it('an upstream 500 before the first byte falls back to the next channel, and the switch is logged', async () => {
    const { accountId, openai } = await client();
    primary.script({ kind: 'status', status: 500 });
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fall back please' }] });
    expect(r.choices[0].message.content).toBe('Hello from fake-openai: 3 words received');
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, attempts: 2, channel_id: backupChannelId, billing: 'settled', estimated: false });
    expect(gw.logs.join('')).toMatch(/falling back from channel env-openai \([^)]*\) to backup-openai \([^)]*\) for model gpt-4o-mini: HTTP 500/);
  });

  it('an upstream that hangs before its first byte times out, and the next channel answers', async () => {
    const { accountId, openai } = await client();
    primary.script({ kind: 'hang' });
    const started = Date.now();
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'are you there' }] });
    expect(r.choices[0].message.content).toContain('Hello from fake-openai');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // waited for the timeout, then moved on
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, attempts: 2, channel_id: backupChannelId, billing: 'settled' });
  });

  it('a model no channel serves: 503 before anything is reserved', async () => {
    const accountId = await gw.account(FUNDS, 1);
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const err = await openai.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('no_channel');
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 503, error_code: 'no_channel', billing: 'none' });
    const { rows } = await gw.db.pool.query('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [`account-${accountId}`]);
    expect(rows.map((r) => r.type)).toEqual(['AccountOpened', 'FreeRequestsGranted', 'CreditsGranted']); // no free request used, no hold
  });

  it('a channel added elsewhere whose change notice was lost serves at once, not after the periodic reload', async () => {
    const accountId = await gw.account(FUNDS, 1);
    const { secret } = await gw.key(accountId);
    const gemini = new GoogleGenAI({ apiKey: secret, httpOptions: { baseUrl: gw.url } });
    // Written straight to the database, as another process would, with no notice to this one.
    const added = await gw.app.get(ChannelRepository).add({ name: 'late-gemini', provider: 'gemini', baseUrl: backup.url, apiKey: backup.apiKey });
    try {
      const r = await gemini.models.generateContent({ model: 'gemini-2.0-flash', contents: 'hello there' });
      expect(r.text).toMatch(/fake-gemini/);
      const [row] = await gw.requests(accountId, 1);
      expect(row).toMatchObject({ status: 200, channel_id: added.id });
    } finally {
      await gw.app.get(ChannelRepository).setEnabled(added.id, false);
      await gw.app.get(ChannelDirectory).reload();
    }
  });

  it('every channel failing: 502 in the format of the call, and nothing charged', async () => {
    const { accountId, openai } = await client();
    primary.script({ kind: 'status', status: 503 });
    backup.script({ kind: 'status', status: 500 });
    const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 502, billing: 'voided', cost_micros: 0n });
    expect(await gw.available(accountId)).toBe(FUNDS);
    // The void and the row were one commit (a row's xmin is the transaction that inserted it).
    const { rows } = await gw.db.pool.query(
      `SELECT (e.transaction_id::text::bigint % 4294967296)::text = r.xmin::text AS same
         FROM events e, request_log r WHERE e.type = 'HoldVoided' AND e.data->>'holdId' = r.request_id AND r.request_id = $1`,
      [row.request_id],
    );
    expect(rows).toEqual([{ same: true }]);
  });
});

describe('an answer that streams for longer than a hold lives', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    // Holds live 1 s here, and the expiry sweep runs in this process every second.
    gw = await startGateway({ openai: fake, env: { HOLD_TTL_SECONDS: '1', API_RUNS_WORKERS: 'true' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('keeps its hold (extended while it runs) and is charged in full, not expired under it', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    fake.script({ kind: 'slow', delayMsPerChunk: 250 });
    const started = Date.now();
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'take your time [reply:16]' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    const lasted = Date.now() - started;
    expect(text.length).toBeGreaterThan(0);
    expect(lasted).toBeGreaterThan(3_000); // three lifetimes of the hold, and three sweeps

    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled', estimated: false });
    const charged = BigInt(row.cost_micros);
    expect(charged).toBe(
      gw.price('gpt-4o-mini', {
        inputTokens: Number(row.input_tokens),
        cachedTokens: Number(row.cached_tokens),
        cacheWriteTokens: Number(row.cache_write_tokens),
        outputTokens: Number(row.output_tokens),
      }),
    );
    expect(await gw.available(accountId)).toBe(FUNDS - charged);
    const { rows } = await gw.db.pool.query(`SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version`, [`account-${accountId}`]);
    const types = rows.map((r) => r.type);
    expect(types).not.toContain('HoldExpired');
    expect(types.filter((t) => t === 'HoldExtended').length).toBeGreaterThanOrEqual(3);
    expect(types.slice(-1)).toEqual(['HoldSettled']);
  });
});

describe('the API process dies mid-request', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await gw?.close();
    await fake?.close();
  });

  it('the hold expires through its BullMQ job and the credit returns', async () => {
    const redisPrefix = testRedisPrefix();
    gw = await startGateway({ openai: fake, redisPrefix, env: { HOLD_TTL_SECONDS: '2' } });
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    const port = await freePort();
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: gw.db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: `${fake.url}/v1`,
      HOLD_TTL_SECONDS: '2',
      API_RUNS_WORKERS: 'false', // the worker is a process of its own here, started after the API dies
      LOG_LEVEL: 'warn',
      EVENTSTORE_URL: '',
    };
    const api = spawnBuilt('main', env);
    children.push(api);
    await untilHealthy(port);

    fake.script({ kind: 'hang' });
    void fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'never answered' }] }),
    }).catch(() => undefined);
    await fake.waitForRequests(1);
    const ledger = gw.app.get(LedgerService);
    // The upstream is asked while the hold commits (issue 23): wait for the hold, not just the call.
    await waitFor(async () => (await ledger.load(accountId)).state.held > 0n, 10_000, 'the hold');
    const during = (await ledger.load(accountId)).state;
    expect(during.held).toBeGreaterThan(0n);
    expect(during.available).toBe(FUNDS - during.held);

    api.kill('SIGKILL');
    await new Promise((r) => api.once('exit', r));
    const worker = spawnBuilt('worker', env);
    children.push(worker);

    await waitFor(async () => (await ledger.load(accountId)).state.held === 0n, 30_000);
    const after = (await ledger.load(accountId)).state;
    expect(after.available).toBe(FUNDS);
    const { rows } = await gw.db.pool.query(`SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version`, [`account-${accountId}`]);
    expect(rows.map((r) => r.type)).toEqual(['AccountOpened', 'CreditsGranted', 'HoldPlaced', 'HoldExpired']);
  });
});



describe('a channel whose circuit opened', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    // One channel: five failures open its circuit for 1.5 s.
    gw = await startGateway({ openai: fake, env: { CIRCUIT_FAILURES: '5', CIRCUIT_WINDOW: '5', CIRCUIT_COOLDOWN_MS: '1500' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('answers 503 upstream_unavailable with retry-after while open, sends the probe after the cooldown, and closes', async () => {
    const accountId = await gw.account(FUNDS);
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const ask = () => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'are you back' }] });

    fake.script(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 500 })));
    for (let i = 0; i < 5; i++) await expect(ask()).rejects.toMatchObject({ status: 502 });
    expect(fake.requests).toHaveLength(5);

    const open = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still down?' }] })
      .withResponse()
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(open).toBeInstanceOf(OpenAI.APIError);
    const refused = open as InstanceType<typeof OpenAI.APIError>;
    expect(refused.status).toBe(503);
    expect(refused.code).toBe('upstream_unavailable');
    expect(refused.message).toMatch(/every channel for this model is failing/);
    expect(Number(refused.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(fake.requests).toHaveLength(5); // nothing sent while open

    fake.reset(); // healthy again (nothing scripted: it answers)
    await new Promise((r) => setTimeout(r, 1_600));
    const probe = await ask();
    expect(probe.choices[0].message.content).toContain('Hello from fake-openai');
    expect(fake.requests).toHaveLength(1); // the probe really went upstream
    // Closed again: every request goes through, not one per cooldown.
    for (let i = 0; i < 3; i++) await expect(ask()).resolves.toBeTruthy();
    expect(fake.requests).toHaveLength(4);
    expect(gw.logs.join('')).toMatch(/half-open -> closed: probe request succeeded/);
    const rows = await gw.requests(accountId, 10);
    expect(rows.filter((r) => r.error_code === 'upstream_unavailable')).toHaveLength(1);
    expect(rows.filter((r) => r.status === 200)).toHaveLength(4);
  });
});
