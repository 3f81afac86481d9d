/**
 * Breach incidents (issue 21), two behaviours: the selections by query leave erased people out
 * (they have no address to notify) and say how many, as a count only, in the selection's answer,
 * `status` and `report`; and `tollgate compliance incident notify --wait` follows the sending
 * with a progress bar (on a terminal) and exits 1 when a notice was given up. The booted app
 * runs its own notice worker; a real SMTP receiver; the built CLI.
 */
import { UsersService } from '../../../src/accounts/application/users.service';
import { ErasureService } from '../../../src/compliance/erasure/application/erasure.service';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { CLI, ROOT, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

type Json = Record<string, any>;

const facts = {
  title: 'Log bucket readable',
  nature: 'A bucket of access logs was readable from the internet for 2 hours.',
  dataCategories: ['email', 'ip_address'],
  peopleCategories: ['account holders'],
  approxPeople: 10,
  approxRecords: 100,
  consequences: 'Phishing mails that look like ours.',
  measures: 'The bucket is private again.',
  contact: 'dpo@tollgate.example',
};

describe('incidents: erased people left out of selections; notify --wait (booted app with its notice worker, real SMTP, built CLI)', () => {
  let gw: Gateway;
  let smtp: SmtpReceiver;
  let staff: SignedIn;
  const cliEnv = () => ({ DATABASE_URL: gw.db.url, REDIS_KEY_PREFIX: gw.config.REDIS_KEY_PREFIX, SMTP_URL: smtp.url });
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, ...args], cliEnv());

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    gw = await startGateway({ env: { API_RUNS_WORKERS: 'true', SMTP_URL: smtp.url, INCIDENT_NOTICE_RETRY_SECONDS: '1' } });
    const email = uniqueEmail('dpo');
    const first = await signedIn(gw, email);
    await gw.app.get(UsersService).execute(first.userId, { type: 'GrantRole', data: { role: 'compliance', by: 'cli:test', reason: 'incident tests' } }, 'cli:test');
    staff = await signedIn(gw, email);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await smtp?.close();
  });

  async function post(path: string, body: unknown, status = 200): Promise<Json> {
    const res = await staff.fetch(`/staff/incidents${path}`, { method: 'POST', body });
    const b = (await res.json()) as Json;
    if (res.status !== status) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(b)}`);
    return b;
  }
  const reason = { reason: 'confirmed by the security team' };
  const opened = async () => (await post('', facts, 201)).id as string;
  const erase = (userId: string) => gw.app.get(ErasureService).erase({ userId, actor: 'cli:test', via: 'cli', reason: 'asked to be forgotten' });
  const userCount = async () => (await gw.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0].n;

  it('"everyone" leaves erased people out and counts them once, in the answer, the status and the report; none fails as no_address', async () => {
    const people = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw), signedIn(gw)]);
    // One erased to the end (no users row any more), one whose erasure stopped after its data key
    // was destroyed (the row is still there, with nothing readable: it would fail as no_address).
    await erase(people[0].userId);
    await gw.app.get(PersonalDataVault).erase(people[1].userId);
    const id = await opened();
    const all = await userCount(); // people[1] among them
    const sel = await post(`/${id}/select`, { by: 'everyone', ...reason });
    expect(sel).toMatchObject({ added: all - 1, leftOutErased: 2, incident: { selected: all - 1, leftOutErased: 2 } });
    const { rows } = await gw.db.pool.query<{ user_id: string }>('SELECT user_id FROM incident_notices WHERE incident_id = $1', [id]);
    expect(rows.map((r) => r.user_id)).toEqual(expect.arrayContaining([people[2].userId, people[3].userId]));
    expect(rows.map((r) => r.user_id)).not.toEqual(expect.arrayContaining([people[0].userId]));
    expect(rows.map((r) => r.user_id)).not.toEqual(expect.arrayContaining([people[1].userId]));

    // A new person, then "everyone" again: one added, the erased not counted a second time.
    const later = await signedIn(gw);
    expect(await post(`/${id}/select`, { by: 'everyone', ...reason })).toMatchObject({ added: 1, leftOutErased: 0, incident: { leftOutErased: 2 } });
    // A category that matches nobody new: refused (409), and nothing of it recorded.
    const res = await staff.fetch(`/staff/incidents/${id}/select`, { method: 'POST', body: { by: 'data_category', category: 'email', ...reason } });
    expect(res.status).toBe(409);

    await post(`/${id}/confirm`, reason);
    expect(await post(`/${id}/notify`, reason)).toMatchObject({ queued: all });
    await smtp.messageTo(later.email, 20_000);
    const status = await tollgate('compliance', 'incident', 'status', '--id', id);
    expect(status).toMatchObject({ code: 0 });
    expect(status.stdout).toContain('left out: 2 erased person(s) matched a selection (no address to notify)');
    const report = JSON.parse((await tollgate('compliance', 'incident', 'report', '--id', id, '--json')).stdout) as Json;
    expect(report.notices).toMatchObject({ affectedSelected: all, leftOutErased: 2 });
    expect(report.timeline.map((t: Json) => t.what)).toContain(`affected people selected everyone: ${all - 1} added, 2 left out (erased: no address)`);
    const md = await tollgate('compliance', 'incident', 'report', '--id', id);
    expect(md.stdout).toContain('Left out of the selection: 2 erased person(s)');
    // A count only: no id of an erased person in the report.
    for (const p of people.slice(0, 2)) {
      expect(md.stdout).not.toContain(p.userId);
      expect(JSON.stringify(report)).not.toContain(p.userId);
    }
    // Every selected person is sent the notice; nobody fails for want of an address.
    const sent = await tollgate('compliance', 'incident', 'notify', '--id', id, '--reason', 'again', '--wait', '--json');
    expect(sent).toMatchObject({ code: 0 });
    expect(JSON.parse(sent.stdout).status.notices).toMatchObject({ sent: all, failed: 0, pending: 0 });
  }, 90_000);

  it('notify --wait: waits until all are sent, with a progress bar on a terminal, and exits 0', async () => {
    const people = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw)]);
    const id = await opened();
    await post(`/${id}/select`, { by: 'users', userIds: people.map((p) => p.userId), ...reason });
    await post(`/${id}/confirm`, reason);
    // Under a pseudo-terminal (util-linux `script`), as an operator at a shell sees it.
    const cmd = [process.execPath, CLI, 'compliance', 'incident', 'notify', '--id', id, '--reason', 'go', '--wait'].map((a) => `'${a}'`).join(' ');
    const r = await run('script', ['-qec', `cd '${ROOT}' && ${cmd}`, '/dev/null'], cliEnv());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/notices \[[█░]+\] 100% \| 3\/3 notices/);
    expect(r.stdout).toContain('3 notice(s) queued');
    expect(r.stdout).toMatch(/notices: 3 selected, 3 queued, 3 sent, 0 failed, 0 pending/);
    // When it returned, every notice had been sent: no waiting needed here.
    for (const p of people) expect(smtp.messages.some((m) => m.envelopeTo.includes(p.email.toLowerCase()))).toBe(true);
  }, 90_000);

  it('notify --wait exits 1 with one warning line when a notice is given up (an erased person listed by id)', async () => {
    const [kept, gone] = await Promise.all([signedIn(gw), signedIn(gw)]);
    const id = await opened();
    await post(`/${id}/select`, { by: 'users', userIds: [kept.userId, gone.userId], ...reason });
    await post(`/${id}/confirm`, reason);
    await erase(gone.userId);
    const r = await tollgate('compliance', 'incident', 'notify', '--id', id, '--reason', 'go', '--wait');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/notices: 2 selected, 2 queued, 1 sent, 1 failed, 0 pending/);
    expect(r.stderr).toMatch(/^warning: 1 notice\(s\) could not be sent and were given up; `tollgate compliance incident report` lists the outcome\n$/);
    // Without --wait the queueing alone is the answer: exit 0 (nothing new queued here).
    expect(await tollgate('compliance', 'incident', 'notify', '--id', id, '--reason', 'again')).toMatchObject({ code: 0 });
  }, 90_000);
});
