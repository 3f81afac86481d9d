import { Logger } from '@nestjs/common';
import fc from 'fast-check';
import { Channel, ChannelProvider, formatOf } from '../../../../src/proxy/channels/channel';
import {
  ChannelRouter,
  ChannelSource,
  rankChannels,
  servesListedOrAny,
  servesModelFrom,
} from '../../../../src/proxy/channels/channel-router';

/** mulberry32: a small seeded PRNG, so the statistical checks are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function channel(name: string, over: Partial<Channel> = {}): Channel {
  return { id: `id-${name}`, name, provider: 'openai', baseUrl: `https://${name}.test/v1`, apiKey: `sk-${name}`, models: [], priority: 0, weight: 1, maxConnections: null, http2: false, ...over };
}

/** The directory's read side over a fixed list (the real directory is tested against Postgres and Redis). */
function fixed(channels: Channel[]): ChannelSource {
  return { list: () => channels, get: (id) => channels.find((c) => c.id === id) };
}

function manualClock() {
  let t = Date.parse('2026-01-01T00:00:00Z');
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

const circuit = { CIRCUIT_FAILURES: 2, CIRCUIT_WINDOW: 4, CIRCUIT_COOLDOWN_MS: 5_000 };
const names = (cs: Channel[]) => cs.map((c) => c.name);

describe('channel ranking', () => {
  it('highest priority first; only the providers asked for; only channels serving the model', () => {
    const cs = [
      channel('low', { priority: -1 }),
      channel('high', { priority: 10 }),
      channel('mid', { priority: 5 }),
      channel('claude', { provider: 'anthropic', priority: 100 }),
      channel('listed', { priority: 7, models: ['gpt-4o'] }),
      channel('other-model', { priority: 8, models: ['gpt-5'] }),
    ];
    const ranked = rankChannels(cs, 'gpt-4o', ['openai'], servesListedOrAny, seeded(1));
    expect(names(ranked)).toEqual(['high', 'listed', 'mid', 'low']);
    const byPredicate = rankChannels(cs, 'gpt-4o', (p: ChannelProvider) => p !== 'openai', servesListedOrAny, seeded(1));
    expect(names(byPredicate)).toEqual(['claude']);
  });

  it('an empty model list means the models the price table lists for the provider (servesModelFrom)', () => {
    const catalog: Record<string, string[]> = { openai: ['gpt-4o'], xai: ['grok-4'] };
    const serves = servesModelFrom((p) => new Set(catalog[p] ?? []));
    const cs = [channel('oa'), channel('x', { provider: 'xai' }), channel('compat', { provider: 'openai-compatible' }), channel('compat-llama', { provider: 'openai-compatible', models: ['llama-3.3'] })];
    const all = ['openai', 'xai', 'openai-compatible'] as const;
    expect(names(rankChannels(cs, 'gpt-4o', all, serves, seeded(1)))).toEqual(['oa']);
    expect(names(rankChannels(cs, 'grok-4', all, serves, seeded(1)))).toEqual(['x']);
    expect(names(rankChannels(cs, 'llama-3.3', all, serves, seeded(1)))).toEqual(['compat-llama']);
    expect(rankChannels(cs, 'unknown', all, serves, seeded(1))).toEqual([]);
    // The default trusts the caller's provider filter, except for openai-compatible channels.
    expect(names(rankChannels(cs, 'gpt-4o', ['openai', 'openai-compatible'], servesListedOrAny, seeded(1)))).toEqual(['oa']);
  });

  it('within a priority, a channel comes first with probability weight / total weight', () => {
    const cs = [channel('a', { weight: 1 }), channel('b', { weight: 3 }), channel('c', { weight: 6 })];
    const random = seeded(42);
    const first: Record<string, number> = { a: 0, b: 0, c: 0 };
    const secondAfterC: Record<string, number> = { a: 0, b: 0 };
    const runs = 20_000;
    let malformed = 0;
    for (let i = 0; i < runs; i++) {
      const order = names(rankChannels(cs, 'm', ['openai'], servesListedOrAny, random));
      if (order.length !== 3 || new Set(order).size !== 3) malformed++;
      first[order[0]]++;
      if (order[0] === 'c') secondAfterC[order[1]]++;
    }
    expect(malformed).toBe(0);
    // Expected 0.1 / 0.3 / 0.6; 20k runs put 4 standard deviations under 0.015.
    expect(Math.abs(first.a / runs - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(first.b / runs - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(first.c / runs - 0.6)).toBeLessThan(0.015);
    // After c is drawn, the rest are drawn by their own weights: b before a 3 times in 4.
    expect(Math.abs(secondAfterC.b / (secondAfterC.a + secondAfterC.b) - 0.75)).toBeLessThan(0.02);
  });

  it('weights never reorder priorities, and the same seed gives the same order', () => {
    const cs = [channel('heavy', { weight: 1000 }), channel('top', { priority: 1 }), channel('x'), channel('y')];
    for (let i = 0; i < 200; i++) expect(rankChannels(cs, 'm', ['openai'], servesListedOrAny, Math.random)[0].name).toBe('top');
    const a = Array.from({ length: 50 }, (_, i) => names(rankChannels(cs, 'm', ['openai'], servesListedOrAny, seeded(i))).join());
    const b = Array.from({ length: 50 }, (_, i) => names(rankChannels(cs, 'm', ['openai'], servesListedOrAny, seeded(i))).join());
    expect(a).toEqual(b);
  });
});

describe('ChannelRouter', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());
  const logged = () => warn.mock.calls.map((c) => String(c[0]));

  it('leaves out a channel whose circuit is open, probes it after the cooldown, and logs every change', async () => {
    const clock = manualClock();
    const cs = [channel('primary', { priority: 1 }), channel('backup')];
    const router = new ChannelRouter(fixed(cs), circuit, clock, seeded(7));
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['primary', 'backup']);
    router.record('id-primary', 'failure', { model: 'gpt-4o', reason: 'status 503' });
    router.record('id-primary', 'failure', { model: 'gpt-4o', reason: 'timeout' });
    expect(router.circuitState('id-primary')).toBe('open');
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['backup']);
    clock.advance(5_000);
    // Looking takes no probe (an admission check before anything is reserved looks too).
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['primary', 'backup']);
    // The probe is taken as the request is sent, and its success closes the circuit.
    await expect(router.route('gpt-4o', ['openai'], async (ch) => ({ ok: true, value: ch.name }))).resolves.toMatchObject({ value: 'primary' });
    expect(router.circuitState('id-primary')).toBe('closed');
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['primary', 'backup']);
    const lines = logged();
    expect(lines).toEqual([
      expect.stringMatching(/circuit of channel primary \(id-primary\): closed -> open: 2 failures .*timeout, model gpt-4o/),
      expect.stringMatching(/primary \(id-primary\): open -> half-open/),
      expect.stringMatching(/primary \(id-primary\): half-open -> closed: probe request succeeded/),
    ]);
    // Metadata only: never the upstream key.
    expect(lines.join('\n')).not.toContain('sk-primary');
  });

  it('route(): after the cooldown one request takes the probe as it is sent; the circuit then closes', async () => {
    const clock = manualClock();
    const router = new ChannelRouter(fixed([channel('primary', { priority: 1 }), channel('backup')]), circuit, clock, seeded(3));
    router.record('id-primary', 'failure', { reason: 'status 500' });
    router.record('id-primary', 'failure', { reason: 'status 500' });
    expect(router.availability('gpt-4o', ['openai'])).toEqual({ configured: true, waitMs: 0 }); // backup is fine
    clock.advance(5_000);
    // The admission check and a look at the candidates, as the proxy does first, take nothing.
    expect(router.availability('gpt-4o', ['openai'])).toEqual({ configured: true, waitMs: 0 });
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['primary', 'backup']);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tried: string[] = [];
    const send = (ch: Channel) => {
      tried.push(ch.name);
      return gate.then(() => ({ ok: true as const, value: ch.name }));
    };
    // Two requests at once: only one of them probes the primary; the other goes to the backup.
    const both = Promise.all([router.route('gpt-4o', ['openai'], send), router.route('gpt-4o', ['openai'], send)]);
    release();
    expect((await both).map((r) => r.value).sort()).toEqual(['backup', 'primary']);
    expect(tried.sort()).toEqual(['backup', 'primary']);
    expect(router.circuitState('id-primary')).toBe('closed');
  });

  it('availability(): not configured, or how long until a failing channel may be tried', () => {
    const clock = manualClock();
    const router = new ChannelRouter(fixed([channel('only')]), circuit, clock, seeded(1));
    expect(router.availability('gpt-4o', ['anthropic'])).toEqual({ configured: false, waitMs: 0 });
    router.record('id-only', 'failure');
    router.record('id-only', 'failure');
    expect(router.availability('gpt-4o', ['openai'])).toEqual({ configured: true, waitMs: 5_000 });
    clock.advance(4_000);
    expect(router.availability('gpt-4o', ['openai'])).toEqual({ configured: true, waitMs: 1_000 });
    clock.advance(1_000);
    expect(router.availability('gpt-4o', ['openai'])).toEqual({ configured: true, waitMs: 0 });
  });

  it('route(): falls back on failure, records outcomes, logs each switch, and returns the first success', async () => {
    const cs = [channel('a', { priority: 2 }), channel('b', { priority: 1 }), channel('c')];
    const router = new ChannelRouter(fixed(cs), circuit, manualClock(), seeded(1));
    const tried: string[] = [];
    const routed = await router.route('gpt-4o', ['openai'], async (ch) => {
      tried.push(ch.name);
      return ch.name === 'c' ? { ok: true, value: 200 } : { ok: false, reason: ch.name === 'a' ? 'status 500' : 'connect ECONNREFUSED', value: 500 };
    });
    expect(tried).toEqual(['a', 'b', 'c']);
    expect(routed).toMatchObject({ ok: true, value: 200, channel: { name: 'c' }, failures: [{ channel: { name: 'a' }, reason: 'status 500' }, { channel: { name: 'b' } }] });
    expect(logged()).toEqual([
      'falling back from channel a (id-a) to b (id-b) for model gpt-4o: status 500',
      'falling back from channel b (id-b) to c (id-c) for model gpt-4o: connect ECONNREFUSED',
    ]);
    // Two failures each open a and b (CIRCUIT_FAILURES = 2).
    await router.route('gpt-4o', ['openai'], async (ch) => ({ ok: false, reason: `fail ${ch.name}` }));
    expect(router.circuitState('id-a')).toBe('open');
    expect(router.circuitState('id-b')).toBe('open');
    expect(router.circuitState('id-c')).toBe('closed');
  });

  it('route(): when every channel fails it says so and hands back the last failure', async () => {
    const router = new ChannelRouter(fixed([channel('only')]), circuit, manualClock(), seeded(1));
    const routed = await router.route('m', ['openai'], async () => ({ ok: false, reason: 'status 429', value: 'last' }));
    expect(routed).toMatchObject({ ok: false, value: 'last', channel: { name: 'only' }, failures: [{ reason: 'status 429' }] });
    expect(logged()).toEqual([expect.stringMatching(/no channel left for model m after 1 failure\(s\); last: only \(id-only\): status 429/)]);
    const none = await router.route('m', ['anthropic'], async () => ({ ok: true, value: 1 }));
    expect(none).toEqual({ ok: false, value: undefined, channel: undefined, failures: [] });
  });

  it('route(): a busy channel (full, nothing sent) is passed over without its circuit hearing of it', async () => {
    const cs = [channel('full', { priority: 1 }), channel('spare')];
    const router = new ChannelRouter(fixed(cs), circuit, manualClock(), seeded(1));
    for (let i = 0; i < 5; i++) {
      const routed = await router.route('gpt-4o', ['openai'], async (ch) =>
        ch.name === 'full' ? { ok: false, busy: true, reason: 'at its limit', value: 503 } : { ok: true, value: 200 },
      );
      expect(routed).toMatchObject({ ok: true, value: 200, channel: { name: 'spare' } });
    }
    expect(router.circuitState('id-full')).toBe('closed'); // five busy tries, CIRCUIT_FAILURES = 2: still closed
    const allFull = await router.route('gpt-4o', ['openai'], async () => ({ ok: false, busy: true, reason: 'at its limit', value: 503 }));
    expect(allFull).toMatchObject({ ok: false, value: 503, failures: [{ reason: 'at its limit' }, { reason: 'at its limit' }] });
    expect(router.circuitState('id-full')).toBe('closed');
    expect(router.circuitState('id-spare')).toBe('closed');
  });

  it('formatOf: OpenAI, xAI and OpenAI-compatible channels speak the OpenAI format', () => {
    expect(formatOf('openai')).toBe('openai');
    expect(formatOf('xai')).toBe('openai');
    expect(formatOf('openai-compatible')).toBe('openai');
    expect(formatOf('anthropic')).toBe('anthropic');
    expect(formatOf('gemini')).toBe('gemini');
  });
});

