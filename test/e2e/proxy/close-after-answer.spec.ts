/**
 * Closing the gateway right after an answer, while that request's settle waits for company
 * (LEDGER_SETTLE_JOIN_MS, long here: 3 s): the close finishes the request's work first (the
 * settle and its request-log row committed, its trace exported) and does not sit out the wait.
 * Both ways a gateway closes: a plain app.close() (what the tests and an embedding do) and
 * SIGTERM to the built API (src/main.ts, bounded-shutdown.ts).
 */
import { ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { spawnBuilt } from '../../support/cli-runner';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { Gateway, startGateway, testRedisPrefix } from '../../support/gateway';
import { OtlpReceiver, startOtlpReceiver } from '../../support/otlp-receiver';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort, untilHealthy, within } from '../../support/wait';

const JOIN_MS = 3_000;
const FAST_MS = 1_500; // a close that sat out the wait takes JOIN_MS or more

let fake: FakeUpstream;
let receiver: OtlpReceiver;
let db: FreshDb;
let gw: Gateway | undefined; // the helper gateway: accounts and keys for the built API's test
const children: ChildProcess[] = [];

beforeAll(async () => {
  fake = await startFakeUpstream();
  receiver = await startOtlpReceiver();
  db = await freshDb(4);
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await gw?.close();
  await fake?.close();
  await receiver?.close();
  await db?.drop();
});

const ask = (url: string, secret: string) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: secret, maxRetries: 0 }).chat.completions
    .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello [reply:3]' }] })
    .withResponse();

/** The request's HoldSettled events and request-log rows, as committed now. */
async function written(requestId: string): Promise<{ settles: number; rows: number }> {
  const settles = await db.pool.query(`SELECT 1 FROM events WHERE type = 'HoldSettled' AND data->>'holdId' = $1`, [requestId]);
  const rows = await db.pool.query(`SELECT 1 FROM request_log WHERE request_id = $1`, [requestId]);
  return { settles: settles.rowCount ?? 0, rows: rows.rowCount ?? 0 };
}

it("app.close() right after an answer: the request's settle, row and trace are written when it resolves, and it does not sit out the wait", async () => {
  const closing = await startGateway({
    openai: fake,
    db,
    env: { LEDGER_SETTLE_JOIN_MS: String(JOIN_MS), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'tollgate-close-test' },
  });
  const accountId = await closing.account(10_000_000n);
  const { secret } = await closing.key(accountId);
  const { data, response } = await ask(closing.url, secret);
  expect(data.choices[0].message.content).toBeTruthy();
  const requestId = response.headers.get('x-request-id')!;

  const started = Date.now();
  await closing.close(); // app.close(); the database is this file's, so it stays
  const took = Date.now() - started;

  expect(await written(requestId)).toEqual({ settles: 1, rows: 1 });
  const root = receiver.spans().find((s) => s.name === 'proxy.request' && s.attributes['tollgate.request_id'] === requestId);
  expect(root).toBeDefined(); // exported before the tracer's last flush
  const children = receiver.spans().filter((s) => s.traceId === root!.traceId && s.parentSpanId === root!.spanId);
  expect(children.map((s) => s.name).sort()).toEqual(['auth', 'hold', 'settle', 'upstream']);
  expect(took).toBeLessThan(FAST_MS);
}, 60_000);

it("SIGTERM right after an answer: the built API exits with the request's settle and row written, without sitting out the wait", async () => {
  const redisPrefix = testRedisPrefix();
  gw = await startGateway({ openai: fake, db, redisPrefix });
  const accountId = await gw.account(10_000_000n);
  const { secret } = await gw.key(accountId);
  const port = await freePort();
  const output: string[] = [];
  const api = spawnBuilt(
    'main',
    {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      OPENAI_API_KEY: fake.apiKey,
      OPENAI_BASE_URL: `${fake.url}/v1`,
      API_RUNS_WORKERS: 'false',
      MIGRATE_ON_START: 'false',
      LEDGER_SETTLE_JOIN_MS: String(JOIN_MS),
      SHUTDOWN_TIMEOUT_MS: '10000',
      LOG_LEVEL: 'info',
      EVENTSTORE_URL: '',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
    },
    output,
  );
  children.push(api);
  const exited = new Promise<{ at: number; signal: NodeJS.Signals | null }>((resolve) => api.once('exit', (_code, signal) => resolve({ at: Date.now(), signal })));
  await untilHealthy(port);

  const { data, response } = await ask(`http://127.0.0.1:${port}`, secret);
  expect(data.choices[0].message.content).toBeTruthy();
  const requestId = response.headers.get('x-request-id')!;
  const signalled = Date.now();
  api.kill('SIGTERM');
  const exit = await within(exited, 15_000, 'the API exiting after SIGTERM', async () => output.join('').slice(-2000));

  expect(exit.signal).toBe('SIGTERM'); // closed in time, not cut by the bound
  expect(await written(requestId)).toEqual({ settles: 1, rows: 1 });
  expect(exit.at - signalled).toBeLessThan(FAST_MS);
}, 60_000);
