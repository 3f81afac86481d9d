/**
 * Data-subject requests end to end (issue 21): the booted app on a fresh database, people signed
 * in through the account API, compliance staff through the staff API, the official OpenAI SDK
 * through the proxy to the fake upstream, and the built CLI. After every scenario the ledger
 * verifies and the trial balance sums to zero (restriction moves no money).
 */
import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import OpenAI from 'openai';
import { UsersService } from '../../../src/accounts/application/users.service';
import { StaffAudit } from '../../../src/audit/application/staff-audit.service';
import { SubjectRequestsRepository } from '../../../src/compliance/requests/application/subject-requests.repository';
import { SubjectRequestsService } from '../../../src/compliance/requests/application/subject-requests.service';
import { DAY_MS } from '../../../src/compliance/requests/domain/subject-request';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { accountStream } from '../../../src/ledger/domain/events';
import { Clock } from '../../../src/platform/clock';
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

type Json = Record<string, any>;

describe('data-subject requests (booted app, fake upstream, built CLI, real Postgres and Redis)', () => {
  let gw: Gateway;
  let upstream: FakeUpstream;
  let staff: SignedIn;
  let ledger: LedgerService;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, ...args], { DATABASE_URL: gw.db.url });

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startGateway({ openai: upstream });
    ledger = gw.app.get(LedgerService);
    const email = uniqueEmail('compliance');
    const first = await signedIn(gw, email);
    await gw.app.get(UsersService).execute(first.userId, { type: 'GrantRole', data: { role: 'compliance', by: 'cli:test', reason: 'dsr tests' } }, 'cli:test');
    staff = await signedIn(gw, email); // a session made after the grant
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  afterEach(async () => {
    const [verify, tb] = await Promise.all([tollgate('ledger', 'verify'), tollgate('ledger', 'trial-balance', '--json')]);
    expect(verify).toMatchObject({ code: 0 });
    expect(JSON.parse(tb.stdout)).toMatchObject({ total: '0.000000', balanced: true });
  }, 60_000);

  const json = async (res: Response): Promise<Json> => (await res.json()) as Json;
  const errorOf = async (res: Response) => {
    const b = (await res.json()) as { error: { code: string; message: string } };
    return [res.status, b.error.code, b.error.message] as const;
  };
  async function ok(res: Response, status = 200): Promise<Json> {
    const b = await json(res);
    if (res.status !== status) throw new Error(`answered ${res.status}, expected ${status}: ${JSON.stringify(b)}`);
    return b;
  }
  const ask = (who: SignedIn, body: unknown) => who.fetch('/api/me/requests', { method: 'POST', body });
  const staffPost = (path: string, body: unknown) => staff.fetch(path, { method: 'POST', body });
  const close = (id: string, body: unknown = { outcome: 'fulfilled', note: 'sent the copy by email' }) => staffPost(`/staff/requests/${id}/close`, body);
  const restrict = (id: string) => staffPost(`/staff/requests/${id}/restrict`, { reason: 'accuracy contested' });
  const lift = (id: string) => staffPost(`/staff/requests/${id}/lift`, { reason: 'correction made' });
  const streamTypes = async (stream: string) =>
    (await gw.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [stream])).rows.map((r) => r.type);
  const audited = async (action: string, subject: string) =>
    (await gw.db.pool.query<{ actor: string; details: Json }>('SELECT actor, details FROM staff_audit WHERE action = $1 AND subject_user_id = $2', [action, subject])).rows;

  /** A service of the same app whose clock is moved by `days` (CLOCK injection). */
  function movedService(days: number): SubjectRequestsService {
    const clock: Clock = { now: () => new Date(Date.now() + days * DAY_MS) };
    return new SubjectRequestsService(
      gw.app.get<EventStore>(EVENT_STORE),
      clock,
      gw.app.get(CommandBus),
      gw.app.get(UsersService),
      gw.app.get(SubjectRequestsRepository),
      gw.app.get(StaffAudit),
      gw.app.get(PersonalDataVault),
      gw.app.get(LedgerService),
    );
  }

  it('a person makes requests of every kind, due in 30 days, details stored sealed; lists and reads only their own', async () => {
    const person = await signedIn(gw);
    const other = await signedIn(gw);
    const made: Json[] = [];
    for (const kind of ['access', 'export', 'correction', 'deletion', 'restriction']) made.push(await ok(await ask(person, { kind, details: `my ${kind} request, canary-dsr-details` }), 201));
    const r = made[0];
    expect(r).toMatchObject({ kind: 'access', status: 'open', openedBySelf: true, daysLeft: 30, overdue: false, outcome: null, restricted: false, details: 'my access request, canary-dsr-details' });
    expect(Date.parse(r.dueAt) - Date.parse(r.openedAt)).toBe(30 * DAY_MS);
    const noDetails = await ok(await ask(person, { kind: 'access' }), 201);
    expect(noDetails.details).toBeNull();

    const mine = await ok(await person.fetch('/api/me/requests'));
    expect(mine.data.map((x: Json) => x.id)).toEqual([noDetails.id, ...made.map((x) => x.id).reverse()]);
    expect(await ok(await person.fetch(`/api/me/requests/${r.id}`))).toMatchObject({ id: r.id, details: 'my access request, canary-dsr-details' });
    // Paged: 2 at a time, nothing repeated or lost.
    const p1 = await ok(await person.fetch('/api/me/requests?limit=2'));
    const p2 = await ok(await person.fetch(`/api/me/requests?limit=2&cursor=${p1.nextCursor}`));
    expect([...p1.data, ...p2.data].map((x: Json) => x.id)).toEqual(mine.data.slice(0, 4).map((x: Json) => x.id));

    // Another person's request is not found, as one that does not exist; their list is theirs.
    expect((await errorOf(await other.fetch(`/api/me/requests/${r.id}`))).slice(0, 2)).toEqual([404, 'subject_request_not_found']);
    expect((await errorOf(await other.fetch(`/api/me/requests/${randomUUID()}`))).slice(0, 2)).toEqual([404, 'subject_request_not_found']);
    expect((await ok(await other.fetch('/api/me/requests'))).data).toEqual([]);

    // The details are nowhere in clear: not in the events, not in the row.
    const inEvents = await gw.db.pool.query("SELECT 1 FROM events WHERE data::text LIKE '%canary-dsr-details%'");
    expect(inEvents.rowCount).toBe(0);
    const row = await gw.db.pool.query<{ details: string; due_at: Date }>('SELECT details, due_at FROM subject_requests WHERE request_id = $1', [r.id]);
    expect(row.rows[0].details).toMatch(/^v1:/);
    expect(await streamTypes(`dsr-${r.id}`)).toEqual(['SubjectRequestOpened']);
  }, 60_000);

  it('refuses bad input with 400 naming the field: unknown kind, details too long, control characters, unknown fields, bad ids, bad cursor', async () => {
    const person = await signedIn(gw);
    const bad = async (body: unknown) => errorOf(await ask(person, body));
    expect(await bad({ kind: 'everything' })).toEqual([400, 'validation_failed', expect.stringMatching(/^kind: must be one of access, export, correction, deletion, restriction/)]);
    expect(await bad({})).toEqual([400, 'validation_failed', expect.stringMatching(/^kind:/)]);
    expect(await bad({ kind: 'access', details: 'x'.repeat(2001) })).toEqual([400, 'validation_failed', 'details: must be at most 2000 characters']);
    expect(await bad({ kind: 'access', details: 'x'.repeat(1_000_000) })).toEqual([400, 'validation_failed', 'details: must be at most 2000 characters']);
    expect(await bad({ kind: 'access', details: 'a\u0000b' })).toEqual([400, 'validation_failed', 'details: must not contain control characters']);
    expect(await bad({ kind: 'access', details: '   ' })).toEqual([400, 'validation_failed', expect.stringMatching(/^details: is required/)]);
    expect(await bad({ kind: 'access', userId: randomUUID() })).toEqual([400, 'validation_failed', 'body: unknown field userId']);
    expect(await bad({ kind: 42 })).toEqual([400, 'validation_failed', expect.stringMatching(/^kind:/)]);
    expect((await errorOf(await person.fetch('/api/me/requests/not-a-uuid')))[0]).toBe(400);
    expect((await errorOf(await person.fetch('/api/me/requests?cursor=garbage!')))[0]).toBe(400);
    const raw = await person.fetch('/api/me/requests', { method: 'POST', body: '{"kind":', headers: { 'content-type': 'application/json' } });
    expect((await errorOf(raw)).slice(0, 2)).toEqual([400, 'invalid_json']);
    expect((await ok(await person.fetch('/api/me/requests'))).data).toEqual([]); // nothing was recorded
    // Not signed in: 401; signed in without the compliance role: 403 on staff routes.
    expect((await fetch(`${gw.url}/api/me/requests`)).status).toBe(401);
    expect((await person.fetch('/staff/requests')).status).toBe(403);
    expect((await person.fetch(`/staff/users/${person.userId}/requests`, { method: 'POST', body: { kind: 'access' } })).status).toBe(403);
  }, 60_000);

  it('staff record one for a person, list it with due date and days left, close it once (audited); closing twice is 409', async () => {
    const person = await signedIn(gw);
    const r = await ok(await staffPost(`/staff/users/${person.userId}/requests`, { kind: 'export', details: 'asked by letter', reason: 'letter of 3 March' }), 201);
    expect(r).toMatchObject({ kind: 'export', userId: person.userId, accountId: person.accountId, openedBy: staff.userId, openedBySelf: false, daysLeft: 30 });
    expect((await errorOf(await staffPost(`/staff/users/${randomUUID()}/requests`, { kind: 'export' }))).slice(0, 2)).toEqual([404, 'user_not_found']);
    // The person sees it among their own.
    expect((await ok(await person.fetch('/api/me/requests'))).data.map((x: Json) => x.id)).toEqual([r.id]);

    const list = await ok(await staff.fetch('/staff/requests?status=open'));
    expect(list.data.find((x: Json) => x.id === r.id)).toMatchObject({ status: 'open', daysLeft: 30, overdue: false, dueAt: r.dueAt, details: 'asked by letter' });
    expect(list.open).toBeGreaterThanOrEqual(1);
    expect((await errorOf(await staff.fetch('/staff/requests?status=nope')))[0]).toBe(400);
    expect((await errorOf(await staff.fetch('/staff/requests?overdue=maybe')))[0]).toBe(400);

    const closed = await ok(await close(r.id, { outcome: 'fulfilled', note: 'export sent to the address on file' }));
    expect(closed).toMatchObject({ status: 'closed', outcome: 'fulfilled', note: 'export sent to the address on file', closedBy: staff.userId, daysLeft: null, overdue: false });
    expect((await errorOf(await close(r.id))).slice(0, 2)).toEqual([409, 'subject_request_closed']);
    expect((await errorOf(await staffPost(`/staff/requests/${r.id}/decline`, { reason: 'late' }))).slice(0, 2)).toEqual([409, 'subject_request_closed']);
    expect(await streamTypes(`dsr-${r.id}`)).toEqual(['SubjectRequestOpened', 'SubjectRequestClosed']);
    expect((await ok(await person.fetch(`/api/me/requests/${r.id}`))).note).toBe('export sent to the address on file');

    // Bad closes: 400 naming the field; unknown request 404; wrong outcome for the kind 400.
    const other = await ok(await ask(person, { kind: 'access' }), 201);
    expect(await errorOf(await close(other.id, { outcome: 'done', note: 'x' }))).toEqual([400, 'validation_failed', expect.stringMatching(/^outcome: must be one of/)]);
    expect(await errorOf(await close(other.id, { outcome: 'fulfilled' }))).toEqual([400, 'validation_failed', expect.stringMatching(/^note: is required/)]);
    expect(await errorOf(await close(other.id, { outcome: 'fulfilled', note: 'x'.repeat(1001) }))).toEqual([400, 'validation_failed', 'note: must be at most 1000 characters']);
    expect((await errorOf(await close(randomUUID()))).slice(0, 2)).toEqual([404, 'subject_request_not_found']);
    expect((await errorOf(await close(other.id, { outcome: 'restricted', note: 'x' }))).slice(0, 2)).toEqual([400, 'invalid_outcome']);
    const declined = await ok(await staffPost(`/staff/requests/${other.id}/decline`, { reason: 'manifestly unfounded: repeated request' }));
    expect(declined).toMatchObject({ status: 'declined', outcome: null, note: 'manifestly unfounded: repeated request' });

    // Every staff step is in the audit trail, with its actor.
    for (const action of ['compliance.requests.open', 'compliance.requests.close', 'compliance.requests.decline']) {
      expect(await audited(action, person.userId)).toEqual([expect.objectContaining({ actor: staff.userId })]);
    }
    const listed = await gw.db.pool.query("SELECT 1 FROM staff_audit WHERE action = 'compliance.requests.list' AND actor = $1", [staff.userId]);
    expect(listed.rowCount).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a staff step whose audit entry cannot be written is not carried out; the routes are in the OpenAPI document', async () => {
    const person = await signedIn(gw);
    const r = await ok(await ask(person, { kind: 'restriction' }), 201);
    await gw.db.pool.query(
      `CREATE FUNCTION refuse_dsr_audit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.stream_id LIKE 'audit-%' THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`,
    );
    await gw.db.pool.query('CREATE TRIGGER refuse_dsr_audit BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_dsr_audit()');
    try {
      expect((await close(r.id)).status).toBeGreaterThanOrEqual(500);
      expect((await restrict(r.id)).status).toBeGreaterThanOrEqual(500);
      const shown = await staff.fetch(`/staff/requests/${r.id}`);
      expect(shown.status).toBeGreaterThanOrEqual(500);
      expect(await shown.text()).not.toContain(r.id); // not shown unrecorded
    } finally {
      await gw.db.pool.query('DROP TRIGGER refuse_dsr_audit ON events');
      await gw.db.pool.query('DROP FUNCTION refuse_dsr_audit()');
    }
    expect(await streamTypes(`dsr-${r.id}`)).toEqual(['SubjectRequestOpened']);
    expect((await ledger.load(person.accountId)).state.restrictions.size).toBe(0);

    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/me/requests', '/api/me/requests/{id}', '/staff/users/{id}/requests', '/staff/requests', '/staff/requests/{id}', '/staff/requests/{id}/close', '/staff/requests/{id}/decline', '/staff/requests/{id}/restrict', '/staff/requests/{id}/lift']),
    );
    expect(Object.keys(doc.paths['/staff/requests/{id}/close'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409']));
  }, 60_000);

  it('concurrent closes: exactly one wins, the others are told 409; one Closed event', async () => {
    const person = await signedIn(gw);
    const r = await ok(await ask(person, { kind: 'deletion' }), 201);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => close(r.id, { outcome: i % 2 ? 'fulfilled' : 'no_data_held', note: `closer ${i}` })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
    expect(await streamTypes(`dsr-${r.id}`)).toEqual(['SubjectRequestOpened', 'SubjectRequestClosed']);
    const row = await gw.db.pool.query<{ status: string; version: bigint }>('SELECT status, version FROM subject_requests WHERE request_id = $1', [r.id]);
    expect(row.rows[0]).toEqual({ status: 'closed', version: 2n });
  }, 60_000);

  it('overdue is computed with the clock: a request opened 31 days ago is flagged in the API and the CLI; closing it clears the flag', async () => {
    const person = await signedIn(gw);
    const old = await movedService(-31).open({ userId: person.userId, kind: 'access', details: 'opened long ago', actor: 'self' });
    const fresh = await ok(await ask(person, { kind: 'export' }), 201);

    const overdue = await ok(await staff.fetch('/staff/requests?overdue=true&limit=200'));
    const flagged = overdue.data.find((x: Json) => x.id === old.requestId);
    expect(flagged).toMatchObject({ overdue: true, daysLeft: -1, status: 'open' });
    expect(overdue.data.every((x: Json) => x.overdue)).toBe(true);
    expect(overdue.data.find((x: Json) => x.id === fresh.id)).toBeUndefined();
    expect(overdue.overdue).toBeGreaterThanOrEqual(1);

    // Moved 31 days ahead, the fresh one is overdue too (the same rows, another instant).
    const later = movedService(31);
    const ahead = await later.list({ overdueAt: later.now() }, 200, null);
    expect(ahead.map((x) => x.requestId)).toEqual(expect.arrayContaining([old.requestId, fresh.id]));

    const cli = await tollgate('compliance', 'requests', 'list', '--overdue', '--json');
    expect(cli.code).toBe(1); // overdue requests exist: a cron job can alert on it
    const printed = JSON.parse(cli.stdout) as Json;
    expect(printed.requests.find((x: Json) => x.id === old.requestId)).toMatchObject({ overdue: true, daysLeft: -1 });
    const human = await tollgate('compliance', 'requests', 'list', '--overdue');
    expect(human.stdout).toMatch(new RegExp(`${old.requestId}.*OVERDUE by 1 day`));

    await ok(await close(old.requestId, { outcome: 'fulfilled', note: 'answered late' }));
    const after = await ok(await staff.fetch('/staff/requests?overdue=true&limit=200'));
    expect(after.data.find((x: Json) => x.id === old.requestId)).toBeUndefined();
  }, 90_000);

  it('restriction stops proxy use (403 account_restricted through the OpenAI SDK) but not sign-in, reads or requests; applying twice is one; lift restores it', async () => {
    const email = uniqueEmail('restricted');
    const person = await signedIn(gw, email);
    const { secret } = await gw.key(person.accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const chat = () => openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect((await chat()).choices[0].message.content).toContain('Hello from fake-openai'); // a free request
    // Credit, and a hold placed before the restriction (a request in flight).
    await ledger.execute(person.accountId, { type: 'GrantCredits', data: { grantId: 'dsr-test', amount: 5_000_000n, reason: 'test funds' } });
    const inFlight = randomUUID();
    await ledger.execute(person.accountId, { type: 'PlaceHold', data: { holdId: inFlight, amount: 1_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });

    const r = await ok(await ask(person, { kind: 'restriction', details: 'I contest the accuracy of my data' }), 201);
    const applied = await ok(await restrict(r.id));
    expect(applied).toMatchObject({ restricted: true, status: 'open' });
    const again = await ok(await restrict(r.id)); // twice: one restriction
    expect(again.restrictionId).toBe(applied.restrictionId);
    expect((await streamTypes(accountStream(person.accountId))).filter((t) => t.startsWith('AccountRestrict'))).toEqual(['AccountRestricted']);

    await expect(chat()).rejects.toMatchObject({ status: 403, error: expect.objectContaining({ code: 'account_restricted' }) });
    await expect(ledger.execute(person.accountId, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 1n, expiresAt: new Date(Date.now() + 60_000).toISOString() } })).rejects.toMatchObject({ code: 'account_restricted' });
    // The request already in flight is still billed.
    await ledger.execute(person.accountId, { type: 'SettleHold', data: { holdId: inFlight, amount: 400_000n } });
    // Not stopped: signing in again, reading, making requests.
    const again2 = await signedIn(gw, email);
    expect((await again2.fetch('/api/me')).status).toBe(200);
    expect((await ok(await again2.fetch(`/api/me/requests/${r.id}`))).restricted).toBe(true);
    await ok(await ask(again2, { kind: 'export' }), 201);

    const lifted = await ok(await lift(r.id));
    expect(lifted).toMatchObject({ restricted: false, restrictionId: null });
    expect((await chat()).choices[0].message.content).toContain('Hello from fake-openai');
    expect((await errorOf(await lift(r.id))).slice(0, 2)).toEqual([409, 'restriction_not_active']);
    expect((await streamTypes(accountStream(person.accountId))).filter((t) => t.startsWith('AccountRestrict'))).toEqual(['AccountRestricted', 'AccountRestrictionLifted']);
    expect(await streamTypes(`dsr-${r.id}`)).toEqual(['SubjectRequestOpened', 'SubjectRequestRestrictionApplied', 'SubjectRequestRestrictionLifted']);
    for (const action of ['compliance.requests.restrict', 'compliance.requests.lift']) expect((await audited(action, person.userId)).length).toBeGreaterThanOrEqual(1);

    // Restricted again later: a new restriction (a new id), and lifted again.
    const second = await ok(await restrict(r.id));
    expect(second.restrictionId).not.toBe(applied.restrictionId);
    await expect(chat()).rejects.toMatchObject({ status: 403 });
    await ok(await lift(r.id));
    await chat();
  }, 90_000);

  it('two instances: a restriction applied on one is refused on the other (it had the account cached), and a lift is seen there at once', async () => {
    const other = await startGateway({ openai: upstream, db: gw.db });
    try {
      const person = await signedIn(gw);
      await ledger.execute(person.accountId, { type: 'GrantCredits', data: { grantId: 'dsr-two', amount: 5_000_000n, reason: 'test funds' } });
      const { secret } = await gw.key(person.accountId);
      const there = new OpenAI({ baseURL: `${other.url}/v1`, apiKey: secret, maxRetries: 0 });
      const chat = () => there.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
      await chat(); // the other instance now holds the account's state in memory
      await chat();
      const r = await ok(await ask(person, { kind: 'restriction' }), 201);
      await ok(await restrict(r.id)); // on the first instance
      await expect(chat()).rejects.toMatchObject({ status: 403, error: expect.objectContaining({ code: 'account_restricted' }) });
      await ok(await lift(r.id));
      expect((await chat()).choices[0].message.content).toContain('Hello from fake-openai');
    } finally {
      await other.close();
    }
  }, 90_000);

  it('restriction as the outcome of a restriction request; lift on a closed request; lift without restriction is 409; concurrent restricts are one', async () => {
    const person = await signedIn(gw);
    const { secret } = await gw.key(person.accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const chat = () => openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

    const plain = await ok(await ask(person, { kind: 'access' }), 201);
    expect((await errorOf(await lift(plain.id))).slice(0, 2)).toEqual([409, 'restriction_not_active']);

    const r = await ok(await ask(person, { kind: 'restriction' }), 201);
    const closed = await ok(await close(r.id, { outcome: 'restricted', note: 'processing restricted while the complaint is handled' }));
    expect(closed).toMatchObject({ status: 'closed', outcome: 'restricted', restricted: true });
    await expect(chat()).rejects.toMatchObject({ status: 403, error: expect.objectContaining({ code: 'account_restricted' }) });
    // In force on a closed request: applying it again is the same restriction; lifting works.
    expect((await ok(await restrict(r.id))).restrictionId).toBe(closed.restrictionId);
    await ok(await lift(r.id));
    await chat();
    // Closed and lifted: no new restriction from it (409); a new request is needed.
    expect((await errorOf(await restrict(r.id))).slice(0, 2)).toEqual([409, 'subject_request_closed']);

    // Five restricts at once on one request: all answered, one restriction on the ledger.
    const r2 = await ok(await ask(person, { kind: 'restriction' }), 201);
    const answers = await Promise.all(Array.from({ length: 5 }, () => restrict(r2.id)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const ids = new Set(await Promise.all(answers.map(async (a) => (await json(a)).restrictionId)));
    expect(ids.size).toBe(1);
    expect(await streamTypes(`dsr-${r2.id}`)).toEqual(['SubjectRequestOpened', 'SubjectRequestRestrictionApplied']);
    const restrictions = (await streamTypes(accountStream(person.accountId))).filter((t) => t === 'AccountRestricted');
    expect(restrictions).toHaveLength(2); // the closed request's, and this one's
    await expect(chat()).rejects.toMatchObject({ status: 403 });
    await ok(await lift(r2.id));
    await chat();
  }, 90_000);

  it('the CLI: open, show, close (once), decline, restrict and lift; bad input is a usage error (exit 2)', async () => {
    const person = await signedIn(gw);
    const opened = await tollgate('compliance', 'requests', 'open', '--user', person.userId, '--kind', 'correction', '--details', 'my name is misspelt', '--reason', 'phone call', '--json');
    expect(opened).toMatchObject({ code: 0 });
    const r = JSON.parse(opened.stdout).request as Json;
    expect(r).toMatchObject({ kind: 'correction', details: 'my name is misspelt', status: 'open', daysLeft: 30, openedBy: expect.stringMatching(/^cli:/) });
    const byEmail = await tollgate('compliance', 'requests', 'open', '--email', person.email, '--kind', 'access', '--json');
    expect(byEmail).toMatchObject({ code: 0 });

    const shown = await tollgate('compliance', 'requests', 'show', r.id);
    expect(shown.stdout).toMatch(/correction.*open.*30 day\(s\) left/);
    const restricted = await tollgate('compliance', 'requests', 'restrict', r.id, '--reason', 'accuracy contested', '--json');
    if (restricted.code !== 0) throw new Error(`restrict: ${restricted.code} ${restricted.stderr}`);
    expect(JSON.parse(restricted.stdout).request.restricted).toBe(true);
    expect((await ledger.load(person.accountId)).state.restrictions.size).toBe(1);
    const lifted = await tollgate('compliance', 'requests', 'lift', r.id, '--reason', 'corrected');
    expect(lifted).toMatchObject({ code: 0 });
    expect((await ledger.load(person.accountId)).state.restrictions.size).toBe(0);
    const liftAgain = await tollgate('compliance', 'requests', 'lift', r.id, '--reason', 'again');
    expect(liftAgain.code).toBe(1);
    expect(liftAgain.stderr).toMatch(/\(restriction_not_active\)/);

    const closed = await tollgate('compliance', 'requests', 'close', r.id, '--outcome', 'fulfilled', '--note', 'name corrected', '--json');
    expect(closed).toMatchObject({ code: 0 });
    expect(JSON.parse(closed.stdout).request).toMatchObject({ status: 'closed', outcome: 'fulfilled', note: 'name corrected' });
    const twice = await tollgate('compliance', 'requests', 'close', r.id, '--outcome', 'fulfilled', '--note', 'again');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/^error: .*\(subject_request_closed\)\n$/);

    expect((await tollgate('compliance', 'requests', 'close', r.id, '--outcome', 'whatever', '--note', 'x')).code).toBe(2);
    expect((await tollgate('compliance', 'requests', 'close', 'not-a-uuid', '--outcome', 'fulfilled', '--note', 'x')).code).toBe(2);
    expect((await tollgate('compliance', 'requests', 'close', '--outcome', 'fulfilled', '--note', 'x')).code).toBe(2);
    expect((await tollgate('compliance', 'requests', 'open', '--user', person.userId, '--kind', 'everything')).code).toBe(2);
    expect((await tollgate('compliance', 'requests', 'list', '--status', 'nope')).code).toBe(2);
    expect((await tollgate('compliance', 'requests', 'open', '--user', person.userId, '--email', person.email, '--kind', 'access')).code).toBe(2);
    const nobody = await tollgate('compliance', 'requests', 'open', '--email', uniqueEmail('nobody'), '--kind', 'access');
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/no person has this email address/);
    const unknown = await tollgate('compliance', 'requests', 'show', randomUUID());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/subject_request_not_found/);

    const list = await tollgate('compliance', 'requests', 'list', '--status', 'closed', '--json');
    expect(list).toMatchObject({ code: 0 });
    expect((JSON.parse(list.stdout).requests as Json[]).map((x) => x.id)).toContain(r.id);
    const declined = await tollgate('compliance', 'requests', 'decline', JSON.parse(byEmail.stdout).request.id, '--reason', 'identity not confirmed');
    expect(declined).toMatchObject({ code: 0 });
    expect((await audited('compliance.requests.close', person.userId))[0].actor).toMatch(/^cli:/);

    // `ledger replay` rebuilds the rows from the streams: a lost row comes back as it was.
    const before = await gw.db.pool.query('SELECT * FROM subject_requests WHERE request_id = $1', [r.id]);
    await gw.db.pool.query('DELETE FROM subject_requests WHERE request_id = $1', [r.id]);
    await gw.db.pool.query("UPDATE subject_requests SET status = 'open' WHERE request_id = $1", [JSON.parse(byEmail.stdout).request.id]);
    const replay = await tollgate('ledger', 'replay', '--json');
    expect(replay).toMatchObject({ code: 0 });
    const rebuilt = (JSON.parse(replay.stdout) as Json).rebuilt.find((x: Json) => x.name === 'subject_requests');
    expect(rebuilt).toMatchObject({ repaired: 2 }); // the lost row and the altered one
    expect((await gw.db.pool.query('SELECT * FROM subject_requests WHERE request_id = $1', [r.id])).rows).toEqual(before.rows);
    const repaired = await gw.db.pool.query<{ status: string }>('SELECT status FROM subject_requests WHERE request_id = $1', [JSON.parse(byEmail.stdout).request.id]);
    expect(repaired.rows[0].status).toBe('declined');
  }, 120_000);

  it("after the person is erased, their requests keep kind, dates and outcome, and their words are gone (null, not decryptable)", async () => {
    const person = await signedIn(gw);
    const r = await ok(await ask(person, { kind: 'deletion', details: 'please delete everything' }), 201);
    await ok(await close(r.id, { outcome: 'fulfilled', note: `erased ${person.email}` }));
    await gw.app.get(PersonalDataVault).erase(person.userId);
    const seen = await ok(await staff.fetch(`/staff/requests/${r.id}`));
    expect(seen).toMatchObject({ kind: 'deletion', status: 'closed', outcome: 'fulfilled', details: null, note: null, openedAt: r.openedAt, dueAt: r.dueAt });
    const inEvents = await gw.db.pool.query('SELECT 1 FROM events WHERE data::text LIKE $1', [`%${person.email}%`]);
    expect(inEvents.rowCount).toBe(0);
  }, 60_000);
});
