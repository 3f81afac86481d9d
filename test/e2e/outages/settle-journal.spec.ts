/**
 * Postgres stopped (a private cluster this file owns) while answers are on their way: every
 * delivered answer is billed exactly once when it returns, with its receipt, whether the
 * process that delivered it is still up or was killed and replaced (its settle journal under
 * DATA_DIR is replayed by the next one).
 */
import { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { FakeUpstream } from '../../support/fake-upstream';
import { Gateway, receiptCost, startGateway, testRedisPrefix } from '../../support/gateway';
import { spawnBuilt } from '../../support/cli-runner';
import { PrivatePostgres, freePort, whyNoPrivatePostgres } from '../../support/private-postgres';
import { closePrivateGateway, startPrivateGateway } from '../../support/private-gateway';
import { TEST_REDIS_URL } from '../../support/test-env';
import { untilHealthy } from '../../support/wait';
import { SettleJournal } from '../../../src/proxy/billing/settle-journal';
import { LedgerService } from '../../../src/ledger/application/ledger.service';

const FUNDS = 10_000_000n;
const ANSWERS = 4;
const skipReason = whyNoPrivatePostgres();

interface Streaming {
  requestId: string;
  /** The whole answer as the client received it. */
  text: Promise<string>;
}

/** Starts a streamed chat through the official SDK; resolves once its first chunk is in. */
async function startStream(url: string, secret: string): Promise<Streaming> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: secret, maxRetries: 0 });
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'tell me more [reply:12]' }] })
    .withResponse();
  const it = data[Symbol.asyncIterator]();
  const first = await it.next();
  const text = (async () => {
    let out = first.done ? '' : (first.value.choices[0]?.delta?.content ?? '');
    for (let r = await it.next(); !r.done; r = await it.next()) out += r.value.choices[0]?.delta?.content ?? '';
    return out;
  })();
  return { requestId: response.headers.get('x-request-id')!, text };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (skipReason) {
  console.warn(`SKIPPED settle-journal: ${skipReason}`);
  it.skip(`settle journal — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('Postgres down while answers are on their way', () => {
    let pg: PrivatePostgres;
    let fake: FakeUpstream;
    let gw: Gateway;
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      ({ pg, fake, gw } = await startPrivateGateway());
    });
    afterAll(async () => {
      for (const c of children) c.kill('SIGKILL');
      await closePrivateGateway({ pg, fake, gw });
    });

    /** The account's events of one request's hold, by type. */
    async function holdEvents(accountId: string, requestId: string): Promise<string[]> {
      const { rows } = await gw.db.pool.query(
        `SELECT type FROM events WHERE stream_id = $1 AND data->>'holdId' = $2 ORDER BY stream_version`,
        [`account-${accountId}`, requestId],
      );
      return rows.map((r) => r.type);
    }

    /** Every answer settled exactly once for what its receipt says it cost, and the balance agrees. */
    async function expectBilledOnce(accountId: string, answers: Streaming[], url: string, secret: string): Promise<void> {
      let spent = 0n;
      for (const a of answers) {
        expect(await holdEvents(accountId, a.requestId)).toEqual(['HoldPlaced', 'HoldSettled']);
        const res = await fetch(`${url}/v1/generations/${a.requestId}`, { headers: { authorization: `Bearer ${secret}` } });
        expect(res.status).toBe(200);
        const { rows } = await gw.db.pool.query('SELECT * FROM request_log WHERE request_id = $1', [a.requestId]);
        expect(rows[0]).toMatchObject({ billing: 'settled', status: 200, output_tokens: 12n });
        expect(BigInt(rows[0].cost_micros)).toBe(receiptCost(rows[0]));
        spent += BigInt(rows[0].cost_micros);
      }
      expect(spent).toBeGreaterThan(0n);
      expect(await gw.available(accountId)).toBe(FUNDS - spent);
    }

    it('answers delivered during the outage are settled once, with receipts, once Postgres is back', async () => {
      const accountId = await gw.account(FUNDS);
      const { secret } = await gw.key(accountId);
      const journal = gw.app.get(SettleJournal);
      fake.script(...Array.from({ length: ANSWERS }, () => ({ kind: 'slow' as const, delayMsPerChunk: 120 })));
      const answers = await Promise.all(Array.from({ length: ANSWERS }, () => startStream(gw.url, secret)));

      pg.stop();
      let restarted = false;
      try {
        const texts = await Promise.all(answers.map((a) => a.text));
        for (const t of texts) expect(t.split(' ')).toHaveLength(12); // every answer reached the client whole
        await waitFor('every settle kept', () => journal.size === ANSWERS);
        // Kept on disk, fsynced: ids, amounts and counts, never the prompt or the answer. (An
        // entry counts as pending as keep() begins; its line reaches the file a moment later.)
        const dir = join(gw.config.DATA_DIR, 'settle-journal');
        const onDisk = () => (existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('') : '');
        await waitFor('every settle on disk', () => answers.every((a) => onDisk().includes(a.requestId)));
        const kept = onDisk();
        for (const a of answers) expect(kept).toContain(a.requestId);
        expect(kept).not.toMatch(/tell me more|Hello from fake/);
        await pg.start();
        restarted = true;
        const back = Date.now();
        await waitFor('the kept writes', () => journal.size === 0, 5_000);
        expect(Date.now() - back).toBeLessThan(1500);
      } finally {
        if (!restarted) await pg.start();
      }
      await expectBilledOnce(accountId, answers, gw.url, secret);
      // Written, the journal is emptied.
      const dir = join(gw.config.DATA_DIR, 'settle-journal');
      for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBe(0);
    });

    it(
      "a settle kept past its hold's expiry is still charged, once, as a late debit",
      async () => {
        const accountId = await gw.account(FUNDS);
        const { secret } = await gw.key(accountId);
        // A gateway whose holds live 1 s: the outage below outlasts the hold of its answer.
        const g = await startGateway({ db: gw.db, openai: fake, env: { HOLD_TTL_SECONDS: '1' } });
        try {
          const journal = g.app.get(SettleJournal);
          fake.script({ kind: 'slow', delayMsPerChunk: 120 });
          const answer = await startStream(g.url, secret);
          pg.stop();
          try {
            expect((await answer.text).split(' ')).toHaveLength(12);
            await waitFor('the settle kept', () => journal.size === 1);
            // This process stops retrying (as if it were gone); its journal stays for the next one.
            await journal.onModuleDestroy();
            await new Promise((r) => setTimeout(r, 1200)); // past the hold's expiry
          } finally {
            await pg.start();
          }
          // The worker's sweep takes the hold back first: the credit returns.
          await gw.app.get(LedgerService).execute(accountId, { type: 'ExpireHold', data: { holdId: answer.requestId } });
          const next = await startGateway({ db: gw.db, openai: fake, env: { DATA_DIR: g.config.DATA_DIR } });
          try {
            await waitFor('the late settle', async () => (await holdEvents(accountId, answer.requestId)).length >= 3);
            const types = (await holdEvents(accountId, answer.requestId)).filter((t) => t !== 'HoldExtended');
            expect(types).toEqual(['HoldPlaced', 'HoldExpired', 'HoldSettledLate']);
            const [receipt] = await gw.requests(accountId, 1);
            expect(receipt).toMatchObject({ request_id: answer.requestId, billing: 'settled' });
            expect(BigInt(receipt.cost_micros)).toBe(receiptCost(receipt));
            expect(await gw.available(accountId)).toBe(FUNDS - BigInt(receipt.cost_micros));
          } finally {
            await next.close();
          }
        } finally {
          await g.close();
        }
      },
    );

    it('a process killed after delivering during the outage: the next one, on the same DATA_DIR, settles each once', async () => {
      const accountId = await gw.account(FUNDS);
      const { secret } = await gw.key(accountId);
      const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
      const port = await freePort();
      const env = {
        ...process.env,
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: gw.db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: testRedisPrefix(),
        OPENAI_API_KEY: fake.apiKey,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        API_RUNS_WORKERS: 'false',
        MIGRATE_ON_START: 'false',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        EVENTSTORE_URL: '',
      };
      const startApi = async () => {
        const api = spawnBuilt('main', env);
        children.push(api);
        await untilHealthy(port);
        return api;
      };
      const api = await startApi();
      const url = `http://127.0.0.1:${port}`;
      fake.script(...Array.from({ length: ANSWERS }, () => ({ kind: 'slow' as const, delayMsPerChunk: 120 })));
      const answers = await Promise.all(Array.from({ length: ANSWERS }, () => startStream(url, secret)));

      pg.stop();
      try {
        for (const t of await Promise.all(answers.map((a) => a.text))) expect(t.split(' ')).toHaveLength(12);
        const journalText = () => {
          const dir = join(dataDir, 'settle-journal');
          return readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
        };
        await waitFor('every settle kept on disk', () => {
          try {
            const text = journalText();
            return answers.every((a) => text.includes(a.requestId));
          } catch {
            return false;
          }
        });
        api.kill('SIGKILL');
        await new Promise((r) => (api.exitCode !== null ? r(null) : api.once('exit', r)));
      } finally {
        await pg.start();
      }
      // Nothing was written while it was down, and the process that delivered them is gone.
      for (const a of answers) expect(await holdEvents(accountId, a.requestId)).toEqual(['HoldPlaced']);

      await startApi();
      await waitFor('the replayed settles', async () => {
        for (const a of answers) if ((await holdEvents(accountId, a.requestId)).length < 2) return false;
        return true;
      });
      await expectBilledOnce(accountId, answers, url, secret);
    });
  });
}
