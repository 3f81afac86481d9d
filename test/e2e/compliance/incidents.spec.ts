/**
 * Breach incidents end to end (issue 21): the booted app on a fresh database, staff signed in
 * with the compliance role, a real SMTP server (smtp-server), the notice sender built from the
 * app's own parts (the worker's; the kill test runs the worker process itself), and the built
 * CLI. Each verb's happy path and its abuse cases; the 72-hour clock through the CLOCK port.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsersService } from '../../../src/accounts/application/users.service';
import { StaffAudit } from '../../../src/audit/application/staff-audit.service';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { IncidentsRepository } from '../../../src/compliance/incidents/application/incidents.repository';
import { IncidentsService } from '../../../src/compliance/incidents/application/incidents.service';
import { NoticeSender } from '../../../src/compliance/incidents/application/notice-sender';
import { NoticesQueue } from '../../../src/compliance/incidents/application/notices-queue';
import { Clock, systemClock } from '../../../src/platform/clock';
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { Mailer } from '../../../src/platform/mail/mailer';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

type Json = Record<string, any>;
const H = 3_600_000;

const facts = (over: Json = {}): Json => ({
  title: 'Backup bucket readable',
  nature: 'A storage bucket holding a database backup was readable from the internet for 6 hours.',
  dataCategories: ['email', 'payment_records'],
  peopleCategories: ['account holders'],
  approxPeople: 1200,
  approxRecords: 45000,
  consequences: 'Phishing mails that look like ours.',
  measures: 'The bucket is private again; keys rotated.',
  contact: 'dpo@tollgate.example',
  ...over,
});

describe('breach incidents (booted app, real SMTP, built CLI, real Postgres and Redis)', () => {
  let gw: Gateway;
  let smtp: SmtpReceiver;
  let staff: SignedIn;
  let support: SignedIn;
  let store: EventStore;
  let sender: NoticeSender;
  const tollgate = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], { DATABASE_URL: gw.db.url, REDIS_KEY_PREFIX: gw.config.REDIS_KEY_PREFIX, SMTP_URL: smtp.url });

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    gw = await startGateway({ env: { SMTP_URL: smtp.url, INCIDENT_NOTICE_RETRY_SECONDS: '1' } });
    store = gw.app.get(EVENT_STORE);
    const users = gw.app.get(UsersService);
    const grant = async (role: 'compliance' | 'support', tag: string) => {
      const email = uniqueEmail(tag);
      const first = await signedIn(gw, email);
      await users.execute(first.userId, { type: 'GrantRole', data: { role, by: 'cli:test', reason: 'incident tests' } }, 'cli:test');
      return signedIn(gw, email); // a session made after the grant
    };
    staff = await grant('compliance', 'dpo');
    support = await grant('support', 'support');
    // The worker's sender, made of the app's own parts (the API process does not run it).
    sender = new NoticeSender(gw.config, systemClock, store, gw.app.get(IncidentsRepository, { strict: false }), users, new Mailer(gw.config, systemClock));
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await smtp?.close();
  });

  const post = (path: string, body: unknown, who = staff) => who.fetch(`/staff/incidents${path}`, { method: 'POST', body });
  const get = (path: string, who = staff) => who.fetch(`/staff/incidents${path}`);
  const json = async (res: Response): Promise<Json> => (await res.json()) as Json;
  const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
  const opened = async (over: Json = {}): Promise<string> => {
    const res = await post('', facts(over));
    const b = await json(res);
    if (res.status !== 201) throw new Error(`open answered ${res.status}: ${JSON.stringify(b)}`);
    return b.id as string;
  };
  const reason = { reason: 'confirmed by the security team' };
  const mailsFor = (messageId: string) => smtp.messages.filter((m) => m.headers['message-id'] === messageId);

  it('opens, previews, selects, confirms, notifies, sends, reports and closes, every step audited', async () => {
    const people = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw)]);
    const id = await opened();
    const preview = await json(await get(`/${id}/preview`));
    expect(preview.subject).toContain('Backup bucket readable');
    expect(preview.text).toContain('What happened');
    expect(preview.text).toContain('your email address');

    const sel = await json(await post(`/${id}/select`, { by: 'users', userIds: people.map((p) => p.userId), ...reason }));
    expect(sel).toMatchObject({ added: 3, incident: { selected: 3, status: 'open' } });
    // The same people again add nobody: each person once per incident.
    expect(await errorOf(await post(`/${id}/select`, { by: 'users', userIds: [people[0].userId], ...reason }))).toEqual([409, 'selection_empty']);

    const confirmed = await json(await post(`/${id}/confirm`, reason));
    expect(confirmed).toMatchObject({ status: 'confirmed', confirmedBy: staff.userId });
    const notified = await json(await post(`/${id}/notify`, reason));
    expect(notified).toMatchObject({ queued: 3, incident: { queued: 3 } });
    expect(await json(await post(`/${id}/notify`, reason))).toMatchObject({ queued: 0 }); // again: nothing new

    expect(await sender.sendDue()).toEqual({ sent: 3, failed: 0 });
    for (const p of people) {
      const mail = await smtp.messageTo(p.email);
      expect(mail.subject).toContain('security incident');
      expect(mail.text).toContain('A storage bucket holding a database backup');
      expect(mail.text).toContain('dpo@tollgate.example');
      expect(mail.headers['message-id']).toMatch(/^<incident-notice-[0-9a-f-]{36}@127\.0\.0\.1>$/);
    }
    const status = await json(await get(`/${id}`));
    expect(status.notices).toMatchObject({ selected: 3, queued: 3, sent: 3, failed: 0, pending: 0, unsent: 0 });
    expect(status.clock).toMatchObject({ warning: null, unsent: 0 });
    expect(status.clock.msLeft).toBeGreaterThan(71 * H);

    const report = await json(await get(`/${id}/report`));
    expect(report.art33).toMatchObject({ natureOfBreach: facts().nature, approximateNumberOfDataSubjects: 1200, contactPoint: 'dpo@tollgate.example' });
    expect(report.notices).toMatchObject({ affectedSelected: 3, sent: 3, failed: 0, allSentWithinDeadline: true });
    const md = await get(`/${id}/report?format=markdown`);
    expect(md.headers.get('content-type')).toMatch(/text\/markdown/);
    expect(await md.text()).toContain('## Art. 33(3)(c): likely consequences');

    const closed = await json(await post(`/${id}/close`, { reason: 'all notified; authority informed' }));
    expect(closed).toMatchObject({ status: 'closed', summary: 'all notified; authority informed' });
    expect(await errorOf(await post(`/${id}/select`, { by: 'everyone', ...reason }))).toEqual([409, 'incident_closed']);

    // The stream: the staff steps and one NoticeSent per person; no address in any event.
    const { rows } = await gw.db.pool.query<{ type: string; data: string }>('SELECT type, data::text AS data FROM events WHERE stream_id = $1 ORDER BY stream_version', [`incident-${id}`]);
    expect(rows.map((r) => r.type)).toEqual(['IncidentOpened', 'AffectedSelected', 'IncidentConfirmed', 'NoticesQueued', 'NoticeSent', 'NoticeSent', 'NoticeSent', 'IncidentClosed']);
    for (const p of people) expect(rows.map((r) => r.data).join('\n')).not.toContain(p.email);
    const audit = await gw.db.pool.query<{ action: string; actor: string }>(`SELECT action, actor FROM staff_audit WHERE details->>'incidentId' = $1 ORDER BY occurred_at`, [id]);
    expect(audit.rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['incidents.open', 'incidents.select', 'incidents.confirm', 'incidents.notify', 'incidents.report', 'incidents.close']),
    );
    expect(new Set(audit.rows.map((r) => r.actor))).toEqual(new Set([staff.userId]));
  }, 60_000);

  it('selects by activity window, by data category and everyone; a selection of nobody or of unknown ids is refused', async () => {
    const id = await opened();
    const before = new Date(Date.now() - 60_000).toISOString();
    const person = await signedIn(gw); // a session now: active in the window
    const to = new Date(Date.now() + 60_000).toISOString();
    const byActivity = await json(await post(`/${id}/select`, { by: 'activity', from: before, to, ...reason }));
    expect(byActivity.added).toBeGreaterThanOrEqual(1);
    const rows = await gw.db.pool.query('SELECT 1 FROM incident_notices WHERE incident_id = $1 AND user_id = $2', [id, person.userId]);
    expect(rows.rowCount).toBe(1);
    expect(await errorOf(await post(`/${id}/select`, { by: 'activity', from: '1990-01-01T00:00:00Z', to: '1990-01-02T00:00:00Z', ...reason }))).toEqual([409, 'selection_empty']);
    expect(await errorOf(await post(`/${id}/select`, { by: 'activity', from: to, to: before, ...reason }))).toEqual([400, 'validation_failed']);
    const unknown = await post(`/${id}/select`, { by: 'users', userIds: [person.userId, randomUUID()], ...reason });
    expect(await errorOf(unknown)).toEqual([400, 'unknown_people']);

    const { rows: all } = await gw.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM users');
    // Everyone here signed in within the window, so the category may add nobody more (409 selection_empty).
    const byIpAnswer = await post(`/${id}/select`, { by: 'data_category', category: 'ip_address', ...reason });
    expect([200, 409]).toContain(byIpAnswer.status);
    const byIp = byIpAnswer.status === 200 ? await json(byIpAnswer) : { added: 0 };
    // Everyone at once from three staff members: each person is added once.
    const everyone = await Promise.all([1, 2, 3].map(() => post(`/${id}/select`, { by: 'everyone', ...reason })));
    const added = await Promise.all(everyone.map(async (r) => (r.status === 200 ? (await json(r)).added : 0)));
    const status = await json(await get(`/${id}`));
    expect(status.notices.selected).toBe(Number(all[0].n));
    expect(byActivity.added + byIp.added + added.reduce((a: number, b: number) => a + b, 0)).toBe(Number(all[0].n));
    expect(status.incident.selected).toBe(Number(all[0].n)); // the stream agrees with the table
  }, 60_000);

  it('refuses: confirm twice, notify before confirm or with nobody, unknown incident, other roles, bad and huge fields', async () => {
    const id = await opened();
    expect(await errorOf(await post(`/${id}/notify`, reason))).toEqual([409, 'incident_not_confirmed']);
    // Five confirmations at once: one starts the clock, the others are told it runs already.
    const confirms = await Promise.all([1, 2, 3, 4, 5].map(() => post(`/${id}/confirm`, reason)));
    expect(confirms.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    expect(await errorOf(await post(`/${id}/confirm`, reason))).toEqual([409, 'incident_already_confirmed']);
    expect(await errorOf(await post(`/${id}/notify`, reason))).toEqual([409, 'nobody_selected']);
    const { rows } = await gw.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE stream_id = $1 AND type = 'IncidentConfirmed'`, [`incident-${id}`]);
    expect(Number(rows[0].n)).toBe(1);

    const nobody = randomUUID();
    expect(await errorOf(await get(`/${nobody}`))).toEqual([404, 'incident_not_found']);
    expect(await errorOf(await post(`/${nobody}/confirm`, reason))).toEqual([404, 'incident_not_found']);
    expect(await errorOf(await get(`/${nobody}/report`))).toEqual([404, 'incident_not_found']);
    expect(await errorOf(await get('/not-a-uuid'))).toEqual([400, 'validation_failed']);

    expect((await post('', facts(), support)).status).toBe(403);
    expect((await get(`/${id}`, support)).status).toBe(403);
    const plain = await signedIn(gw);
    expect((await post(`/${id}/confirm`, reason, plain)).status).toBe(403);
    expect((await fetch(`${gw.url}/staff/incidents/${id}`)).status).toBe(401);

    const bad: Array<[Json, string]> = [
      [facts({ nature: 'x'.repeat(5001) }), 'nature'],
      [facts({ title: 'two\nlines' }), 'title'],
      [facts({ title: '' }), 'title'],
      [facts({ approxPeople: -1 }), 'approxPeople'],
      [facts({ approxPeople: 1.5 }), 'approxPeople'],
      [facts({ approxRecords: 1e13 }), 'approxRecords'],
      [facts({ approxPeople: '12' }), 'approxPeople'],
      [facts({ dataCategories: ['email', 'email'] }), 'dataCategories'],
      [facts({ dataCategories: ['shoe_size'] }), 'dataCategories'],
      [facts({ dataCategories: [] }), 'dataCategories'],
      [facts({ peopleCategories: Array.from({ length: 11 }, (_, i) => `c${i}`) }), 'peopleCategories'],
      [facts({ contact: undefined }), 'contact'],
      [facts({ measures: 'bell\u0007' }), 'measures'],
      [facts({ detectedAt: 'yesterday' }), 'detectedAt'],
      [{ ...facts(), extra: 1 }, 'extra'],
    ];
    for (const [body, field] of bad) {
      const res = await post('', body);
      const b = await json(res);
      expect([res.status, b.error.code, field]).toEqual([400, 'validation_failed', field]);
      expect(b.error.message).toContain(field);
    }
    expect(await errorOf(await post('', facts({ detectedAt: new Date(Date.now() + 3 * H).toISOString() })))).toEqual([400, 'invalid_incident']);
    expect(await errorOf(await post(`/${id}/confirm`, {}))).toEqual([400, 'validation_failed']);
    expect(await errorOf(await post(`/${id}/select`, { by: 'users', userIds: Array.from({ length: 10_001 }, () => randomUUID()), ...reason }))).toEqual([400, 'validation_failed']);
    expect(await errorOf(await post(`/${id}/select`, { by: 'users', userIds: ['nope'], ...reason }))).toEqual([400, 'validation_failed']);
    expect(await errorOf(await post(`/${id}/select`, { by: 'somebody', ...reason }))).toEqual([400, 'validation_failed']);
    expect(await errorOf(await post(`/${id}/select`, { by: 'data_category', category: 'shoe_size', ...reason }))).toEqual([400, 'validation_failed']);
    const huge = await staff.fetch(`/staff/incidents`, { method: 'POST', body: JSON.stringify({ ...facts(), nature: 'x'.repeat(20 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } });
    expect([400, 413]).toContain(huge.status);
    // Nothing of the refused openings was written.
    const { rows: opens } = await gw.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM incidents WHERE incident_id <> ALL($1::uuid[])`, [[id]]);
    expect(Number(opens[0].n)).toBeLessThanOrEqual(3); // the two earlier tests' incidents only
  }, 60_000);

  it('status: time left on the 72-hour clock, a warning under 24 hours with notices unsent, overdue after 72 (clock moved)', async () => {
    let now = new Date();
    const clock: Clock = { now: () => now };
    const moved = new IncidentsService(store, clock, gw.app.get(IncidentsRepository, { strict: false }), gw.app.get(StaffAudit), gw.app.get(NoticesQueue, { strict: false }));
    const step = { actor: 'cli:test', reason: 'clock test' };
    const person = await signedIn(gw);
    const incident = await moved.open(facts() as never, step);
    const id = incident.incidentId;
    await moved.select(id, { by: 'users', userIds: [person.userId] }, step);
    expect((await moved.status(id)).clock).toMatchObject({ deadline: null, warning: expect.stringMatching(/not confirmed/) });
    await moved.confirm(id, step);
    const confirmedAt = now.getTime();
    now = new Date(confirmedAt + 47 * H);
    expect((await moved.status(id)).clock).toMatchObject({ msLeft: 25 * H, warning: null, unsent: 1 });
    now = new Date(confirmedAt + 49 * H);
    expect((await moved.status(id)).clock.warning).toMatch(/less than 24 hours left \(23 h 00 min\) and 1 affected people not notified yet/);
    now = new Date(confirmedAt + 73 * H);
    expect((await moved.status(id)).clock.warning).toMatch(/deadline passed 1 h 00 min ago/);
    // Through the API and the CLI, at the real time: the clock runs, no warning yet.
    expect((await json(await get(`/${id}`))).clock).toMatchObject({ warning: null });
    const cli = await tollgate('compliance', 'incident', 'status', '--id', id);
    expect(cli).toMatchObject({ code: 0 });
    expect(cli.stdout).toMatch(/72-hour clock: confirmed .*, deadline .*, (71|72) h \d\d min left/);
    expect(cli.stdout).toContain('notices: 1 selected, 0 queued, 0 sent, 0 failed, 0 pending');
  }, 60_000);

  it('retries a refused notice with backoff and gives up on an erased person (no address), recording both', async () => {
    const [kept, erased] = await Promise.all([signedIn(gw), signedIn(gw)]);
    const id = await opened();
    await post(`/${id}/select`, { by: 'users', userIds: [kept.userId, erased.userId], ...reason });
    await post(`/${id}/confirm`, reason);
    await gw.app.get(PersonalDataVault).erase(erased.userId);
    smtp.refuseNext(1);
    expect((await json(await post(`/${id}/notify`, reason))).queued).toBe(2);
    const first = await sender.sendDue();
    expect(first).toEqual({ sent: 0, failed: 2 });
    expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 }); // the retry waits its backoff (1 s here)
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await sender.sendDue()).toEqual({ sent: 1, failed: 0 });
    const mail = await smtp.messageTo(kept.email);
    const status = await json(await get(`/${id}`));
    expect(status.notices).toMatchObject({ sent: 1, failed: 1, pending: 0 });
    const { rows } = await gw.db.pool.query<{ type: string; data: Json }>('SELECT type, data FROM events WHERE stream_id = $1 AND type LIKE $2 ORDER BY stream_version', [`incident-${id}`, 'Notice%']);
    expect(rows.map((r) => [r.type, r.data.userId, r.data.final ?? null, r.data.error ?? null])).toEqual(
      expect.arrayContaining([
        ['NoticeFailed', kept.userId, false, expect.stringMatching(/^mail_failed/)],
        ['NoticeFailed', erased.userId, true, 'no_address'],
        ['NoticeSent', kept.userId, null, null],
      ]),
    );
    expect(rows.find((r) => r.type === 'NoticeSent')!.data.messageId).toBe(mail.headers['message-id']);
    expect(mailsFor(mail.headers['message-id'])).toHaveLength(1);
    const report = await json(await get(`/${id}/report`));
    expect(report.notices).toMatchObject({ affectedSelected: 2, sent: 1, failed: 1, failedAttempts: 2 });
    expect(await json(await post(`/${id}/close`, { reason: 'one could not be reached: erased' }))).toMatchObject({ status: 'closed' });
  }, 60_000);

  it('the CLI: open, select, confirm, notify, preview, status, report (Markdown and --json), with one-line errors', async () => {
    const people = await Promise.all([signedIn(gw), signedIn(gw)]);
    const dir = mkdtempSync(join(tmpdir(), 'incident-'));
    const file = join(dir, 'facts.json');
    writeFileSync(file, JSON.stringify(facts({ title: 'from a file' })));
    const open = await tollgate('compliance', 'incident', 'open', '--facts', file, '--approx-people', '7', '--json');
    expect(open).toMatchObject({ code: 0 });
    const incident = JSON.parse(open.stdout).incident as Json;
    expect(incident).toMatchObject({ status: 'open', facts: { title: 'from a file', approxPeople: 7 }, openedBy: expect.stringMatching(/^cli:/) });
    const id = incident.id as string;

    const flags = await tollgate(
      'compliance', 'incident', 'open', '--title', 'by flags', '--nature', 'n', '--data-categories', 'email,ip_address', '--people-categories', 'account holders',
      '--approx-people', '3', '--approx-records', '9', '--consequences', 'c', '--measures', 'm', '--contact', 'dpo@x.example',
    );
    expect(flags).toMatchObject({ code: 0 });
    expect(flags.stdout).toMatch(/^incident [0-9a-f-]{36} {2}open {2}by flags/);

    expect((await tollgate('compliance', 'incident', 'notify', '--id', id, '--reason', 'r')).stderr).toMatch(/^error: .*not confirmed.*\(incident_not_confirmed\)\n$/);
    const sel = await tollgate('compliance', 'incident', 'select', '--id', id, '--users', people.map((p) => p.userId).join(','), '--reason', 'listed by support', '--json');
    expect(JSON.parse(sel.stdout)).toMatchObject({ added: 2 });
    expect(await tollgate('compliance', 'incident', 'confirm', '--id', id, '--reason', 'confirmed')).toMatchObject({ code: 0 });
    const twice = await tollgate('compliance', 'incident', 'confirm', '--id', id, '--reason', 'again');
    expect(twice).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: .*\(incident_already_confirmed\)\n$/) });
    const preview = await tollgate('compliance', 'incident', 'preview', '--id', id);
    expect(preview.stdout).toMatch(/^Subject: Important: a security incident/);
    const notify = await tollgate('compliance', 'incident', 'notify', '--id', id, '--reason', 'go', '--json');
    expect(JSON.parse(notify.stdout)).toMatchObject({ queued: 2 });
    await sender.sendDue();
    const status = JSON.parse((await tollgate('compliance', 'incident', 'status', '--id', id, '--json')).stdout) as Json;
    expect(status.notices).toMatchObject({ sent: 2, pending: 0 });
    const md = await tollgate('compliance', 'incident', 'report', '--id', id);
    expect(md).toMatchObject({ code: 0 });
    expect(md.stdout).toContain('# Personal data breach: from a file');
    expect(md.stdout).toContain('| 2 | 2 | 0 | 0 | 0 |');
    const report = JSON.parse((await tollgate('compliance', 'incident', 'report', '--id', id, '--json')).stdout) as Json;
    expect(report.notices).toMatchObject({ sent: 2, failed: 0 });
    expect(report.timeline.map((t: Json) => t.actor)).toEqual(expect.arrayContaining([expect.stringMatching(/^cli:/)]));
    const listed = JSON.parse((await tollgate('compliance', 'incident', 'list', '--json')).stdout) as Json;
    expect(listed.incidents.map((i: Json) => i.id)).toContain(id);

    const usage = await Promise.all([
      tollgate('compliance', 'incident', 'confirm', '--id', 'nope', '--reason', 'r'),
      tollgate('compliance', 'incident', 'select', '--id', id, '--reason', 'r'),
      tollgate('compliance', 'incident', 'select', '--id', id, '--reason', 'r', '--everyone', '--category', 'email'),
      tollgate('compliance', 'incident', 'open', '--title', 't'),
      tollgate('compliance', 'incident', 'select', '--id', id, '--reason', 'r', '--category', 'shoe_size'),
    ]);
    for (const u of usage) {
      expect(u.code).toBe(2);
      expect(u.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    const missing = await tollgate('compliance', 'incident', 'status', '--id', randomUUID());
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/\(incident_not_found\)/) });
  }, 120_000);

  it('a notice sent while its event cannot be written is recorded by the next run, and not sent again', async () => {
    const person = await signedIn(gw);
    const id = await opened();
    await post(`/${id}/select`, { by: 'users', userIds: [person.userId], ...reason });
    await post(`/${id}/confirm`, reason);
    await post(`/${id}/notify`, reason);
    // The event store refuses the incident's stream (as a failing disk or a lost connection would).
    await gw.db.pool.query(
      `CREATE FUNCTION refuse_incident() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.stream_id = 'incident-${id}' THEN RAISE EXCEPTION 'incident stream refused by the test'; END IF; RETURN NEW; END $$`,
    );
    await gw.db.pool.query('CREATE TRIGGER refuse_incident BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_incident()');
    try {
      await expect(sender.sendDue()).rejects.toThrow(/refused by the test/);
    } finally {
      await gw.db.pool.query('DROP TRIGGER refuse_incident ON events');
      await gw.db.pool.query('DROP FUNCTION refuse_incident()');
    }
    const mail = await smtp.messageTo(person.email);
    const { rows } = await gw.db.pool.query<{ recorded: boolean; sent: boolean }>('SELECT recorded, sent_at IS NOT NULL AS sent FROM incident_notices WHERE incident_id = $1', [id]);
    expect(rows).toEqual([{ recorded: false, sent: true }]);
    expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 }); // nothing sent again…
    const events = await gw.db.pool.query<{ data: Json }>(`SELECT data FROM events WHERE stream_id = $1 AND type = 'NoticeSent'`, [`incident-${id}`]);
    expect(events.rows.map((r) => r.data.messageId)).toEqual([mail.headers['message-id']]); // …and its event is in the log now
    expect(mailsFor(mail.headers['message-id'])).toHaveLength(1);
    expect((await json(await get(`/${id}/report`))).notices).toMatchObject({ sent: 1, pending: 0 });
  }, 60_000);

  it('leftovers of a sender killed between its append and marking its rows recorded, beside rows never written, are each recorded once', async () => {
    const [a, b] = [await signedIn(gw), await signedIn(gw)];
    const id = await opened();
    await post(`/${id}/select`, { by: 'users', userIds: [a.userId, b.userId], ...reason });
    await post(`/${id}/confirm`, reason);
    await post(`/${id}/notify`, reason);
    expect(await sender.sendDue()).toEqual({ sent: 2, failed: 0 });
    // A third person, whose notice goes out while its event cannot be written…
    const c = await signedIn(gw);
    await post(`/${id}/select`, { by: 'users', userIds: [c.userId], ...reason });
    await post(`/${id}/notify`, reason);
    await gw.db.pool.query(
      `CREATE FUNCTION refuse_notice() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.stream_id = 'incident-${id}' AND NEW.type = 'NoticeSent' THEN RAISE EXCEPTION 'notice refused by the test'; END IF; RETURN NEW; END $$`,
    );
    await gw.db.pool.query('CREATE TRIGGER refuse_notice BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_notice()');
    try {
      await expect(sender.sendDue()).rejects.toThrow(/refused by the test/);
    } finally {
      await gw.db.pool.query('DROP TRIGGER refuse_notice ON events');
      await gw.db.pool.query('DROP FUNCTION refuse_notice()');
    }
    // …and the first two as a sender killed after appending their events, before marking them, leaves them.
    await gw.db.pool.query('UPDATE incident_notices SET recorded = false WHERE incident_id = $1', [id]);
    expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 });
    const { rows: events } = await gw.db.pool.query<{ user_id: string; n: string }>(
      `SELECT data->>'userId' AS user_id, count(*)::text AS n FROM events WHERE stream_id = $1 AND type = 'NoticeSent' GROUP BY 1 ORDER BY 1`,
      [`incident-${id}`],
    );
    expect(events).toEqual([a, b, c].map((p) => ({ user_id: p.userId, n: '1' })).sort((x, y) => (x.user_id < y.user_id ? -1 : 1)));
    const { rows } = await gw.db.pool.query('SELECT 1 FROM incident_notices WHERE incident_id = $1 AND NOT recorded', [id]);
    expect(rows).toHaveLength(0);
    for (const p of [a, b, c]) expect(mailsFor((await smtp.messageTo(p.email)).headers['message-id'])).toHaveLength(1); // none sent again
  }, 60_000);

  it('documents the routes and their error codes in /openapi.json', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/staff/incidents',
        '/staff/incidents/{id}',
        '/staff/incidents/{id}/confirm',
        '/staff/incidents/{id}/select',
        '/staff/incidents/{id}/preview',
        '/staff/incidents/{id}/notify',
        '/staff/incidents/{id}/report',
        '/staff/incidents/{id}/close',
      ]),
    );
    expect(doc.paths['/staff/incidents/{id}/confirm'].post.tags).toEqual(['staff']);
    expect(Object.keys(doc.paths['/staff/incidents/{id}/notify'].post.responses)).toEqual(expect.arrayContaining(['400', '404', '409']));
  });

  it('leaves the log verifiable: `tollgate ledger verify` passes after all of the above', async () => {
    const verify = await tollgate('ledger', 'verify');
    expect(verify).toMatchObject({ code: 0 });
  }, 60_000);
});