describe('the router works out a list\'s serving channels once', () => {
  const providerList = fc.subarray(['openai', 'xai', 'openai-compatible', 'anthropic'] as ChannelProvider[], { minLength: 1 });
  const channelList = fc.array(
    fc.record({
      provider: fc.constantFrom<ChannelProvider>('openai', 'xai', 'openai-compatible', 'anthropic'),
      models: fc.subarray(['gpt-4o', 'gpt-5', 'grok-4']),
      priority: fc.integer({ min: 0, max: 2 }),
      weight: fc.integer({ min: 1, max: 5 }),
    }),
    { maxLength: 8 },
  ).map((specs) => specs.map((o, i) => channel(`c${i}`, o)));

  it('ranks, request after request, exactly as ranking the list afresh would (same random draws)', () => {
    fc.assert(
      fc.property(channelList, providerList, fc.constantFrom('gpt-4o', 'gpt-5', 'grok-4'), fc.integer(), (cs, providers, model, seed) => {
        const router = new ChannelRouter(fixed(cs), circuit, manualClock(), seeded(seed));
        const fresh = seeded(seed);
        for (let i = 0; i < 3; i++) {
          expect(names(router.candidates(model, providers))).toEqual(names(rankChannels(cs, model, providers, servesListedOrAny, fresh)));
          expect(router.availability(model, providers).configured).toBe(rankChannels(cs, model, providers, servesListedOrAny, () => 0).length > 0);
        }
      }),
    );
  });

  it('sees a new list at once (a channel added, removed or changed elsewhere)', async () => {
    let list: Channel[] = [channel('a', { models: ['gpt-4o'] })];
    const router = new ChannelRouter({ list: () => list, get: (id) => list.find((c) => c.id === id) }, circuit, manualClock(), seeded(1));
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['a']);
    expect(router.availability('gpt-5', ['openai']).configured).toBe(false);
    list = [channel('a', { models: ['gpt-5'] }), channel('b', { models: ['gpt-4o'], priority: 3 })];
    expect(names(router.candidates('gpt-4o', ['openai']))).toEqual(['b']);
    expect(router.availability('gpt-5', ['openai']).configured).toBe(true);
    const tried: string[] = [];
    await router.route('gpt-4o', ['openai'], async (c) => {
      tried.push(c.name);
      return { ok: true, value: null };
    });
    expect(tried).toEqual(['b']);
    list = [];
    expect(router.candidates('gpt-4o', ['openai'])).toEqual([]);
  });
});
