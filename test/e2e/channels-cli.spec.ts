/**
 * `tollgate channels add|list|disable|enable`, run as the built CLI over a fresh database and
 * the real Redis: keys never printed nor stored in the clear, every change announced to the
 * running instances, and bad input refused with one line, a non-zero exit and nothing written.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { SecretBox } from '../../src/platform/crypto/secret-box';
import { ChannelRepository } from '../../src/proxy/channels/channel.repository';
import { freshDb, FreshDb } from '../support/fresh-db';
import { TEST_REDIS_URL } from '../support/test-env';
import { CLI, ROOT, Run, expectOneErrorLine, run } from '../support/cli-runner';

const ENCRYPTION_KEY = randomBytes(32).toString('base64');
const PREFIX = `test-channels-cli-${randomUUID()}:`;
const KEY = `sk-proj-CANARY${randomBytes(10).toString('hex')}`;
const STDIN_KEY = `sk-ant-STDINCANARY${randomBytes(10).toString('hex')}`;

describe('tollgate channels … (built CLI, real Postgres and Redis)', () => {
  let db: FreshDb;
  let subscriber: Redis;
  const notices: string[] = [];
  const env = () => ({ DATABASE_URL: db.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: PREFIX, ENCRYPTION_KEY });
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'channels', ...args], env());
  const rowCount = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM channels')).rows[0].n;

  /** The CLI with `input` on its stdin (run() leaves stdin open and empty). */
  const withStdin = (input: string, ...args: string[]) =>
    new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'channels', ...args], { cwd: ROOT, env: { ...process.env, EVENTSTORE_URL: undefined, LOG_LEVEL: 'info', ...env() } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input);
    });

  const noticesAfter = async (n: number) => {
    const until = Date.now() + 5_000;
    while (notices.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return notices.length;
  };

  beforeAll(async () => {
    db = await freshDb(2);
    subscriber = new Redis(TEST_REDIS_URL);
    subscriber.on('message', (_topic, message) => notices.push(message));
    await subscriber.subscribe(`${PREFIX}channels`);
  }, 180_000);
  afterAll(async () => {
    await subscriber?.quit();
    await db?.drop();
  });

  it('add: stores the channel with its key sealed, prints it without the key, and notifies instances', async () => {
    const r = await tollgate('add', '--provider', 'openai', '--base-url', 'https://api.openai.com/v1/', '--api-key', KEY,
      '--name', 'oa-main', '--models', 'gpt-4o, gpt-4o-mini,gpt-4o', '--priority', '10', '--weight', '3', '--json');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ name: 'oa-main', provider: 'openai', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o', 'gpt-4o-mini'], priority: 10, weight: 3, enabled: true, source: 'cli', apiKeyLast4: KEY.slice(-4) });
    expect(r.stdout).not.toContain(KEY);
    expect(await noticesAfter(1)).toBe(1);

    const { rows } = await db.pool.query('SELECT api_key_ciphertext, t::text AS whole FROM channels t');
    expect(rows[0].whole).not.toContain(KEY);
    expect(rows[0].whole).not.toContain('CANARY');
    // What the API will load, with the same ENCRYPTION_KEY:
    const load = await new ChannelRepository(db.pool, new SecretBox({ ENCRYPTION_KEY })).loadForRouting();
    expect(load.channels).toEqual([expect.objectContaining({ id: out.id, apiKey: KEY })]);
  });

  it('add --api-key -: reads the key from stdin; the default name is <provider>-<random>', async () => {
    const r = await withStdin(`${STDIN_KEY}\n`, 'add', '--provider', 'anthropic', '--base-url', 'https://api.anthropic.com', '--api-key', '-');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(r.stdout).toMatch(/^added channel anthropic-[0-9a-f]{6} \([0-9a-f-]{36}\): anthropic at https:\/\/api\.anthropic\.com, key …[0-9a-f]{4}, priority 0, weight 1, connections default, models: all anthropic models/);
    expect(r.stdout).not.toContain(STDIN_KEY);
    const load = await new ChannelRepository(db.pool, new SecretBox({ ENCRYPTION_KEY })).loadForRouting();
    expect(load.channels.map((c) => c.apiKey)).toContain(STDIN_KEY);
    expect(await noticesAfter(2)).toBe(2);
  });

  it('list: every channel, masked keys only, as a table and as JSON', async () => {
    const human = await tollgate('list');
    expect(human).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PROVIDER\s+STATE\s+PRIORITY\s+WEIGHT\s+CONNECTIONS\s+KEY\s+SOURCE\s+BASE URL\s+MODELS$/);
    expect(lines[1]).toMatch(/oa-main\s+openai\s+enabled\s+10\s+3\s+default\s+…\S{4}\s+cli\s+https:\/\/api\.openai\.com\/v1\s+gpt-4o,gpt-4o-mini$/);
    expect(lines[2]).toMatch(/anthropic-\w+\s+anthropic\s+enabled\s+0\s+1\s+default\s+…\S{4}\s+cli\s+https:\/\/api\.anthropic\.com\s+\(all\)$/);
    const json = await tollgate('list', '--json');
    const { channels } = JSON.parse(json.stdout);
    expect(channels.map((c: { name: string }) => c.name)).toEqual(['oa-main', expect.stringMatching(/^anthropic-/)]);
    for (const out of [human.stdout, json.stdout]) {
      expect(out).not.toContain(KEY);
      expect(out).not.toContain(STDIN_KEY);
      expect(out).not.toContain('CANARY');
    }
  });

  it('disable and enable, by name or id: idempotent, and each real change is announced', async () => {
    const before = notices.length;
    const off = await tollgate('disable', '--channel', 'oa-main');
    expect(off).toMatchObject({ code: 0, stdout: expect.stringMatching(/^disabled channel oa-main/) });
    expect(await noticesAfter(before + 1)).toBe(before + 1);
    const again = await tollgate('disable', '--channel', 'oa-main', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'oa-main', enabled: false, changed: false });
    const { rows } = await db.pool.query(`SELECT id, enabled FROM channels WHERE name = 'oa-main'`);
    expect(rows[0].enabled).toBe(false);
    const on = await tollgate('enable', '--channel', rows[0].id);
    expect(on).toMatchObject({ code: 0, stdout: expect.stringMatching(/^enabled channel oa-main/) });
    expect(await noticesAfter(before + 2)).toBe(before + 2);
    expect(notices.slice(before)).toEqual(['changed', 'changed']); // the notice carries nothing
  });

  it('add and update the connection limit and HTTP/2: only what is given changes, a real change is announced, the same again is not', async () => {
    const added = await tollgate('add', '--provider', 'xai', '--base-url', 'https://api.x.ai/v1', '--api-key', 'sk-xai-limits-000000000', '--name', 'xai-lim',
      '--max-connections', '64', '--http2', 'on', '--json');
    expect(added).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'xai-lim', maxConnections: 64, http2: true, priority: 0, weight: 1 });
    let seen = notices.length;
    const up = await tollgate('update', '--channel', 'xai-lim', '--max-connections', '0', '--http2', 'off', '--priority', '-3');
    expect(up).toMatchObject({ code: 0, stdout: expect.stringMatching(/^updated channel xai-lim .*priority -3, weight 1, connections no-limit, models/) });
    expect(await noticesAfter(seen + 1)).toBe(seen + 1);
    seen = notices.length;
    const same = await tollgate('update', '--channel', 'xai-lim', '--max-connections', '0', '--json');
    expect(JSON.parse(same.stdout)).toMatchObject({ name: 'xai-lim', maxConnections: 0, http2: false, priority: -3, changed: false });
    const back = await tollgate('update', '--channel', 'xai-lim', '--max-connections', 'default', '--json');
    expect(JSON.parse(back.stdout)).toMatchObject({ maxConnections: null, changed: true });
    expect(await noticesAfter(seen + 1)).toBe(seen + 1);
    const { rows } = await db.pool.query(`SELECT max_connections, http2, priority FROM channels WHERE name = 'xai-lim'`);
    expect(rows[0]).toEqual({ max_connections: null, http2: false, priority: -3 });
    await db.pool.query(`DELETE FROM channels WHERE name = 'xai-lim'`);
  });

  it('bad input: one error line, a non-zero exit, nothing written', async () => {
    const count = await rowCount();
    const add = (...extra: string[]) => ['add', '--provider', 'openai', '--base-url', 'https://x.test/v1', '--api-key', 'sk-valid-key', ...extra];
    const cases: [string[], RegExp][] = [
      [['add', '--provider', 'mistral', '--base-url', 'https://x.test', '--api-key', 'k'], /--provider: must be one of openai, anthropic, gemini, xai, openai-compatible/],
      [['add', '--provider', 'openai', '--base-url', 'ftp://x.test', '--api-key', 'k'], /--base-url: must start with http/],
      [['add', '--provider', 'openai', '--base-url', 'https://user:pw@x.test', '--api-key', 'k'], /--base-url: must not contain credentials/],
      [['add', '--provider', 'openai', '--base-url', 'https://x.test', '--api-key', ''], /--api-key: must not be empty$/],
      [['add', '--provider', 'openai', '--base-url', 'https://x.test', '--api-key', 'has space'], /--api-key: must be printable ASCII/],
      [['add', '--provider', 'openai', '--base-url', 'https://x.test'], /required option '--api-key <key>'/],
      [add('--name', 'env-openai'), /--name: must not start with env-/],
      [add('--name', 'bad name!'), /--name: must be 1-64/],
      [add('--models', ' , '), /--models: must list at least one model/],
      [add('--weight', '0'), /--weight: must be from 1/],
      [add('--priority', 'high'), /--priority: must be a whole number/],
      [add('--name', 'oa-main'), /a channel named oa-main already exists \(channel_name_taken\)/],
      [['disable', '--channel', 'nope'], /no channel nope \(channel_not_found\)/],
      [['enable', '--channel', randomUUID()], /channel_not_found/],
      [['disable'], /required option '--channel/],
    ];
    for (const [args, pattern] of cases) {
      const r = await tollgate(...args);
      expectOneErrorLine(r, pattern);
      expect(r.stdout).toBe('');
    }
    expectOneErrorLine(await withStdin('', ...add().slice(0, 5), '--api-key', '-'), /--api-key: must not be empty/);
    expect(await rowCount()).toBe(count);
  });

  it('bad connection settings: one error line, a non-zero exit, nothing written', async () => {
    const count = await rowCount();
    const before = (await db.pool.query(`SELECT t::text AS whole FROM channels t WHERE name = 'oa-main'`)).rows[0].whole;
    const add = (...extra: string[]) => ['add', '--provider', 'openai', '--base-url', 'https://x.test/v1', '--api-key', 'sk-valid-key', ...extra];
    const cases: [string[], RegExp][] = [
      [add('--max-connections', '-1'), /--max-connections: must be a whole number \(0 for no limit\) or default/],
      [add('--max-connections', '2000000'), /--max-connections: must be at most 1000000/],
      [add('--http2', 'yes'), /--http2: must be on or off/],
      [['update', '--channel', 'oa-main'], /nothing to change: give --priority, --weight, --max-connections or --http2/],
      [['update', '--channel', 'oa-main', '--max-connections', 'lots'], /--max-connections: must be a whole number/],
      [['update', '--channel', 'nope', '--weight', '2'], /no channel nope \(channel_not_found\)/],
    ];
    for (const [args, pattern] of cases) {
      const r = await tollgate(...args);
      expectOneErrorLine(r, pattern);
      expect(r.stdout).toBe('');
    }
    expect(await rowCount()).toBe(count);
    expect((await db.pool.query(`SELECT t::text AS whole FROM channels t WHERE name = 'oa-main'`)).rows[0].whole).toBe(before);
  });
});
