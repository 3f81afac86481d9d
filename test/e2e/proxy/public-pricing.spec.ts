/**
 * GET /api/pricing on the booted API: public (no sign-in), every model of the table in force
 * with its rates per million tokens margin included (the same figures /v1/models and a charge
 * use), the price version; cacheable (a strong ETag, 304 on If-None-Match, a bounded max-age that
 * never reaches past a scheduled table); and nothing of a channel (its URL, its upstream key).
 */
import OpenAI from 'openai';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { SHIPPED_PRICE_TABLE } from '../../../src/proxy/pricing/price-table';
import { withMargin } from '../../../src/proxy/pricing/cost';
import { formatCredits } from '../../../src/shared/money';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

type Json = Record<string, any>;

describe('GET /api/pricing (booted API)', () => {
  let fake: FakeUpstream;
  let gw: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake, env: { PRICE_MARGIN_PERCENT: '10' } });
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('lists every model of the table in force with margin-included rates, signed out', async () => {
    const r = await fetch(`${gw.url}/api/pricing`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await r.json()) as Json;
    const table = gw.app.get(PriceBook).at(new Date());
    expect(body).toMatchObject({ priceVersion: table.version, unit: 'credits per million tokens' });
    expect(body.models.map((m: Json) => m.model)).toEqual(table.models().map((m) => m.model));
    expect(body.models).toHaveLength(SHIPPED_PRICE_TABLE.length);
    const mini = body.models.find((m: Json) => m.model === 'gpt-4o-mini');
    // $0.15 / $0.60 / $0.075 per million, plus 10 %.
    expect(mini).toMatchObject({ provider: 'openai', input: '0.165000', output: '0.660000', cachedInput: '0.082500', cacheWrite: '0.165000', longContext: null });
    const pro = body.models.find((m: Json) => m.model === 'gemini-2.5-pro');
    expect(pro.longContext).toEqual({ aboveInputTokens: 200_000, input: formatCredits(withMargin(2_500_000n, 1000)), output: '16.500000', cachedInput: '0.275000', cacheWrite: '2.750000' });
    // Nothing shows the margin itself or the upstream list price.
    expect(JSON.stringify(body)).not.toMatch(/margin/i);
  });

  it('agrees with /v1/models for every model a key can call', async () => {
    const { secret } = await gw.key(await gw.account(0n));
    const listed = (await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 }).models.list()).data as unknown as Json[];
    expect(listed.length).toBeGreaterThan(0);
    const pricing = (await (await fetch(`${gw.url}/api/pricing`)).json()) as Json;
    for (const m of listed) {
      const p = pricing.models.find((x: Json) => x.model === m.id);
      expect({ id: m.id, input: p.input, output: p.output, cached: p.cachedInput, version: pricing.priceVersion }).toEqual({
        id: m.id,
        input: m.pricing.input,
        output: m.pricing.output,
        cached: m.pricing.cached_input,
        version: m.pricing.price_version,
      });
    }
  });

  it('is cacheable: strong ETag, 304 for a matching If-None-Match (weak, listed or *), 200 for another', async () => {
    const first = await fetch(`${gw.url}/api/pricing`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers.get('cache-control')).toMatch(/^public, max-age=(\d+)$/);
    expect(Number(/max-age=(\d+)/.exec(first.headers.get('cache-control')!)![1])).toBeLessThanOrEqual(300);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await fetch(`${gw.url}/api/pricing`, { headers: { 'if-none-match': inm } });
      expect({ inm, status: again.status }).toEqual({ inm, status: 304 });
      expect(again.headers.get('etag')).toBe(etag);
      expect(await again.text()).toBe('');
    }
    const other = await fetch(`${gw.url}/api/pricing`, { headers: { 'if-none-match': '"stale"' } });
    expect(other.status).toBe(200);
    expect((await fetch(`${gw.url}/api/pricing`)).headers.get('etag')).toBe(etag); // stable
  });

  it('a table scheduled to take effect soon caps max-age at the time left, then is served with a new ETag', async () => {
    const prices = gw.app.get(PriceBook);
    const before = await fetch(`${gw.url}/api/pricing`);
    const effectiveAt = new Date(Date.now() + 4000);
    const cheaper = SHIPPED_PRICE_TABLE.map((m) => (m.model === 'gpt-4o-mini' ? { ...m, input: 100_000n } : m));
    const version = await prices.publish(cheaper, { effectiveAt, marginBps: 1000 });
    await prices.refresh();
    const soon = await fetch(`${gw.url}/api/pricing`);
    expect(soon.headers.get('etag')).toBe(before.headers.get('etag'));
    expect(Number(/max-age=(\d+)/.exec(soon.headers.get('cache-control')!)![1])).toBeLessThanOrEqual(4);
    await new Promise((r) => setTimeout(r, Math.max(0, effectiveAt.getTime() - Date.now()) + 50));
    const now = await fetch(`${gw.url}/api/pricing`, { headers: { 'if-none-match': before.headers.get('etag')! } });
    expect(now.status).toBe(200);
    expect(now.headers.get('etag')).not.toBe(before.headers.get('etag'));
    const body = (await now.json()) as Json;
    expect(body.priceVersion).toBe(version);
    expect(body.models.find((m: Json) => m.model === 'gpt-4o-mini').input).toBe('0.110000');
  }, 30_000);

  it('never shows a channel: no upstream URL, host, port or key', async () => {
    const text = await (await fetch(`${gw.url}/api/pricing`)).text();
    const url = new URL(fake.url);
    expect(text).not.toContain(fake.apiKey);
    expect(text).not.toContain(url.host);
    expect(text).not.toContain(`:${url.port}`);
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toMatch(/channel/i);
  });

  it('needs no session and ignores one; any method but GET/HEAD is not a route', async () => {
    expect((await fetch(`${gw.url}/api/pricing`, { headers: { cookie: 'tg_session=forged', authorization: 'Bearer junk' } })).status).toBe(200);
    expect((await fetch(`${gw.url}/api/pricing`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${gw.url}/api/pricing`, { method: 'POST' })).status).toBe(404);
  });

  it('is in the OpenAPI document, without a security requirement', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Json;
    const op = doc.paths['/api/pricing'].get;
    expect(op.security ?? []).toEqual([]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '304', '503']));
  });
});
