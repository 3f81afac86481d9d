/**
 * GET /metrics on the API (issue 22, "Operators"): traffic through the proxy with the official
 * openai SDK against the fake upstream moves the counters and histograms; a canary prompt is in
 * no metric; a model outside the price table is counted as `other`, and a thousand made-up model
 * names add no label value; the ledger's append latency, holds, queues and read-model gauges are
 * there.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { newCanary } from '../../support/canary-search';
import { openaiClient } from '../../support/proxy-formats';
import { Sample, parsePrometheus, valueOf } from '../../support/prometheus-text';
import { Queue, Worker } from 'bullmq';
import { QUEUES, makeQueue, makeWorker } from '../../../src/platform/queue/queues';
import { TEST_REDIS_URL } from '../../support/test-env';
import { waitFor } from '../../support/wait';
import { randomUUID } from 'node:crypto';
import { SubjectRequestsRepository } from '../../../src/compliance/requests/application/subject-requests.repository';

const CANARY = newCanary();
const MODEL = 'gpt-4o-mini';

let fake: FakeUpstream;
let gw: Gateway;
let secret: string;
let oa: OpenAI;
let accountId: string;

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parsePrometheus(text) };
}

const requests = (s: Sample[], labels: Record<string, string>) => valueOf(s, 'tollgate_proxy_requests_total', labels);

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake });
  accountId = await gw.account(50_000_000n);
  secret = (await gw.key(accountId)).secret;
  oa = openaiClient(gw.url, secret);
});

afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

describe('GET /metrics', () => {
  it('counts a proxied request by endpoint, model and status, with its latency and time to first byte', async () => {
    const before = (await scrape()).samples;
    await oa.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `say hi ${CANARY}` }] });
    const stream = await oa.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: `stream ${CANARY}` }] });
    for await (const chunk of stream) void chunk;
    // A request is measured as it ends, after its settle: which may follow the answer's last byte.
    await gw.requests(accountId, 2);
    const { samples, text } = await scrape();
    const labels = { endpoint: 'openai.chat', model: MODEL, status: '200' };
    expect(requests(samples, labels) - requests(before, labels)).toBe(2);
    const hist = (name: string) => valueOf(samples, `${name}_count`, { endpoint: 'openai.chat', model: MODEL }) - valueOf(before, `${name}_count`, { endpoint: 'openai.chat', model: MODEL });
    expect(hist('tollgate_proxy_request_duration_seconds')).toBe(2);
    expect(hist('tollgate_proxy_time_to_first_byte_seconds')).toBe(2);
    // Each request placed a hold and settled it: group commits of the ledger, timed.
    expect(valueOf(samples, 'tollgate_ledger_append_seconds_count')).toBeGreaterThanOrEqual(2);
    // The upstream got the canary (the test is not vacuous); no metric has it.
    expect(fake.requests.some((r) => JSON.stringify(r.body).includes(CANARY))).toBe(true);
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(secret);
  });

  it('labels no account, key or person: only the bounded label names', async () => {
    const { samples } = await scrape();
    const allowed = new Set(['process', 'endpoint', 'model', 'status', 'le', 'channel', 'kind', 'state', 'queue', 'read_model', 'outcome', 'collector',
      // Node's own metrics (prom-client's defaults)
      'version', 'major', 'minor', 'patch', 'type', 'space', 'kind']);
    const names = new Set(samples.flatMap((s) => Object.keys(s.labels)));
    expect([...names].filter((n) => !allowed.has(n))).toEqual([]);
  });

  it('counts a model outside the price table as "other"', async () => {
    const before = (await scrape()).samples;
    const bogus = `no-such-model-${CANARY}`;
    const err = await oa.chat.completions.create({ model: bogus, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const status = String((err as InstanceType<typeof OpenAI.APIError>).status);
    const { samples, text } = await scrape();
    expect(requests(samples, { endpoint: 'openai.chat', model: 'other', status }) - requests(before, { endpoint: 'openai.chat', model: 'other', status })).toBe(1);
    expect(text).not.toContain(bogus);
  });

  it('a thousand made-up model names add no label value', async () => {
    const seriesOf = (s: Sample[]) => new Set(s.filter((x) => x.name.startsWith('tollgate_proxy_')).map((x) => JSON.stringify(x.labels)));
    const send = (model: string) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      }).then((r) => r.arrayBuffer());
    await send('made-up-warmup'); // the "other" series exist before the count
    const before = seriesOf((await scrape()).samples);
    const names = Array.from({ length: 1000 }, (_, i) => `made-up-${i}-${Math.random().toString(36).slice(2)}`);
    for (let i = 0; i < names.length; i += 25) await Promise.all(names.slice(i, i + 25).map(send));
    const { samples, text } = await scrape();
    expect(seriesOf(samples)).toEqual(before);
    expect(names.some((n) => text.includes(n))).toBe(false);
    expect(requests(samples, { endpoint: 'openai.chat', model: 'other' })).toBeGreaterThanOrEqual(1001);
  }, 60_000);

  it('counts requests refused before their model is read (no key) under "other"', async () => {
    const before = (await scrape()).samples;
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    const { samples } = await scrape();
    const labels = { endpoint: 'openai.chat', model: 'other', status: '401' };
    expect(requests(samples, labels) - requests(before, labels)).toBe(1);
  });

  it('has the shared-state gauges: holds, credit held, read-model lag, queue jobs, overdue data-subject requests', async () => {
    const { samples } = await scrape();
    const names = new Set(samples.map((s) => s.name));
    for (const n of ['tollgate_queue_jobs', 'tollgate_subject_requests_overdue', 'tollgate_read_model_lag_seconds', 'tollgate_upstream_circuit_state']) {
      expect([...names]).toContain(n);
    }
    expect(valueOf(samples, 'tollgate_queue_jobs', { queue: 'hold-expiry', state: 'failed' })).toBe(0);
    expect(valueOf(samples, 'tollgate_subject_requests_overdue')).toBe(0);
    expect(valueOf(samples, 'tollgate_metrics_collect_failures_total', { collector: 'tollgate_queue_jobs' })).toBe(0);
  });
});

describe('overdue data-subject requests', () => {
  it('counts open requests past their due date, not those still due or closed', async () => {
    // The request rows as the compliance context writes them (its 30-day clock is not run here).
    const repo = new SubjectRequestsRepository(gw.db.pool);
    const row = (dueInDays: number, status: 'open' | 'closed') => ({
      requestId: randomUUID(), userId: randomUUID(), accountId: randomUUID(), kind: 'access' as const, sealedDetails: null,
      openedBy: 'test', openedAt: new Date(Date.now() - 40 * 86_400_000), dueAt: new Date(Date.now() + dueInDays * 86_400_000), status,
      outcome: status === 'closed' ? ('fulfilled' as const) : null, sealedNote: null, closedBy: null, closedAt: null,
      restrictionId: null, restrictionsApplied: 0, version: 1n,
    });
    await repo.write(row(-10, 'open'));
    await repo.write(row(-1, 'open'));
    await repo.write(row(5, 'open'));
    await repo.write(row(-10, 'closed'));
    expect(valueOf((await scrape()).samples, 'tollgate_subject_requests_overdue')).toBe(2);
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let locked: Gateway;

  beforeAll(async () => {
    locked = await startGateway({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await locked?.close();
  });

  it('answers 401 without the token, or with a wrong one, and 200 with it', async () => {
    const get = (authorization?: string) => fetch(`${locked.url}/metrics`, { headers: authorization ? { authorization } : {} });
    const none = await get();
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    expect((await get(`Bearer ${TOKEN}x`)).status).toBe(401);
    expect((await get(`Bearer ${TOKEN.slice(0, -1)}`)).status).toBe(401);
    expect((await get(TOKEN)).status).toBe(401);
    const ok = await get(`Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('tollgate_proxy_requests_total');
  });
});

describe('queue gauges read BullMQ 5 keys as BullMQ writes them', () => {
  let queue: Queue | undefined;
  let worker: Worker | undefined;

  afterAll(async () => {
    await worker?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
  });

  it('counts a failed job and a delayed one of a real queue', async () => {
    const prefix = gw.config.REDIS_KEY_PREFIX;
    queue = makeQueue(QUEUES.dataExport, TEST_REDIS_URL, prefix);
    worker = makeWorker(QUEUES.dataExport, TEST_REDIS_URL, prefix, async () => {
      throw new Error('fails on purpose');
    });
    await queue.add('build', { exportId: 'x' }, { attempts: 1 });
    await queue.add('build', { exportId: 'later' }, { delay: 600_000 });
    await waitFor(async () => (await queue!.getFailedCount()) === 1, 10_000, 'the job to fail');
    const { samples } = await scrape();
    expect(valueOf(samples, 'tollgate_queue_jobs', { queue: 'data-export', state: 'failed' })).toBe(1);
    expect(valueOf(samples, 'tollgate_queue_jobs', { queue: 'data-export', state: 'delayed' })).toBe(1);
    expect(valueOf(samples, 'tollgate_queue_jobs', { queue: 'data-export', state: 'waiting' })).toBe(0);
  });
});
