/**
 * Low-balance alerts end to end (issue 20): a booted gateway that runs its workers (the check
 * job every 250 ms, the read models), a real SMTP receiver, credit spent by real proxied
 * requests (openai SDK, fake upstream) and by ledger holds. One mail per fall however many
 * requests follow, another only after a rise to the threshold and a new fall; a hold alone is
 * not a fall; null turns it off; bad values refused naming the field; a mail server that refuses
 * is retried until it takes the mail, once; an alert unsent when the balance rose is dropped;
 * `ledger verify` and the trial balance pass; no address in the logs.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { formatCredits } from '../../../src/shared/money';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { waitFor } from '../../support/wait';

const CHECK_MS = 250;
/** Long enough for several checks to have run. */
const QUIET_MS = CHECK_MS * 6;
const json = async (r: Response): Promise<any> => r.json();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('low-balance alerts (booted gateway with its workers, real SMTP, real proxy)', () => {
  let smtp: SmtpReceiver;
  let fake: FakeUpstream;
  let gw: Gateway;
  let ledger: LedgerService;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake, env: { API_RUNS_WORKERS: 'true', SMTP_URL: smtp.url, LOW_BALANCE_CHECK_MS: String(CHECK_MS) } });
    ledger = gw.app.get(LedgerService);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await smtp?.close();
  });

  const mailsTo = (p: SignedIn) => smtp.messages.filter((m) => m.envelopeTo.includes(p.email.toLowerCase()));
  const setAlert = (p: SignedIn, value: unknown) => p.fetch('/api/me', { method: 'PATCH', body: { lowBalanceAlert: value } });
  const alertRow = async (accountId: string) => (await gw.db.pool.query('SELECT * FROM low_balance_alerts WHERE account_id = $1', [accountId])).rows[0];
  /**
   * Waits for the balances read model to have every event of the account (the gateway's own
   * runner feeds it; ReadModels.bringUpToDate would stop that runner when it returns).
   */
  const caughtUp = async (accountId: string) => {
    const { version } = await ledger.load(accountId);
    const seen = async () => (await gw.db.pool.query('SELECT version FROM rm_balances.balances WHERE account_id = $1', [accountId])).rows[0]?.version;
    await waitFor(async () => (await seen()) === version, 10_000, `the balances read model to reach version ${version} of ${accountId}`);
  };
  const grant = (accountId: string, amount: bigint) =>
    ledger.execute(accountId, { type: 'GrantCredits', data: { grantId: randomUUID(), amount, reason: 'low-balance test' } });
  /** Spends as the proxy does: a hold, then its settle (for `amount`, or `settleAt`). */
  const spend = async (accountId: string, amount: bigint, settleAt = amount) => {
    const holdId = randomUUID();
    await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(accountId, { type: 'SettleHold', data: { holdId, amount: settleAt } });
  };
  /** A person with `credits` µcr and an alert at `threshold` (a string as sent), no mail yet. */
  const person = async (credits: bigint, threshold?: string) => {
    const p = await signedIn(gw);
    if (credits > 0n) await grant(p.accountId, credits);
    await caughtUp(p.accountId);
    if (threshold !== undefined) expect((await setAlert(p, threshold)).status).toBe(200);
    return p;
  };

  it('falls below through real requests: one mail, however many requests follow; again only after it rose to the threshold and fell', async () => {
    const p = await signedIn(gw);
    // The welcome free requests cost nothing: use them up first so each request spends credit.
    const free = (await ledger.load(p.accountId)).state.freeRequests;
    for (let i = 0; i < free; i++) await ledger.execute(p.accountId, { type: 'UseFreeRequest', data: { requestId: randomUUID() } });
    await grant(p.accountId, 1_000_000n);
    await caughtUp(p.accountId);
    const set = await setAlert(p, '1');
    expect(set.status).toBe(200);
    expect((await json(set)).lowBalanceAlert).toBe('1.000000');
    expect((await json(await p.fetch('/api/me'))).lowBalanceAlert).toBe('1.000000');

    // Exactly at the threshold is not below it.
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(0);

    const { secret } = await gw.key(p.accountId);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const ask = (i: number) => client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: `low balance request ${i}` }] });
    await ask(0);
    await gw.requests(p.accountId, 1);
    const afterOne = (await ledger.load(p.accountId)).state.available;
    expect(afterOne).toBeLessThan(1_000_000n);

    const first = await smtp.messageTo(p.email, 10_000);
    expect(first.subject).toBe(`Low balance: ${formatCredits(afterOne)} credits left (alert below 1.000000)`);
    expect(first.text).toContain(`${formatCredits(afterOne)} credits left`);
    expect(first.text).toContain('threshold of 1.000000 credits');
    expect(first.text).toContain(`${gw.config.PUBLIC_URL}/billing`);

    for (let i = 1; i <= 10; i++) await ask(i);
    await gw.requests(p.accountId, 11);
    await caughtUp(p.accountId);
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(1);
    expect(await alertRow(p.accountId)).toMatchObject({ armed: false, pending_since: null, sent_count: 1 });

    // Back to exactly the threshold: armed again (at or above), no mail.
    const low = (await ledger.load(p.accountId)).state.available;
    await grant(p.accountId, 1_000_000n - low);
    await waitFor(async () => (await alertRow(p.accountId)).armed === true, 10_000, 'the alert to be armed again');
    expect(mailsTo(p)).toHaveLength(1);

    await ask(11);
    await gw.requests(p.accountId, 12);
    const second = await smtp.messageTo(p.email, 10_000, 1);
    expect(second.subject).toContain('(alert below 1.000000)');
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(2);
  }, 60_000);

  it('a hold alone is credit reserved, not spent: no mail; a settle that spends it is', async () => {
    const p = await person(5_000_000n, '2.5');
    const holdId = randomUUID();
    await ledger.execute(p.accountId, { type: 'PlaceHold', data: { holdId, amount: 4_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await caughtUp(p.accountId);
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(0);
    await ledger.execute(p.accountId, { type: 'SettleHold', data: { holdId, amount: 100_000n } });
    await caughtUp(p.accountId);
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(0);
    await spend(p.accountId, 2_500_000n);
    const mail = await smtp.messageTo(p.email, 10_000);
    expect(mail.subject).toBe('Low balance: 2.400000 credits left (alert below 2.500000)');
  }, 30_000);

  it('set while already below: one mail at once; the same value again none; a new value one more', async () => {
    const p = await person(1_000_000n, '2.50');
    await smtp.messageTo(p.email, 10_000);
    expect((await setAlert(p, '2.5')).status).toBe(200);
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(1);
    expect((await setAlert(p, '3')).status).toBe(200);
    const again = await smtp.messageTo(p.email, 10_000, 1);
    expect(again.subject).toBe('Low balance: 1.000000 credits left (alert below 3.000000)');
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(2);
  }, 30_000);

  it('null turns it off (GET shows null, nothing sent); never set, nothing is sent', async () => {
    const p = await person(3_000_000n, '2');
    const off = await setAlert(p, null);
    expect(off.status).toBe(200);
    expect((await json(off)).lowBalanceAlert).toBeNull();
    expect(await alertRow(p.accountId)).toBeUndefined();
    const never = await person(3_000_000n);
    expect((await json(await never.fetch('/api/me'))).lowBalanceAlert).toBeNull();
    await spend(p.accountId, 2_000_000n);
    await spend(never.accountId, 2_999_999n);
    await caughtUp(p.accountId);
    await caughtUp(never.accountId);
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(0);
    expect(mailsTo(never)).toHaveLength(0);
    // Turning it off when it was off already is fine, and changes nothing.
    expect((await setAlert(p, null)).status).toBe(200);
  }, 30_000);

  it('refuses bad values with 400 validation_failed naming lowBalanceAlert, and stores nothing', async () => {
    // As much credit as an account may hold: no value set here is above it, so no mail races the next test.
    const p = await person(1_000_000_000_000_000n, '1.5');
    const cases: unknown[] = ['-1', 'abc', '1.0000001', '0', '0.000000', '', ' 2', '2.', '.5', '1e3', '0x10', '1,5', '1000000000.000001', '9'.repeat(30), '9'.repeat(41), 2.5, 1, true, {}, []];
    for (const value of cases) {
      const r = await setAlert(p, value);
      expect([value, r.status]).toEqual([value, 400]);
      const { error } = await json(r);
      expect(error.code).toBe('validation_failed');
      expect(error.message).toMatch(/^lowBalanceAlert: /);
    }
    // Nothing in the body, or an unknown field beside it, is refused too.
    const empty = await p.fetch('/api/me', { method: 'PATCH', body: {} });
    expect(empty.status).toBe(400);
    const extra = await p.fetch('/api/me', { method: 'PATCH', body: { lowBalanceAlert: '2', threshold: '2' } });
    expect(extra.status).toBe(400);
    expect((await json(extra)).error.message).toContain('unknown field threshold');
    expect((await json(await p.fetch('/api/me'))).lowBalanceAlert).toBe('1.500000');
    // The largest allowed value, and the smallest, are taken.
    expect((await json(await setAlert(p, '1000000000'))).lowBalanceAlert).toBe('1000000000.000000');
    expect((await json(await setAlert(p, '0.000001'))).lowBalanceAlert).toBe('0.000001');
    // Without the CSRF token a session cannot change it.
    const forged = await p.fetch('/api/me', { method: 'PATCH', body: { lowBalanceAlert: '9' }, headers: { 'x-csrf-token': 'nope' } });
    expect(forged.status).toBe(403);
    expect((await alertRow(p.accountId)).threshold).toBe(1n);
  }, 30_000);

  it('a mail server that refuses: the alert stays pending with the reason, is retried, and is sent once', async () => {
    const p = await person(3_000_000n, '2');
    smtp.refuseNext(3);
    await spend(p.accountId, 1_500_000n);
    await waitFor(async () => ((await alertRow(p.accountId))?.attempts ?? 0) >= 1, 10_000, 'a failed send to be recorded');
    const failed = await alertRow(p.accountId);
    expect(failed).toMatchObject({ armed: false, sent_count: 0 });
    expect(failed.pending_since).toBeInstanceOf(Date);
    expect(failed.last_error).toMatch(/^mail_failed: .*451.* \(attempt \d+\)$/);
    expect(failed.next_try_at).toBeInstanceOf(Date);
    expect(mailsTo(p)).toHaveLength(0);
    const mail = await smtp.messageTo(p.email, 15_000);
    expect(mail.subject).toBe('Low balance: 1.500000 credits left (alert below 2.000000)');
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(1);
    expect(await alertRow(p.accountId)).toMatchObject({ attempts: 3, last_error: null, pending_since: null, sent_count: 1 });
  }, 30_000);

  it('an alert still unsent when the balance rose back is dropped, not sent late', async () => {
    const p = await person(3_000_000n, '2');
    smtp.refuseNext(1_000);
    try {
      await spend(p.accountId, 1_500_000n);
      await waitFor(async () => ((await alertRow(p.accountId))?.attempts ?? 0) >= 1, 10_000, 'a failed send to be recorded');
      await grant(p.accountId, 1_000_000n);
      await waitFor(async () => (await alertRow(p.accountId)).armed === true, 10_000, 'the alert to be armed again');
      expect(await alertRow(p.accountId)).toMatchObject({ pending_since: null, attempts: 0, last_error: null, sent_count: 0 });
    } finally {
      smtp.refuseNext(0);
    }
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(0);
  }, 30_000);

  it('leaves the ledger whole (`ledger verify`, trial balance zero) and no address in the logs', async () => {
    const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
    expect(verify).toMatchObject({ code: 0 });
    const tb = await run(process.execPath, [CLI, 'ledger', 'trial-balance'], { DATABASE_URL: gw.db.url });
    expect(tb).toMatchObject({ code: 0 });
    const logs = gw.logs.join('');
    expect(logs).toContain('low-balance check:');
    for (const m of smtp.messages) for (const to of m.envelopeTo) expect(logs).not.toContain(to);
  }, 60_000);
});
