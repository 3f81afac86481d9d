/**
 * Issue 16, "Holds far below the real cost": a hold is an upper bound on what the provider can
 * bill, so the charge is the cost of the usage and never the (capped) hold; usage the gateway
 * cannot trust is billed as a marked estimate, not as zero; and what a provider still bills
 * above a hold is charged at the hold, logged and counted.
 */
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, receiptCost, startGateway } from '../../support/gateway';
import { Format, anthropicClient, geminiClient, openaiClient, rawCall } from '../../support/proxy-formats';
import { BillingService } from '../../../src/proxy/billing/billing.service';
import { inputTokenBound } from '../../../src/proxy/metering/input-bound';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { worstCaseCost } from '../../../src/proxy/pricing/cost';

const FUNDS = 10_000_000n; // 10 credits
let fake: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake });
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

async function funded() {
  const accountId = await gw.account(FUNDS);
  const { secret } = await gw.key(accountId);
  return { accountId, secret };
}

/**
 * 200,000 characters: runs of one letter (a few tokens each) where the old estimator sampled
 * (16 windows of 2,048 characters, evenly spaced), two-character words everywhere else.
 */
function denseWhereNoSampleLooks(): string {
  const length = 200_000;
  const step = Math.floor((length - 2_048) / 15);
  let out = '';
  for (let i = 0; i < length; i++) {
    const sampled = i % step < 2_048 && Math.floor(i / step) < 16;
    out += sampled ? 'a' : i % 2 ? ' ' : 'w';
  }
  return out;
}

it('a 200,000-character body built against sampling is held above its cost and charged its cost in full', async () => {
  const { accountId, secret } = await funded();
  const content = denseWhereNoSampleLooks();
  const answer = await openaiClient(gw.url, secret).chat.completions.create({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content }] });
  const usage = answer.usage!;
  expect(usage.prompt_tokens).toBeGreaterThan(80_000); // the fake bills a token per word
  const [row] = await gw.requests(accountId, 1);
  const cost = gw.price('gpt-4o', { inputTokens: usage.prompt_tokens, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: usage.completion_tokens });
  expect({ billing: row.billing, estimated: row.estimated, cost: BigInt(row.cost_micros) }).toEqual({ billing: 'settled', estimated: false, cost });
  expect(BigInt(row.held_micros)).toBeGreaterThanOrEqual(cost);
  expect(await gw.available(accountId)).toBe(FUNDS - cost);
});

// Issue 16, part 9: text where the old estimator did not look was billed (the upstream read it)
// but not held for, and the charge was capped at the hold.
it.each<[Format, string, (text: string) => unknown]>([
  ['gemini', 'contents as strings', (text) => ({ contents: [text], generationConfig: { maxOutputTokens: 20 } })],
  ['openai', 'parts nested in an object, a role that is an object', (text) => ({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: { name: 'user' }, content: { parts: [{ text }] } }] })],
  ['anthropic', 'a system prompt nested in an object', (text) => ({ model: 'claude-haiku-4-5', max_tokens: 20, system: { blocks: [{ text }] }, messages: [{ role: 'user', content: 'hi' }] })],
])('%s, %s: held above what the provider bills, charged in full', async (format, _shape, bodyOf) => {
  const { accountId, secret } = await funded();
  const answer = await rawCall(gw.url, format, { secret, body: bodyOf('word '.repeat(20_000)) });
  expect(answer.status).toBe(200);
  const [row] = await gw.requests(accountId, 1);
  expect(Number(row.input_tokens) + Number(row.cached_tokens)).toBeGreaterThanOrEqual(20_000); // what the fake billed
  expect(row.estimated).toBe(false);
  const cost = gw.price(row.model, usageOf(row));
  expect(BigInt(row.cost_micros)).toBe(cost);
  expect(BigInt(row.held_micros)).toBeGreaterThanOrEqual(cost);
});

it('a batch of embeddings, more tokens in all than one context window, is held for all and charged in full', async () => {
  const { accountId, secret } = await funded();
  const input = Array.from({ length: 40 }, () => 'word '.repeat(1_000));
  const answer = await openaiClient(gw.url, secret).embeddings.create({ model: 'text-embedding-3-small', input });
  expect(answer.usage.prompt_tokens).toBe(40_000);
  const [row] = await gw.requests(accountId, 1);
  const cost = gw.price('text-embedding-3-small', usageOf(row));
  expect(BigInt(row.cost_micros)).toBe(cost);
  expect(BigInt(row.held_micros)).toBeGreaterThanOrEqual(cost);
});

it('a chat request for n answers is held for n answers of max_tokens each', async () => {
  const { accountId, secret } = await funded();
  const body = { model: 'gpt-4o-mini', max_tokens: 1_000, n: 8, messages: [{ role: 'user' as const, content: 'eight of them please' }] };
  await openaiClient(gw.url, secret).chat.completions.create(body);
  const [row] = await gw.requests(accountId, 1);
  const table = gw.app.get(PriceBook).at(new Date());
  const price = table.get('gpt-4o-mini')!;
  const bound = inputTokenBound('openai.chat', body, Buffer.byteLength(JSON.stringify(body)), price);
  expect(BigInt(row.held_micros)).toBe(worstCaseCost(price, bound, 8 * 1_000, table.marginBps));
});

