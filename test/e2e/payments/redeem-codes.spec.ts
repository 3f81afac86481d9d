/**
 * Redemption codes end to end (issue 20): codes issued by the built `tollgate codes` CLI over
 * the gateway's database, redeemed through POST /api/billing/redeem by signed-in people, on
 * the machine's Postgres and Redis. Single use under concurrency, one code per account per
 * batch, refusals that credit nothing, codes never stored or logged in clear, the rate limit.
 */
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { deterministicId } from '../../../src/shared/ids';
import { CodesService } from '../../../src/payments/codes/application/codes.service';
import { codeHash, normaliseCode } from '../../../src/payments/codes/domain/codes';
import { signedIn } from '../../support/account-client';
import { CLI, expectOneErrorLine, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';

describe('redemption codes (booted app, built CLI, real Postgres and Redis)', () => {
  let gw: Gateway;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'codes', ...args], { DATABASE_URL: gw.db.url });
  const issue = async (...args: string[]): Promise<{ batchId: string; codes: string[] }> => {
    const r = await tollgate('issue', ...args, '--json');
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { batchId: string; codes: string[] };
  };
  const redeem = (who: Awaited<ReturnType<typeof signedIn>>, code: unknown) => who.fetch('/api/billing/redeem', { method: 'POST', body: { code } });
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  beforeAll(async () => {
    gw = await startGateway({ env: { REDEEM_PER_CLIENT_PER_HOUR: '100000', REDEEM_PER_ACCOUNT_PER_HOUR: '6' } });
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('issues readable 80-bit codes once, stores only their hashes, and audits the issue', async () => {
    const { batchId, codes } = await issue('--amount', '2.5', '--count', '3', '--prefix', 'spring', '--reason', 'spring campaign');
    expect(codes).toHaveLength(3);
    for (const c of codes) expect(c).toMatch(/^SPRING(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
    expect(new Set(codes).size).toBe(3);
    const events = await gw.db.pool.query<{ data: string }>("SELECT data::text AS data FROM events WHERE stream_id = $1", [`codebatch-${batchId}`]);
    expect(events.rows).toHaveLength(1);
    const issued = JSON.parse(events.rows[0].data) as { amount: string; hashes: string[] };
    expect(issued.amount).toBe('2500000');
    expect(issued.hashes.sort()).toEqual(codes.map((c) => codeHash(normaliseCode(c) as string)).sort());
    const audit = await gw.db.pool.query("SELECT action FROM staff_audit WHERE action = 'codes.issue' AND details->>'batchId' = $1", [batchId]);
    expect(audit.rowCount).toBe(1);
    const listed = await tollgate('list', '--json');
    expect(JSON.parse(listed.stdout)).toMatchObject({ batches: expect.arrayContaining([expect.objectContaining({ batchId, amount: '2.500000', count: 3, redeemed: 0, revoked: false })]) });
  }, 60_000);

  it('refuses bad issue options with exit 2 and writes nothing', async () => {
    const batches = async () => (await gw.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_id LIKE 'codebatch-%'")).rows[0].n;
    const before = await batches();
    for (const args of [['--amount', '0', '--count', '1'], ['--amount', '1', '--count', '10001'], ['--amount', '1000000001', '--count', '1'], ['--amount', '1', '--count', '1', '--prefix', 'no-way']]) {
      const r = await tollgate('issue', ...args);
      expectOneErrorLine(r);
      expect(r.code).toBe(2);
    }
    expect(await batches()).toBe(before);
  }, 60_000);

  it('credits a code once: balance up by the amount, typed loosely, and `ledger verify` passes', async () => {
    const person = await signedIn(gw);
    const before = await gw.available(person.accountId);
    const { codes } = await issue('--amount', '5', '--count', '2');
    const typed = ` ${codes[0].toLowerCase().replace(/-/g, ' ')} `;
    const res = await redeem(person, typed);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { amount: string; available: string };
    expect(body).toEqual({ amount: '5.000000', available: expect.any(String) });
    expect(await gw.available(person.accountId)).toBe(before + 5_000_000n);
    // Replayed: the same code again by the same person credits nothing more.
    const again = await redeem(person, codes[0]);
    expect(again.status).toBe(200);
    expect(await gw.available(person.accountId)).toBe(before + 5_000_000n);
    // Another code of the same batch, same account: refused.
    const second = await redeem(person, codes[1]);
    expect(second.status).toBe(409);
    expect(await errorCode(second)).toBe('batch_already_redeemed');
    expect(await gw.available(person.accountId)).toBe(before + 5_000_000n);
    const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
    expect(verify).toMatchObject({ code: 0 });
  }, 60_000);

  it('50 accounts redeeming one code at once: exactly one is credited', async () => {
    const { codes } = await issue('--amount', '1', '--count', '1');
    const people = await Promise.all(Array.from({ length: 50 }, () => signedIn(gw)));
    const answers = await Promise.all(people.map((p) => redeem(p, codes[0])));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(49);
    const balances = await Promise.all(people.map((p) => gw.available(p.accountId)));
    const winner = statuses.indexOf(200);
    const others = balances.filter((_, i) => i !== winner);
    expect(new Set(others).size).toBe(1);
    expect(balances[winner] - others[0]).toBe(1_000_000n);
  }, 120_000);

  it('refuses expired, revoked (code and batch), unknown, malformed and huge input; nothing credited', async () => {
    const person = await signedIn(gw);
    const before = await gw.available(person.accountId);
    const service = gw.app.get(CodesService);
    const expiring = await service.issue({ amount: 1_000_000n, count: 1, expiresAt: new Date(Date.now() + 1500), prefix: null, reason: null, actor: 'cli:test' });
    const revokedCode = await issue('--amount', '1', '--count', '2');
    const revokedBatch = await issue('--amount', '1', '--count', '1');
    expect((await tollgate('revoke', '--code', revokedCode.codes[0], '--reason', 'leaked')).code).toBe(0);
    expect((await tollgate('revoke', '--batch', revokedBatch.batchId)).code).toBe(0);
    const both = await tollgate('revoke', '--code', revokedCode.codes[1], '--batch', revokedCode.batchId);
    expectOneErrorLine(both);
    expect(both.code).toBe(2);
    expect((await gw.db.pool.query("SELECT 1 FROM staff_audit WHERE action = 'codes.revoke' AND details->>'batchId' = ANY($1)", [[revokedCode.batchId, revokedBatch.batchId]])).rowCount).toBe(2);
    const listed = (JSON.parse((await tollgate('list', '--json')).stdout) as { batches: { batchId: string; revoked: boolean; revokedCodes: number }[] }).batches;
    expect(listed.find((b) => b.batchId === revokedCode.batchId)).toMatchObject({ revoked: false, revokedCodes: 1 });
    expect(listed.find((b) => b.batchId === revokedBatch.batchId)).toMatchObject({ revoked: true });
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await redeem(person, expiring.codes[0]);
    expect([expired.status, await errorCode(expired)]).toEqual([400, 'code_expired']);
    for (const code of [revokedCode.codes[0], revokedBatch.codes[0], 'ABCD-EFGH-JKMN-PQRS']) {
      const res = await redeem(person, code);
      expect([res.status, await errorCode(res)]).toEqual([400, 'code_invalid']);
    }
    for (const code of ['!!', 'x'.repeat(65), 42, null]) {
      const res = await redeem(person, code);
      expect(res.status).toBe(400);
    }
    const huge = await person.fetch('/api/billing/redeem', { method: 'POST', body: { code: 'A'.repeat(5_000_000) } });
    expect(huge.status).toBe(413);
    expect(await gw.available(person.accountId)).toBe(before);
    // The other code of the half-revoked batch still works.
    expect((await redeem(person, revokedCode.codes[1])).status).toBe(200);
  }, 60_000);

  it('one account redeeming two codes of one batch at once: one credited, the other refused and still good for someone else', async () => {
    for (let round = 0; round < 5; round++) {
      const { codes } = await issue('--amount', '2', '--count', '2');
      const person = await signedIn(gw);
      const answers = await Promise.all(codes.map((c) => redeem(person, c)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 409]);
      expect(await gw.available(person.accountId)).toBe(2_000_000n);
      // The refused code was not spent: another account redeems it.
      const refused = codes[answers.findIndex((a) => a.status === 409)];
      const other = await signedIn(gw);
      expect((await redeem(other, refused)).status).toBe(200);
      expect(await gw.available(other.accountId)).toBe(2_000_000n);
    }
  }, 120_000);

  it('an account that lost a race for a code may still redeem another code of that batch', async () => {
    const { codes } = await issue('--amount', '1', '--count', '2');
    const people = await Promise.all(Array.from({ length: 10 }, () => signedIn(gw)));
    const answers = await Promise.all(people.map((p) => redeem(p, codes[0])));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const loser = people[answers.findIndex((a) => a.status !== 200)];
    expect((await redeem(loser, codes[1])).status).toBe(200);
    expect(await gw.available(loser.accountId)).toBe(1_000_000n);
  }, 60_000);

  it('a claim left without its grant (a crash between them) is completed by the retry, once', async () => {
    const person = await signedIn(gw);
    const before = await gw.available(person.accountId);
    const { batchId, codes } = await issue('--amount', '3', '--count', '1');
    const hash = codeHash(normaliseCode(codes[0]) as string);
    const store = gw.app.get<EventStore>(EVENT_STORE);
    // What redeem() appends first, as if the process died right after it.
    await store.append(`redemption-${hash}`, [{ id: deterministicId(`redeemed:${hash}`), type: 'CodeRedeemed', data: { hash, batchId, accountId: person.accountId } }], { expectedVersion: 0n });
    expect(await gw.available(person.accountId)).toBe(before);
    const other = await signedIn(gw);
    expect((await redeem(other, codes[0])).status).toBe(400);
    const retried = await Promise.all([redeem(person, codes[0]), redeem(person, codes[0])]);
    expect(retried.map((r) => r.status)).toEqual([200, 200]);
    expect(await gw.available(person.accountId)).toBe(before + 3_000_000n);
    expect(await gw.available(other.accountId)).toBe(0n);
  }, 60_000);

  it('a write from another site or without the CSRF token is refused and credits nothing', async () => {
    const person = await signedIn(gw);
    const { codes } = await issue('--amount', '1', '--count', '1');
    const cross = await person.fetch('/api/billing/redeem', { method: 'POST', body: { code: codes[0] }, headers: { origin: 'https://evil.example' } });
    expect(cross.status).toBe(403);
    const noToken = await person.fetch('/api/billing/redeem', { method: 'POST', body: { code: codes[0] }, headers: { 'x-csrf-token': 'forged' } });
    expect(noToken.status).toBe(403);
    const signedOut = await fetch(`${gw.url}/api/billing/redeem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: codes[0] }) });
    expect(signedOut.status).toBe(401);
    expect(await gw.available(person.accountId)).toBe(0n);
    expect((await redeem(person, codes[0])).status).toBe(200);
  }, 60_000);

  it('a management key of the account redeems for that account', async () => {
    const person = await signedIn(gw);
    const made = (await (await person.fetch('/api/management-keys', { method: 'POST', body: { name: 'billing script' } })).json()) as { secret: string };
    const { codes } = await issue('--amount', '4', '--count', '1');
    const res = await fetch(`${gw.url}/api/billing/redeem`, {
      method: 'POST',
      headers: { authorization: `Bearer ${made.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code: codes[0] }),
    });
    expect(res.status).toBe(200);
    expect(await gw.available(person.accountId)).toBe(4_000_000n);
  }, 60_000);

  it('the route is in the OpenAPI document with its error codes', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const op = doc.paths['/api/billing/redeem']?.post;
    expect(op).toBeDefined();
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '400', '409', '429']));
  });

  it('never stores or logs a code in clear', async () => {
    const person = await signedIn(gw);
    const { batchId, codes } = await issue('--amount', '1', '--count', '1');
    expect((await redeem(person, codes[0])).status).toBe(200);
    const listed = (JSON.parse((await tollgate('list', '--json')).stdout) as { batches: { batchId: string; redeemed: number }[] }).batches;
    expect(listed.find((b) => b.batchId === batchId)).toMatchObject({ redeemed: 1 });
    const bare = normaliseCode(codes[0]) as string;
    const { rows } = await gw.db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE data::text ILIKE '%' || $1 || '%' OR data::text ILIKE '%' || $2 || '%' OR metadata::text ILIKE '%' || $1 || '%'",
      [codes[0], bare],
    );
    expect(rows[0].n).toBe(0);
    const audit = await gw.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM staff_audit WHERE details::text ILIKE '%' || $1 || '%'", [bare]);
    expect(audit.rows[0].n).toBe(0);
    const logs = gw.logs.join('');
    expect(logs).not.toContain(codes[0]);
    expect(logs).not.toContain(bare);
  }, 60_000);

  it('rate-limits attempts per account (429 with retry-after), counting refused ones', async () => {
    const person = await signedIn(gw);
    const answers: number[] = [];
    for (let i = 0; i < 7; i++) answers.push((await redeem(person, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ')).status);
    expect(answers.slice(0, 6)).toEqual([400, 400, 400, 400, 400, 400]);
    const limited = await redeem(person, 'ZZZZ-ZZZZ-ZZZZ-ZZZZ');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);
});
