/**
 * Low-balance alerts under concurrency (issue 20): two gateways of one deployment on one
 * database, each running its own check job (separate Redis prefixes, so their schedulers do not
 * take turns), and the test calling the check on both at once besides: every fall is one mail,
 * every rise and new fall one more. An alert leased by a sender that died is sent once its lease
 * ends, and not before.
 */
import { randomUUID } from 'node:crypto';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { LowBalanceAlerts } from '../../../src/payments/alerts/low-balance-alerts.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { waitFor } from '../../support/wait';

const CHECK_MS = 200;
const QUIET_MS = CHECK_MS * 8;
const PEOPLE = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('low-balance alerts with two gateways checking at once', () => {
  let smtp: SmtpReceiver;
  let db: FreshDb;
  let a: Gateway;
  let b: Gateway;
  let ledger: LedgerService;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    db = await freshDb(8);
    const env = { API_RUNS_WORKERS: 'true', SMTP_URL: smtp.url, LOW_BALANCE_CHECK_MS: String(CHECK_MS) };
    a = await startGateway({ db, env });
    b = await startGateway({ db, env });
    ledger = a.app.get(LedgerService);
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    await smtp?.close();
  });

  const mailsTo = (p: SignedIn) => smtp.messages.filter((m) => m.envelopeTo.includes(p.email.toLowerCase()));
  const alertRow = async (accountId: string) => (await db.pool.query('SELECT * FROM low_balance_alerts WHERE account_id = $1', [accountId])).rows[0];
  const spend = async (accountId: string, amount: bigint) => {
    const holdId = randomUUID();
    await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(accountId, { type: 'SettleHold', data: { holdId, amount } });
  };
  /** Checks on both gateways at once, `rounds` times, while `work` runs. */
  const hammer = async (work: Promise<unknown>, rounds = 15) => {
    const checks = [a, b].map((g) => g.app.get(LowBalanceAlerts));
    const pounding = (async () => {
      for (let i = 0; i < rounds; i++) await Promise.all(checks.flatMap((c) => [c.check(), c.check(), c.check()]));
    })();
    await Promise.all([work, pounding]);
  };

  it('each fall is one mail, each rise and new fall one more, with checks racing on both gateways', async () => {
    const people = await Promise.all(Array.from({ length: PEOPLE }, () => signedIn(a)));
    for (const p of people) {
      await ledger.execute(p.accountId, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 3_000_000n, reason: 'test funds' } });
      expect((await p.fetch('/api/me', { method: 'PATCH', body: { lowBalanceAlert: '2' } })).status).toBe(200);
    }

    await hammer(Promise.all(people.map((p) => spend(p.accountId, 1_500_000n))));
    await waitFor(() => people.every((p) => mailsTo(p).length >= 1), 20_000, 'one alert to each person');
    await hammer(sleep(QUIET_MS), 5);
    for (const p of people) expect(mailsTo(p)).toHaveLength(1);

    // Risen to the threshold: armed again (both gateways' checks see it), then a new fall.
    for (const p of people) await ledger.execute(p.accountId, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 500_000n, reason: 'top up' } });
    await waitFor(async () => (await Promise.all(people.map(async (p) => (await alertRow(p.accountId)).armed as boolean))).every(Boolean), 20_000, 'every alert armed again');
    await hammer(Promise.all(people.map((p) => spend(p.accountId, 1_000_000n))));
    await waitFor(() => people.every((p) => mailsTo(p).length >= 2), 20_000, 'a second alert to each person');
    await hammer(sleep(QUIET_MS), 5);
    for (const p of people) {
      expect(mailsTo(p)).toHaveLength(2);
      expect(await alertRow(p.accountId)).toMatchObject({ armed: false, pending_since: null, sent_count: 2, lease_token: null });
    }
  }, 60_000);

  it('an alert leased by a sender that died is sent once the lease ends, not before', async () => {
    const p = await signedIn(a);
    await ledger.execute(p.accountId, { type: 'GrantCredits', data: { grantId: randomUUID(), amount: 3_000_000n, reason: 'test funds' } });
    expect((await p.fetch('/api/me', { method: 'PATCH', body: { lowBalanceAlert: '2' } })).status).toBe(200);
    await sleep(QUIET_MS);
    // What a sender's claim leaves behind when its process dies before it records the outcome:
    // the alert pending, leased to it for a little longer.
    await db.pool.query(
      `UPDATE low_balance_alerts SET armed = false, pending_since = now(), lease_token = $2, lease_until = now() + interval '2 seconds' WHERE account_id = $1`,
      [p.accountId, randomUUID()],
    );
    await spend(p.accountId, 1_500_000n);
    await sleep(1_200);
    expect(mailsTo(p)).toHaveLength(0);
    const mail = await smtp.messageTo(p.email, 10_000);
    expect(mail.subject).toBe('Low balance: 1.500000 credits left (alert below 2.000000)');
    await sleep(QUIET_MS);
    expect(mailsTo(p)).toHaveLength(1);
    expect(await alertRow(p.accountId)).toMatchObject({ lease_token: null, lease_until: null, sent_count: 1 });
  }, 30_000);

  it('leaves the ledger whole', async () => {
    expect(await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: db.url })).toMatchObject({ code: 0 });
    expect(await run(process.execPath, [CLI, 'ledger', 'trial-balance'], { DATABASE_URL: db.url })).toMatchObject({ code: 0 });
  }, 60_000);
});
