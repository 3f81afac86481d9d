/**
 * The o200k tokenizer is loaded when a request first needs a count, not when the API starts
 * (src/proxy/metering/o200k.ts: its tables cost the process ~40 MiB of RSS). A started API and
 * an answer that carries its usage leave it unloaded; an answer whose usage is missing (a client
 * that leaves mid-stream) loads it, and is billed from its estimate as before.
 *
 * The real app, the fake upstream, the official OpenAI SDK.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { leaveStreamAfter } from '../../support/sse-reader';
import { Gateway, startGateway } from '../../support/gateway';
import { o200kLoaded } from '../../../src/proxy/metering/o200k';

const FUNDS = 5_000_000n;
let fake: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake });
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

it('starts and answers with usage without the tokenizer; the first answer without usage loads it and is billed from its estimate', async () => {
  expect(o200kLoaded()).toBe(false);
  const accountId = await gw.account(FUNDS);
  const { secret } = await gw.key(accountId);
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
  await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
  const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello' }] });
  for await (const _chunk of stream) void _chunk;
  await gw.requests(accountId, 2);
  expect(o200kLoaded()).toBe(false);

  fake.script({ kind: 'slow', delayMsPerChunk: 100 });
  expect(await leaveStreamAfter(gw.url, secret, { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'a long answer please [reply:60]' }] }, 4)).toBe(200);

  const rows = await gw.requests(accountId, 3);
  expect(rows[2]).toMatchObject({ status: 499, estimated: true, billing: 'settled' });
  expect(Number(rows[2].output_tokens)).toBeGreaterThan(0);
  expect(o200kLoaded()).toBe(true);
});
