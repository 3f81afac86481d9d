/**
 * Channels against the real Postgres and Redis: the repository round trip, what is stored of a
 * key (never the key), seeding from the environment (idempotent, also when two instances start
 * at once), and two directories (two API instances) following changes over pub/sub.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { SecretBox } from '../../../src/platform/crypto/secret-box';
import { redisFactory } from '../../../src/platform/redis/redis.module';
import { ChannelError } from '../../../src/proxy/channels/channel';
import { ChannelChangeNotifier } from '../../../src/proxy/channels/channel-change-notifier';
import { ChannelDirectory } from '../../../src/proxy/channels/channel-directory';
import { ChannelSeeder } from '../../../src/proxy/channels/channel-seeder';
import { ChannelRepository } from '../../../src/proxy/channels/channel.repository';
import { freshDb, FreshDb } from '../../support/fresh-db';
import { TEST_REDIS_URL } from '../../support/test-env';

const KEY = 'sk-proj-CANARY-' + randomBytes(12).toString('hex');

async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('channels (real Postgres and Redis)', () => {
  let db: FreshDb;
  let box: SecretBox;
  let repo: ChannelRepository;
  let redis: ReturnType<typeof redisFactory>;
  let notifier: ChannelChangeNotifier;
  const warnings: string[] = [];
  let warn: jest.SpyInstance;
  let error: jest.SpyInstance;

  beforeAll(async () => {
    db = await freshDb(6);
    box = new SecretBox({ ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    repo = new ChannelRepository(db.pool, box);
    redis = redisFactory(TEST_REDIS_URL, `test-channels-${randomUUID()}:`);
    notifier = new ChannelChangeNotifier(redis);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation((m) => void warnings.push(String(m)));
    error = jest.spyOn(Logger.prototype, 'error').mockImplementation((m) => void warnings.push(String(m)));
  });
  afterAll(async () => {
    warn.mockRestore();
    error.mockRestore();
    await redis.closeAll();
    await db.drop();
  });

  it('round-trips a channel; only routing sees the key, and the table holds no trace of it', async () => {
    const added = await repo.add({ name: 'primary', provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: KEY, models: ['gpt-4o', 'gpt-4o-mini'], priority: 5, weight: 3 });
    expect(added).toMatchObject({ name: 'primary', provider: 'openai', models: ['gpt-4o', 'gpt-4o-mini'], priority: 5, weight: 3, enabled: true, source: 'cli', apiKeyLast4: KEY.slice(-4) });
    expect(JSON.stringify(added)).not.toContain(KEY);
    expect(await repo.find('primary')).toEqual(added);
    expect(await repo.find(added.id)).toEqual(added);
    expect(JSON.stringify(await repo.list())).not.toContain(KEY);

    const { channels, unreadable } = await repo.loadForRouting();
    expect(unreadable).toEqual([]);
    expect(channels).toEqual([{ id: added.id, name: 'primary', provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: KEY, models: ['gpt-4o', 'gpt-4o-mini'], priority: 5, weight: 3, maxConnections: null, http2: false }]);

    const { rows } = await db.pool.query('SELECT api_key_ciphertext, t::text AS whole FROM channels t WHERE id = $1', [added.id]);
    expect(rows[0].api_key_ciphertext).not.toBe(KEY);
    expect(rows[0].api_key_ciphertext).toMatch(/^v1:/);
    expect(rows[0].whole).not.toContain(KEY);
    expect(rows[0].whole).not.toContain('CANARY');
    expect(rows[0].whole).not.toContain(Buffer.from(KEY).toString('base64').slice(0, 16));
  });

  it('refuses a taken name; enables and disables by id or name, idempotently; unknown channels are an error', async () => {
    await expect(repo.add({ name: 'primary', provider: 'xai', baseUrl: 'https://api.x.ai/v1', apiKey: 'k' })).rejects.toMatchObject({ code: 'channel_name_taken' });
    const off = await repo.setEnabled('primary', false);
    expect(off).toMatchObject({ changed: true, record: { enabled: false } });
    expect((await repo.setEnabled(off.record.id, false)).changed).toBe(false);
    expect((await repo.loadForRouting()).channels).toEqual([]);
    expect((await repo.setEnabled(off.record.id, true)).changed).toBe(true);
    await expect(repo.setEnabled('nope', true)).rejects.toBeInstanceOf(ChannelError);
    await expect(repo.setEnabled(randomUUID(), true)).rejects.toMatchObject({ code: 'channel_not_found' });
  });

  it('update: changes only what is given, by id or name; the same values again change nothing; routing sees the limit and HTTP/2', async () => {
    const before = (await repo.find('primary'))!;
    const first = await repo.update('primary', { maxConnections: 2, http2: true });
    expect(first.changed).toBe(true);
    expect(first.record).toMatchObject({ maxConnections: 2, http2: true, priority: before.priority, weight: before.weight, models: before.models });
    expect(first.record.updatedAt.getTime()).toBeGreaterThanOrEqual(before.updatedAt.getTime());
    expect((await repo.update(before.id, { maxConnections: 2, http2: true })).changed).toBe(false);
    expect((await repo.update('primary', {})).changed).toBe(false);
    expect((await repo.loadForRouting()).channels[0]).toMatchObject({ name: 'primary', maxConnections: 2, http2: true });
    // 0 is "no limit", null goes back to the global default; both are kept as said.
    expect((await repo.update('primary', { maxConnections: 0 })).record.maxConnections).toBe(0);
    const back = await repo.update('primary', { maxConnections: null, http2: false, priority: 7, weight: 2 });
    expect(back).toMatchObject({ changed: true, record: { maxConnections: null, http2: false, priority: 7, weight: 2 } });
    await repo.update('primary', { priority: before.priority, weight: before.weight });
    await expect(repo.update('nope', { weight: 2 })).rejects.toMatchObject({ code: 'channel_not_found' });
    await expect(repo.update(randomUUID(), {})).rejects.toMatchObject({ code: 'channel_not_found' });
    // The table refuses what the CLI refuses, whatever writes it.
    await expect(repo.update('primary', { maxConnections: -1 })).rejects.toMatchObject({ code: '23514' });
  });

  it('a key copied to another row, or read with another ENCRYPTION_KEY, does not decrypt: that channel is left out', async () => {
    const other = await repo.add({ name: 'copy-target', provider: 'openai', baseUrl: 'https://example.test/v1', apiKey: 'sk-other-key-123456789' });
    await db.pool.query(`UPDATE channels SET api_key_ciphertext = (SELECT api_key_ciphertext FROM channels WHERE name = 'primary') WHERE id = $1`, [other.id]);
    const load = await repo.loadForRouting();
    expect(load.channels.map((c) => c.name)).toEqual(['primary']);
    expect(load.unreadable).toEqual([{ id: other.id, name: 'copy-target', reason: 'undecryptable_secret' }]);
    const withOtherKey = new ChannelRepository(db.pool, new SecretBox({ ENCRYPTION_KEY: randomBytes(32).toString('base64') }));
    expect((await withOtherKey.loadForRouting()).channels).toEqual([]);
    await db.pool.query('DELETE FROM channels WHERE id = $1', [other.id]);
  });

  describe('seeding from the environment', () => {
    const env = {
      OPENAI_API_KEY: 'sk-env-openai-0000000001',
      OPENAI_BASE_URL: 'https://api.openai.com/v1/',
      ANTHROPIC_API_KEY: undefined,
      ANTHROPIC_BASE_URL: 'https://api.anthropic.com',
      GEMINI_API_KEY: 'gem-env-key-00000000002',
      GEMINI_BASE_URL: 'https://generativelanguage.googleapis.com',
      XAI_API_KEY: undefined,
      XAI_BASE_URL: 'https://api.x.ai/v1',
    };

    it('creates env-<provider> channels for the keys that are set, and a second start changes nothing', async () => {
      const seeder = new ChannelSeeder(env, repo, notifier);
      expect(await seeder.seed()).toEqual({ 'env-openai': 'created', 'env-gemini': 'created' });
      const before = await repo.list();
      expect(await seeder.seed()).toEqual({ 'env-openai': 'unchanged', 'env-gemini': 'unchanged' });
      expect(await repo.list()).toEqual(before);
      const seeded = before.filter((c) => c.source === 'env');
      expect(seeded.map((c) => [c.name, c.provider, c.baseUrl])).toEqual([
        ['env-gemini', 'gemini', 'https://generativelanguage.googleapis.com'],
        ['env-openai', 'openai', 'https://api.openai.com/v1'],
      ]);
      const keys = Object.fromEntries((await repo.loadForRouting()).channels.map((c) => [c.name, c.apiKey]));
      expect(keys).toMatchObject({ 'env-openai': env.OPENAI_API_KEY, 'env-gemini': env.GEMINI_API_KEY });
    });

    it("a new key is taken on the next start; an operator's disable, priority and weight stay", async () => {
      await repo.setEnabled('env-openai', false);
      await db.pool.query(`UPDATE channels SET priority = 9, weight = 4 WHERE name = 'env-openai'`);
      const seeder = new ChannelSeeder({ ...env, OPENAI_API_KEY: 'sk-env-openai-rotated-02' }, repo, notifier);
      expect(await seeder.seed()).toEqual({ 'env-openai': 'updated', 'env-gemini': 'unchanged' });
      expect(await repo.find('env-openai')).toMatchObject({ enabled: false, priority: 9, weight: 4, apiKeyLast4: 'd-02' });
      await repo.setEnabled('env-openai', true);
      const load = await repo.loadForRouting();
      expect(load.channels.find((c) => c.name === 'env-openai')?.apiKey).toBe('sk-env-openai-rotated-02');
    });

    it('two instances starting at once write one row each, and a variable since unset is only warned about', async () => {
      const both = { ...env, OPENAI_API_KEY: undefined, XAI_API_KEY: 'xai-key-0000000000003' };
      const results = await Promise.all([new ChannelSeeder(both, repo, notifier).seed(), new ChannelSeeder(both, repo, notifier).seed()]);
      expect(results.map((r) => r['env-xai']).sort()).toEqual(['created', 'unchanged']);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM channels WHERE name = 'env-xai'`);
      expect(rows[0].n).toBe(1);
      expect(warnings.join('\n')).toMatch(/channel env-openai stays enabled although OPENAI_API_KEY is not set/);
    });
  });

  it('two directories (two API instances) follow changes over pub/sub, well before the 30 s fallback', async () => {
    const a = new ChannelDirectory(repo, redis);
    const b = new ChannelDirectory(repo, redis);
    try {
      await Promise.all([a.start(), b.start()]);
      const names = (d: ChannelDirectory) => d.list().map((c) => c.name);
      expect(names(a)).toContain('primary');
      expect(names(b)).toEqual(names(a));

      const added = await repo.add({ name: 'late', provider: 'anthropic', baseUrl: 'https://api.anthropic.com', apiKey: 'sk-ant-late-0000000000', priority: 50 });
      const started = Date.now();
      expect(await notifier.publish()).toBe(true);
      await eventually(() => names(a)[0] === 'late' && names(b)[0] === 'late');
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(b.get(added.id)?.apiKey).toBe('sk-ant-late-0000000000');

      await repo.setEnabled('late', false);
      await notifier.publish();
      await eventually(() => !names(a).includes('late') && !names(b).includes('late'));
      expect(b.get(added.id)).toBeUndefined();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('announcing a change with Redis unreachable gives up within seconds, without throwing', async () => {
    const down = redisFactory('redis://127.0.0.1:1', 'unreachable:');
    const started = Date.now();
    expect(await new ChannelChangeNotifier(down).publish()).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);
    const closing = Date.now();
    await down.closeAll();
    expect(Date.now() - closing).toBeLessThan(500);
  });

  it('a reload that fails keeps the last good list', async () => {
    const d = new ChannelDirectory(repo, redis);
    try {
      await d.start();
      const before = d.list();
      expect(before.length).toBeGreaterThan(0);
      const broken = new ChannelDirectory(new ChannelRepository(db.pool, box), redis);
      await db.pool.query('ALTER TABLE channels RENAME TO channels_away');
      try {
        await expect(d.reload()).rejects.toThrow();
        expect(d.list()).toBe(before);
        // At start there is nothing to keep: it starts empty rather than keep the API from starting,
        // and the next reload (periodic, or on a change notice) fills it.
        await broken.start();
        expect(broken.list()).toEqual([]);
        await db.pool.query('ALTER TABLE channels_away RENAME TO channels');
        await broken.reload();
        expect(broken.list().map((c) => c.id).sort()).toEqual(before.map((c) => c.id).sort());
        await db.pool.query('ALTER TABLE channels RENAME TO channels_away');
        await broken.stop();
      } finally {
        await db.pool.query('ALTER TABLE channels_away RENAME TO channels');
      }
    } finally {
      await d.stop();
    }
  });
});
