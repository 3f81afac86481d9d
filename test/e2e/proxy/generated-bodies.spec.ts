/**
 * Generated hostile bodies over the five routes (issue 16, part 9). Whatever a client sends —
 * text in places of unexpected shape, odd output limits, models with NULs, huge strings,
 * duplicated keys, streams or not — these must hold:
 * - no answer is a 5xx (the gateway is healthy and so is its upstream);
 * - every successful answer has its receipt;
 * - every exact receipt costs exactly its usage at its prices, and its hold covered that cost;
 * - the balance moved by exactly the sum of the receipts, and `ledger verify` is green;
 * - the canary that rode in the bodies is in no table, no Redis key and no log line.
 */
import fc from 'fast-check';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, receiptCost, startGateway } from '../../support/gateway';
import { CLI, run } from '../../support/cli-runner';
import { newCanary, searchPostgres, searchRedis } from '../../support/canary-search';
import { TEST_REDIS_URL } from '../../support/test-env';

const CANARY = newCanary();
const FUNDS = 1_000_000_000n; // 1,000 credits: no request here is refused for want of credit
const RUNS = Number(process.env.GENERATED_BODY_RUNS ?? 60); // per route

type Route = 'openai.chat' | 'openai.responses' | 'anthropic.messages' | 'gemini.generate' | 'gemini.stream';
const ROUTES: Route[] = ['openai.chat', 'openai.responses', 'anthropic.messages', 'gemini.generate', 'gemini.stream'];
const MODELS: Record<Route, string[]> = {
  'openai.chat': ['gpt-4o-mini', 'gpt-4o', 'claude-haiku-4-5', 'gemini-2.0-flash'],
  'openai.responses': ['gpt-4o-mini', 'gpt-4.1-nano'],
  'anthropic.messages': ['claude-haiku-4-5', 'claude-sonnet-4-5'],
  'gemini.generate': ['gemini-2.0-flash', 'gemini-2.5-flash'],
  'gemini.stream': ['gemini-2.0-flash-lite'],
};

// Text of every kind, the canary among it; words the fake upstream counts as tokens.
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(`remember ${CANARY}`, CANARY, '[reply:3]', '[cached] hello', 'a '.repeat(3_000), 'x'.repeat(40_000), ''),
);
const KEYS = ['text', 'content', 'role', 'type', 'parts', 'input', 'name', 'arguments', 'output', 'x'] as const;
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    text,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('json'), { maxKeys: 3 }),
  ),
}));
const outputLimit = fc.oneof(fc.constant(undefined), fc.constantFrom(0, 1, 7, 64, 1_000_000_000, -1, 1.5, '12', null));
const model = (route: Route) =>
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...MODELS[route]) }, { weight: 1, arbitrary: fc.constantFrom('gpt-4o\u0000', 'nope', 'm'.repeat(5_000), '\ud800') });

const message = (route: Route) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ role: fc.constantFrom('user', 'assistant', 'system'), content: text }) },
    { weight: 2, arbitrary: fc.record({ role: fc.oneof(fc.constant('user'), json), content: json }) },
    { weight: 1, arbitrary: route.startsWith('gemini') ? fc.record({ role: fc.constant('user'), parts: fc.array(fc.record({ text }), { maxLength: 3 }) }) : json },
  );

/** A model for a Gemini path; a lone surrogate goes as the bytes it would be (invalid UTF-8). */
function pathSegment(m: string): string {
  try {
    return encodeURIComponent(m);
  } catch {
    return '%ED%A0%80';
  }
}

interface Generated {
  route: Route;
  model: string;
  body: Record<string, unknown>;
  duplicateModel: boolean;
}

