/**
 * A settle journal left in DATA_DIR by a process that died during an outage: the next process
 * started on it replays it at start, skips a torn last line (loudly), removes the file once
 * written, and a second replay of the same journal (another process, a copy) changes nothing.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, startGateway } from '../../support/gateway';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { RequestLogRow } from '../../../src/proxy/usage/request-log.repository';
import { KeptWrite, encodeLine } from '../../../src/proxy/billing/settle-journal.codec';

const FUNDS = 10_000_000n;

function row(requestId: string, accountId: string, costMicros: bigint): RequestLogRow {
  return {
    requestId, accountId, keyId: randomUUID(), startedAt: new Date(), endpoint: 'openai.chat', model: 'gpt-4o-mini',
    provider: 'openai', channelId: null, stream: true, status: 200, errorCode: null, inputTokens: 9, cachedTokens: 0,
    cacheWriteTokens: 0, outputTokens: 12, estimated: false, freeRequest: false, heldMicros: 5_000n, costMicros,
    billing: 'settled', priceVersion: 1, unitPrices: null, latencyMs: 40, ttfbMs: 10, attempts: 1,
  };
}

const settle = (accountId: string, id: string, amount: bigint): KeptWrite => ({
  id,
  accountId,
  command: { type: 'SettleHold', data: { holdId: id, amount, upstreamCost: amount, usage: { model: 'gpt-4o-mini', inputTokens: 9, outputTokens: 12, cachedTokens: 0, estimated: false } } },
  row: row(id, accountId, amount),
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a settle journal left behind', () => {
  let gw: Gateway;
  const more: Gateway[] = [];

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    for (const g of more) await g.close();
    await gw?.close();
  });

  it('is replayed at start, a torn last line skipped loudly, and replaying it again changes nothing', async () => {
    const accountId = await gw.account(FUNDS);
    const ledger = gw.app.get(LedgerService);
    const [settled, torn] = [randomUUID(), randomUUID()];
    for (const holdId of [settled, torn]) {
      const expiresAt = new Date(Date.now() + 600_000).toISOString();
      await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount: 5_000n, expiresAt } });
    }
    const tornLine = encodeLine({ kind: 'kept', write: settle(accountId, torn, 2_000n) });
    const journal = encodeLine({ kind: 'kept', write: settle(accountId, settled, 1_234n) }) + tornLine.slice(0, tornLine.length >> 1);

    const dirs = [0, 1].map(() => {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
      mkdirSync(join(dir, 'settle-journal'));
      writeFileSync(join(dir, 'settle-journal', 'earlier-process.jsonl'), journal);
      return dir;
    });
    const types = async () =>
      (await gw.db.pool.query(`SELECT type, data FROM events WHERE stream_id = $1 ORDER BY stream_version`, [`account-${accountId}`])).rows;

    for (const dir of dirs) {
      const g = await startGateway({ db: gw.db, env: { DATA_DIR: dir } });
      more.push(g);
      await waitFor('the journal replayed', async () => !existsSync(join(dir, 'settle-journal', 'earlier-process.jsonl')));
      expect(g.logs.join('')).toMatch(/earlier-process\.jsonl: its last line is torn \(a crash mid-write\); skipped/);
      expect(g.logs.join('')).not.toMatch(/refused by the ledger|set aside|kept write failed/); // the second replay is answered as done
    }
    const events = await types();
    expect(events.map((e) => e.type)).toEqual(['AccountOpened', 'CreditsGranted', 'HoldPlaced', 'HoldPlaced', 'HoldSettled']);
    expect(events[4].data).toMatchObject({ holdId: settled, amount: '1234' });
    const { rows } = await gw.db.pool.query('SELECT request_id, billing, cost_micros FROM request_log WHERE account_id = $1', [accountId]);
    expect(rows).toEqual([{ request_id: settled, billing: 'settled', cost_micros: 1234n }]);
    expect(await gw.available(accountId)).toBe(FUNDS - 1_234n - 5_000n); // the torn one's hold stays open, for the sweep
  });

  it("leaves alone the journal of a process still running on this host, and replays it once that process is gone", async () => {
    const accountId = await gw.account(FUNDS);
    const holdId = randomUUID();
    await gw.app.get(LedgerService).execute(accountId, { type: 'PlaceHold', data: { holdId, amount: 5_000n, expiresAt: new Date(Date.now() + 600_000).toISOString() } });
    const sibling = spawn('sleep', ['60'], { stdio: 'ignore' });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
    mkdirSync(join(dir, 'settle-journal'));
    const file = join(dir, 'settle-journal', `${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}~${sibling.pid}~live.jsonl`);
    writeFileSync(file, encodeLine({ kind: 'kept', write: settle(accountId, holdId, 777n) }));
    try {
      const g = await startGateway({ db: gw.db, env: { DATA_DIR: dir } });
      more.push(g);
      await waitFor('the warning', async () => /belongs to a process still running on this host; left to it/.test(g.logs.join('')));
      expect(existsSync(file)).toBe(true);
      expect(await gw.available(accountId)).toBe(FUNDS - 5_000n);
    } finally {
      sibling.kill('SIGKILL');
      await new Promise((r) => (sibling.exitCode !== null || sibling.signalCode !== null ? r(null) : sibling.once('exit', r)));
    }
    more.push(await startGateway({ db: gw.db, env: { DATA_DIR: dir } }));
    await waitFor('the replay', async () => !existsSync(file));
    expect(await gw.available(accountId)).toBe(FUNDS - 777n);
  });
});
