/**
 * THE breach-notice test (issue 21): 1,000 affected people, a real SMTP server (smtp-server),
 * the real worker process (dist/src/worker.js) killed with SIGKILL half-way through the fan-out,
 * then started again. Every person receives the notice; the only duplicates are notices that
 * were in flight at the kill (claimed, accepted by the SMTP server, not yet recorded), each
 * carrying the same Message-ID as its first copy; the incident stream has exactly one NoticeSent
 * per person.
 */
import { ChildProcess } from 'node:child_process';
import { UsersService } from '../../../src/accounts/application/users.service';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { spawnBuilt } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { TEST_REDIS_URL } from '../../support/test-env';
import { waitFor } from '../../support/wait';

const PEOPLE = 1000;
type Json = Record<string, any>;

describe('breach notices survive a kill -9 of the worker (1,000 people, real SMTP, the built worker process)', () => {
  let gw: Gateway;
  let smtp: SmtpReceiver;
  let staff: SignedIn;
  const workers: ChildProcess[] = [];
  const output: string[] = [];

  const startWorker = async (): Promise<ChildProcess> => {
    const mark = output.length;
    const child = spawnBuilt(
      'worker',
      {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: gw.db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: gw.config.REDIS_KEY_PREFIX,
        PUBLIC_URL: gw.config.PUBLIC_URL,
        SMTP_URL: smtp.url,
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'info',
        EVENTSTORE_URL: '',
        INCIDENT_NOTICE_SWEEP_SECONDS: '1',
        INCIDENT_NOTICE_LEASE_SECONDS: '3', // a dead sender's claims lapse after 3 s
        INCIDENT_NOTICE_RETRY_SECONDS: '1',
      },
      output,
    );
    workers.push(child);
    await waitFor(() => output.slice(mark).join('').includes('worker started'), 60_000, 'the worker to start');
    return child;
  };

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    gw = await startGateway({ env: { SMTP_URL: smtp.url } });
    const users = gw.app.get(UsersService);
    const email = uniqueEmail('dpo');
    const first = await signedIn(gw, email);
    await users.execute(first.userId, { type: 'GrantRole', data: { role: 'compliance', by: 'cli:test', reason: 'kill test' } }, 'cli:test');
    staff = await signedIn(gw, email);
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) {
      if (w.exitCode === null && w.signalCode === null) {
        w.kill('SIGTERM');
        await new Promise((r) => w.once('exit', r));
      }
    }
    await gw?.close();
    await smtp?.close();
  });

  it('every person receives the notice; duplicates are at most the notices in flight at the kill', async () => {
    const users = gw.app.get(UsersService);
    const people: Array<{ userId: string; email: string }> = [];
    for (let i = 0; i < PEOPLE; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, PEOPLE - i) }, () => users.registerByOperator(uniqueEmail('affected'), 'cli:test')));
      people.push(...batch.map((u) => ({ userId: u.userId, email: u.email! })));
    }
    const post = async (path: string, body: unknown): Promise<Json> => {
      const res = await staff.fetch(`/staff/incidents${path}`, { method: 'POST', body });
      const b = (await res.json()) as Json;
      if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(b)}`);
      return b;
    };
    const incident = await post('', {
      title: 'Database snapshot exposed',
      nature: 'A database snapshot was reachable without authentication.',
      dataCategories: ['email'],
      peopleCategories: ['account holders'],
      approxPeople: PEOPLE,
      approxRecords: PEOPLE,
      consequences: 'Unwanted mail.',
      measures: 'Snapshot deleted; access reviewed.',
      contact: 'dpo@tollgate.example',
    });
    const id = incident.id as string;
    const reason = { reason: 'kill test' };
    expect(await post(`/${id}/select`, { by: 'users', userIds: people.map((p) => p.userId), ...reason })).toMatchObject({ added: PEOPLE });
    await post(`/${id}/confirm`, reason);

    const worker = await startWorker();
    expect(await post(`/${id}/notify`, reason)).toMatchObject({ queued: PEOPLE });
    // Staff steps during the fan-out are not refused for the senders' appends to the same stream.
    await waitFor(() => smtp.messages.length >= 50, 60_000, 'the first notices');
    const late = await users.registerByOperator(uniqueEmail('affected-late'), 'cli:test');
    expect(await post(`/${id}/select`, { by: 'users', userIds: [late.userId], ...reason })).toMatchObject({ added: 1 });
    expect(await post(`/${id}/notify`, reason)).toMatchObject({ queued: 1 });
    people.push({ userId: late.userId, email: late.email! });
    await waitFor(() => smtp.messages.length >= PEOPLE / 2, 60_000, 'half of the notices');
    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    const atKill = smtp.messages.length;
    // In flight at the kill: claimed by the dead sender and not recorded as sent. Some of these
    // the SMTP server accepted (those are the possible duplicates), the rest it never saw.
    const { rows: flight } = await gw.db.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM incident_notices WHERE incident_id = $1 AND sent_at IS NULL AND claimed_until > now()',
      [id],
    );
    const inFlight = Number(flight[0].n);
    expect(atKill).toBeLessThan(PEOPLE); // killed half-way, not after the end
    const ALL = PEOPLE + 1;

    await startWorker();
    const wanted = new Set(people.map((p) => p.email.toLowerCase()));
    const received = () => new Set(smtp.messages.flatMap((m) => m.envelopeTo.map((t) => t.toLowerCase())).filter((t) => wanted.has(t)));
    await waitFor(() => received().size === ALL, 90_000, 'every person to receive the notice').catch((err: Error) => {
      // What the restarted worker said, to tell a stuck sender from a slow one.
      console.error(`received ${received().size} of ${ALL}; the workers' last output:\n${output.join('').slice(-4000)}`);
      throw err;
    });
    await waitFor(async () => {
      const r = await staff.fetch(`/staff/incidents/${id}`);
      return ((await r.json()) as Json).notices.pending === 0;
    }, 30_000, 'nothing pending');

    const notices = smtp.messages.filter((m) => m.envelopeTo.some((t) => wanted.has(t.toLowerCase())));
    const duplicates = notices.length - ALL;
    expect(duplicates).toBeGreaterThanOrEqual(0);
    expect(duplicates).toBeLessThanOrEqual(inFlight);
    // A second copy carries the first one's Message-ID; different people never share one.
    const idsByPerson = new Map<string, Set<string>>();
    for (const m of notices) {
      const to = m.envelopeTo[0].toLowerCase();
      idsByPerson.set(to, (idsByPerson.get(to) ?? new Set()).add(m.headers['message-id']));
    }
    expect([...idsByPerson.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...idsByPerson.values()].map((s) => [...s][0])).size).toBe(ALL);

    const status = (await (await staff.fetch(`/staff/incidents/${id}`)).json()) as Json;
    expect(status.notices).toMatchObject({ selected: ALL, queued: ALL, sent: ALL, failed: 0, pending: 0, unsent: 0 });
    await waitFor(async () => {
      const { rows } = await gw.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE stream_id = $1 AND type = 'NoticeSent'`, [`incident-${id}`]);
      return Number(rows[0].n) === ALL;
    }, 30_000, 'one NoticeSent event per person');
    const report = (await (await staff.fetch(`/staff/incidents/${id}/report`)).json()) as Json;
    expect(report.notices).toMatchObject({ affectedSelected: ALL, sent: ALL, failed: 0, allSentWithinDeadline: true });
    process.stdout.write(`kill test: ${atKill} received before the kill, ${inFlight} in flight at it, ${duplicates} duplicate(s)\n`);
    expect(output.join('')).not.toMatch(/"level":50/); // no error line from either worker
  }, 240_000);
});
