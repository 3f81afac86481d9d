/**
 * The built API, split from its worker as docker-compose runs it, does not load at start the
 * libraries only other routes and jobs call (src/platform/on-first-use.ts): Stripe's SDK, ethers,
 * nodemailer, @simplewebauthn/server, openid-client, BullMQ, nor the o200k tokenizer; nor
 * @nestjs/swagger, whose decorators are recorded until the OpenAPI document is first asked for
 * (src/platform/http/openapi-decorators.ts). Required at start they cost the process ~14 MiB of
 * live heap and ~50 MiB of RSS (issue 23, "Memory"). Nor does proxying load them: a JSON answer
 * and a streamed one, each with its usage, through the official SDK. The first request for the
 * document does load swagger, and gets the whole document. What the process loaded is read from its own module cache (`require.cache`),
 * written out on SIGUSR2 by a preload given through NODE_OPTIONS.
 *
 * The routes that use them load them on first use and are tested where they live
 * (test/e2e/payments, test/e2e/auth, test/e2e/compliance, test/integration/queue...).
 */
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { CLI, run, spawnBuilt } from '../../support/cli-runner';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { testRedisPrefix } from '../../support/gateway';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort, untilHealthy, waitFor } from '../../support/wait';

/** Each as the package directory its files live in. */
const NOT_AT_START = ['stripe', 'ethers', 'nodemailer', '@simplewebauthn/server', 'openid-client', 'bullmq', 'gpt-tokenizer', '@nestjs/swagger'];

const PRELOAD = `
process.on('SIGUSR2', () => {
  require('node:fs').writeFileSync(process.env.TOLLGATE_TEST_MODULES_OUT, JSON.stringify(Object.keys(require.cache)));
});
`;

describe('the API process at start and while proxying (built main.js, split from the worker)', () => {
  let db: FreshDb;
  let fake: FakeUpstream;
  let api: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-modules-'));
  const output: string[] = [];

  afterAll(async () => {
    if (api && api.exitCode === null) {
      api.kill('SIGKILL');
      await new Promise((r) => api!.once('exit', r));
    }
    await fake?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has loaded none of them after starting, nor after proxying JSON and a stream; swagger loads for its document', async () => {
    db = await freshDb(2);
    fake = await startFakeUpstream();
    const preload = join(dir, 'modules-preload.js');
    const modulesOut = join(dir, 'modules.json');
    writeFileSync(preload, PRELOAD);
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: testRedisPrefix(),
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: 'warn',
      EVENTSTORE_URL: '',
      DATA_DIR: dir,
    };
    const cli = async (...args: string[]) => {
      const r = await run(process.execPath, [CLI, ...args], env);
      if (r.code !== 0) throw new Error(`tollgate ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, string>;
    };
    const { accountId } = await cli('accounts', 'create', '--email', 'modules@example.com', '--json');
    await cli('credits', 'grant', '--account', accountId, '--amount', '100', '--reason', 'test', '--json');
    const { secret } = await cli('keys', 'create', '--account', accountId, '--name', 'modules', '--json');

    api = spawnBuilt(
      'main',
      {
        ...env,
        NODE_OPTIONS: `--require ${preload}`,
        TOLLGATE_TEST_MODULES_OUT: modulesOut,
        API_RUNS_WORKERS: 'false',
        HOST: '127.0.0.1',
        PORT: String(port),
        OPENAI_API_KEY: fake.apiKey,
        OPENAI_BASE_URL: `${fake.url}/v1`,
      },
      output,
    );
    await untilHealthy(port, 60_000);

    /** The packages (by node_modules directory) of the modules the process has loaded so far. */
    const loaded = async (): Promise<Set<string>> => {
      rmSync(modulesOut, { force: true });
      api!.kill('SIGUSR2');
      await waitFor(() => existsSync(modulesOut) && readFileSync(modulesOut, 'utf8').endsWith(']'), 10_000, 'the module list');
      return packagesOf(JSON.parse(readFileSync(modulesOut, 'utf8')) as string[]);
    };

    const atStart = await loaded();
    expect(atStart.has('@nestjs/core')).toBe(true); // the reading sees the app's own libraries
    expect(NOT_AT_START.filter((p) => atStart.has(p))).toEqual([]);

    const openai = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: secret, maxRetries: 0 });
    const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    expect(answer.choices[0].message.content).toBeTruthy();
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hello' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).not.toBe('');

    const afterProxying = await loaded();
    expect(NOT_AT_START.filter((p) => afterProxying.has(p))).toEqual([]);

    // The decorators recorded at start are all in the document built on first use.
    const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; summary?: string; security?: unknown[]; responses: Record<string, unknown> }>>;
    };
    const revoke = doc.paths['/api/keys/{id}/revoke'].post; // a class's tag, a method's summary, the guard's auth, ApiErrors
    expect(revoke.tags).toEqual(['keys']);
    expect(revoke.summary).toMatch(/^Revoke a key/);
    expect(revoke.security).toEqual([{ tg_session: [] }, { 'management-key': [] }]);
    expect(Object.keys(revoke.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(Object.keys(doc.paths).length).toBeGreaterThan(50);
    expect((await loaded()).has('@nestjs/swagger')).toBe(true);
  }, 120_000);
});

function packagesOf(files: string[]): Set<string> {
  const packages = new Set<string>();
  for (const f of files) {
    const i = f.lastIndexOf('/node_modules/');
    if (i < 0) continue;
    const [scope, name] = f.slice(i + '/node_modules/'.length).split('/');
    packages.add(scope.startsWith('@') ? `${scope}/${name}` : scope);
  }
  return packages;
}