/** A request log row's token counts (bigint columns come back as strings). */
const usageOf = (row: Record<string, any>) => ({
  inputTokens: Number(row.input_tokens),
  cachedTokens: Number(row.cached_tokens),
  cacheWriteTokens: Number(row.cache_write_tokens),
  outputTokens: Number(row.output_tokens),
});

/** One whole (JSON) answer through the format's SDK, and one streamed OpenAI chat answer. */
async function call(format: Format | 'openai-stream', secret: string): Promise<void> {
  const messages = [{ role: 'user' as const, content: 'tell me something nice' }];
  switch (format) {
    case 'openai':
      await openaiClient(gw.url, secret).chat.completions.create({ model: 'gpt-4o-mini', messages });
      return;
    case 'openai-stream': {
      const stream = await openaiClient(gw.url, secret).chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      for await (const _ of stream);
      return;
    }
    case 'anthropic':
      await anthropicClient(gw.url, secret).messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, messages });
      return;
    case 'gemini':
      await geminiClient(gw.url, secret).models.generateContent({ model: 'gemini-2.0-flash', contents: messages[0].content });
      return;
  }
}

describe.each(['"12"', '-1', '1e999', '2.5'])('usage counts sent as %s', (counts) => {
  it.each(['openai', 'anthropic', 'gemini', 'openai-stream'] as const)('%s: billed as an estimate, marked so, with the answer\'s text as output', async (format) => {
    const { accountId, secret } = await funded();
    fake.script({ kind: 'usage', counts });
    await call(format, secret);
    const [row] = await gw.requests(accountId, 1);
    expect({ billing: row.billing, estimated: row.estimated }).toEqual({ billing: 'settled', estimated: true });
    // "Hello from fake-…: 4 words received" is about ten o200k tokens; the prompt a few more.
    expect(Number(row.output_tokens)).toBeGreaterThanOrEqual(8);
    expect(Number(row.input_tokens)).toBeGreaterThanOrEqual(4);
    const cost = gw.price(row.model, usageOf(row));
    expect(cost).toBeGreaterThan(0n);
    expect(BigInt(row.cost_micros)).toBe(cost);
    // The receipt says so too.
    const res = await fetch(`${gw.url}/v1/generations/${row.request_id}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(await res.json()).toMatchObject({ estimated: true, usage: { output_tokens: Number(row.output_tokens) } });
  });
});

it('a provider that bills above the hold: charged the hold, logged with the request id (no content), and counted', async () => {
  const billing = gw.app.get(BillingService);
  const before = { ...billing.overHold };
  const { accountId, secret } = await funded();
  fake.script({ kind: 'usage', counts: '5000000' }); // a valid count, far above any bound of this request
  await openaiClient(gw.url, secret).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'a secret-ish prompt' }] });
  const [row] = await gw.requests(accountId, 1);
  expect(row.billing).toBe('settled');
  expect(BigInt(row.cost_micros)).toBe(BigInt(row.held_micros));
  const cost = gw.price('gpt-4o-mini', usageOf(row));
  expect(cost).toBeGreaterThan(BigInt(row.held_micros));
  expect(billing.overHold.requests).toBe(before.requests + 1);
  expect(billing.overHold.micros - before.micros).toBe(cost - BigInt(row.held_micros));
  const lines = gw.logs.filter((l) => l.includes(row.request_id) && l.includes('over_hold'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).not.toContain('secret-ish');
});

it("a prompt past the model's long-context threshold: the receipt shows the long-context rates it was charged at", async () => {
  const accountId = await gw.account(100_000_000n); // 100 credits: the hold covers a million-token window
  const { secret } = await gw.key(accountId);
  // 200,100 words: past gemini-2.5-pro's 200,000-token threshold (the fake counts words as tokens).
  const prompt = 'w '.repeat(200_100);
  const res = await rawCall(gw.url, 'gemini', { secret, model: 'gemini-2.5-pro', body: { contents: [{ role: 'user', parts: [{ text: prompt }] }] } });
  expect(res.status).toBe(200);
  const [row] = await gw.requests(accountId, 1);
  expect(Number(row.input_tokens)).toBeGreaterThan(200_000);
  const lc = gw.app.get(PriceBook).at(new Date()).get('gemini-2.5-pro')!.longContext!;
  expect(row.unit_prices).toMatchObject({ input: lc.input.toString(), output: lc.output.toString(), cachedInput: lc.cachedInput.toString() });
  // The receipt's own figures give its cost.
  expect(BigInt(row.cost_micros)).toBe(receiptCost(row));
});