const generated = (route: Route): fc.Arbitrary<Generated> =>
  fc
    .record({
      model: model(route),
      messages: fc.oneof({ weight: 5, arbitrary: fc.array(message(route), { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: json }),
      limit: outputLimit,
      stream: fc.boolean(),
      extra: fc.dictionary(fc.constantFrom('tools', 'system', 'metadata', 'temperature', 'cachedContent'), json, { maxKeys: 2 }),
      duplicateModel: fc.boolean().map((b) => b && Math.random() < 0.1),
    })
    .map(({ model: m, messages, limit, stream, extra, duplicateModel }) => {
      const body: Record<string, unknown> = { ...extra };
      switch (route) {
        case 'openai.chat':
          Object.assign(body, { model: m, messages, stream, ...(limit === undefined ? {} : { max_tokens: limit }) });
          break;
        case 'openai.responses':
          Object.assign(body, { model: m, input: messages, stream, ...(limit === undefined ? {} : { max_output_tokens: limit }) });
          break;
        case 'anthropic.messages':
          Object.assign(body, { model: m, messages, stream, max_tokens: limit === undefined ? 64 : limit });
          break;
        case 'gemini.generate':
        case 'gemini.stream':
          Object.assign(body, { contents: messages, ...(limit === undefined ? {} : { generationConfig: { maxOutputTokens: limit } }) });
          break;
      }
      return { route, model: m, body, duplicateModel };
    });

describe('generated hostile bodies over the five routes', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let accountId: string;
  let secret: string;
  const answers: Array<{ route: Route; status: number; requestId: string | null }> = [];

  beforeAll(async () => {
    fake = await startFakeUpstream({ record: false });
    gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env: { ACCOUNT_RPM: '100000', ACCOUNT_TPM: '1000000000' } });
    accountId = await gw.account(FUNDS);
    ({ secret } = await gw.key(accountId));
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  async function send(g: Generated): Promise<void> {
    let path: string;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (g.route.startsWith('gemini')) {
      const action = g.route === 'gemini.stream' ? 'streamGenerateContent?alt=sse' : 'generateContent';
      path = `/v1beta/models/${pathSegment(g.model)}:${action}`;
      headers['x-goog-api-key'] = secret;
    } else if (g.route === 'anthropic.messages') {
      path = '/v1/messages';
      Object.assign(headers, { 'x-api-key': secret, 'anthropic-version': '2023-06-01' });
    } else {
      path = g.route === 'openai.chat' ? '/v1/chat/completions' : '/v1/responses';
      headers.authorization = `Bearer ${secret}`;
    }
    let raw = JSON.stringify(g.body);
    // The same key twice: which one counts must not differ between us and the upstream.
    if (g.duplicateModel && raw.startsWith('{') && raw.length > 2) raw = `{"model":"gpt-4o-mini",${raw.slice(1)}`;
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers, body: raw });
    await res.arrayBuffer(); // the whole answer, streamed or not
    answers.push({ route: g.route, status: res.status, requestId: res.headers.get('x-request-id') });
    if (res.status >= 500) throw new Error(`${g.route} answered ${res.status} (request ${res.headers.get('x-request-id')})`);
  }

  it('never answers 5xx, gives every answer its receipt, charges exactly, and stores no content', async () => {
    for (const route of ROUTES) {
      await fc.assert(fc.asyncProperty(generated(route), send), { numRuns: RUNS, endOnFailure: true });
    }
    const ok = answers.filter((a) => a.status >= 200 && a.status < 300);
    expect(ok.length).toBeGreaterThan(ROUTES.length * RUNS * 0.2); // the generator reaches the upstream, not only refusals

    // Every successful answer has its receipt, and each receipt is right.
    let rows: Record<string, any>[] = [];
    let missing = ok;
    for (const deadline = Date.now() + 10_000; missing.length > 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      rows = await gw.requests(accountId, 0);
      const ids = new Set(rows.map((r) => r.request_id as string));
      missing = ok.filter((a) => !a.requestId || !ids.has(a.requestId));
    }
    expect(missing).toEqual([]);
    for (const r of rows) {
      const cost = BigInt(r.cost_micros);
      expect({ id: r.request_id, settledWithinHold: BigInt(r.held_micros) >= cost }).toEqual({ id: r.request_id, settledWithinHold: true });
      if (r.billing !== 'settled' || r.estimated) continue;
      const usage = {
        inputTokens: Number(r.input_tokens),
        cachedTokens: Number(r.cached_tokens),
        cacheWriteTokens: Number(r.cache_write_tokens),
        outputTokens: Number(r.output_tokens),
      };
      // Its usage at the price table's rates, and at the unit prices the receipt shows.
      expect({ id: r.request_id, cost, fromReceipt: cost }).toEqual({ id: r.request_id, cost: gw.price(r.model, usage), fromReceipt: receiptCost(r) });
    }

    // Every µcr that moved is explained by a receipt, and the books verify.
    const charged = rows.reduce((sum, r) => sum + BigInt(r.cost_micros), 0n);
    expect(FUNDS - (await gw.available(accountId))).toBe(charged);
    const verify = await run(process.execPath, [CLI, 'ledger', 'verify', '--json'], { DATABASE_URL: gw.db.url, REDIS_URL: TEST_REDIS_URL });
    expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: '' });

    // The canary rode in the bodies; it is stored nowhere. (Positive controls: the account id.)
    const pg = await searchPostgres(gw.db.pool, CANARY);
    expect(pg.hits).toEqual([]);
    expect((await searchPostgres(gw.db.pool, accountId)).hits.length).toBeGreaterThan(0);
    const redis = await searchRedis(TEST_REDIS_URL, CANARY);
    expect(redis.hits).toEqual([]);
    expect(gw.logs.length).toBeGreaterThan(0);
    expect(gw.logs.filter((l) => l.includes(CANARY))).toEqual([]);
  }, 300_000);
});
