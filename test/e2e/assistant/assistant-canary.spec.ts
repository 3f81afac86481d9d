/**
 * Conversations with the assistant are not stored (issue 22; DESIGN.md's privacy promise): a
 * canary string, new on every run, goes in a question, in an earlier turn of the conversation,
 * and (through a scripted provider refusal) in an upstream error body that the assistant passes
 * to the person as an error event. Afterwards it is in no table of the gateway's database, no
 * Redis key or value, no log line and no console output. Each search has a positive control,
 * and the fake upstream must have received the canary, so the test cannot pass vacuously.
 */
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { ConsoleCapture, captureConsole, newCanary, searchPostgres, searchRedis } from '../../support/canary-search';
import { parseSseText } from '../../support/sse-reader';
import { TEST_REDIS_URL } from '../../support/test-env';

const CANARY = newCanary();
const mask = (s: string) => s.replaceAll(CANARY, '<CANARY>');

let fake: FakeUpstream;
let gw: Gateway;
let me: SignedIn;
let consoleOut: ConsoleCapture;
const requestIds: string[] = [];

beforeAll(async () => {
  consoleOut = captureConsole();
  fake = await startFakeUpstream();
  // With the background jobs on, so the read models and BullMQ's keys are in the searched stores.
  gw = await startGateway({ openai: fake, env: { ASSISTANT_MODEL: 'gpt-4o-mini', API_RUNS_WORKERS: 'true' } });
  const email = uniqueEmail('assistant-canary');
  const user = await gw.app.get(UsersService).registerByOperator(email, 'cli:test', 1);
  await gw.app.get(LedgerService).execute(user.accountId, { type: 'GrantCredits', data: { grantId: 'test-funds', amount: 50_000_000n, reason: 'test funds' } });
  me = await signedIn(gw, email);

  const conversation = [
    { role: 'user', content: `My project code is ${CANARY}; remember it.` },
    { role: 'assistant', content: `Noted: ${CANARY}.` },
    { role: 'user', content: `What is my balance, and what was the code ${CANARY}?` },
  ];
  fake.script({ kind: 'tool-call', name: 'get_balance' });
  const answered = parseSseText(await (await me.fetch('/api/assistant', { method: 'POST', body: { messages: conversation } })).text());
  expect(answered[answered.length - 1].event).toBe('done');
  requestIds.push(...(answered[answered.length - 1].data.requestIds as string[]));

  // A provider refusal quoting the prompt: the person is told, nothing keeps it.
  fake.script({ kind: 'status', status: 400, body: { error: { message: `Invalid prompt: ${CANARY}`, type: 'invalid_request_error', param: 'messages', code: null } } });
  const refused = parseSseText(await (await me.fetch('/api/assistant', { method: 'POST', body: { messages: conversation } })).text());
  expect(refused[refused.length - 1]).toMatchObject({ event: 'error', data: { status: 400 } });
  expect(refused[refused.length - 1].data.message).toContain(CANARY); // it did travel, to the person only
  requestIds.push(refused[refused.length - 1].data.requestId as string);
  await gw.requests(me.accountId, 3);
});

afterAll(async () => {
  await gw?.close();
  await fake?.close();
  consoleOut?.restore();
});

it('reached the model through the gateway (the test is not vacuous)', () => {
  const bodies = fake.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => JSON.stringify(r.body));
  expect(bodies).toHaveLength(3);
  expect(bodies.every((b) => b.includes(CANARY))).toBe(true);
});

it('is in no table of the gateway database', async () => {
  const control = await searchPostgres(gw.db.pool, requestIds[0]);
  expect(control.hits.some((h) => h.startsWith('public.request_log'))).toBe(true);
  expect((await searchPostgres(gw.db.pool, me.accountId)).hits.some((h) => h.startsWith('public.events'))).toBe(true);
  const found = await searchPostgres(gw.db.pool, CANARY);
  expect(found.tablesSearched).toBeGreaterThanOrEqual(8);
  expect(found.hits).toEqual([]);
});

it('is in no Redis key or value', async () => {
  const prefix = gw.config.REDIS_KEY_PREFIX;
  const ids = await searchRedis(TEST_REDIS_URL, me.accountId);
  expect(ids.hits.some((h) => h.includes(prefix))).toBe(true); // the account's rate-limit counters
  const found = await searchRedis(TEST_REDIS_URL, CANARY);
  expect(found.unreadable.filter((k) => k.includes(prefix))).toEqual([]);
  expect(found.hits).toEqual([]);
});

it('is in no log line and no console output', () => {
  expect(gw.logs.length).toBeGreaterThan(0);
  expect(gw.logs.filter((l) => l.includes(CANARY)).map(mask)).toEqual([]);
  expect(consoleOut.lines.filter((l) => l.includes(CANARY)).map(mask)).toEqual([]);
});
