/**
 * The incident decider, pure: given events, when a command, then events or a stable error; the
 * 72-hour clock and its warning at any instant; the notice text and its Message-ID; the report.
 */
import { randomUUID } from 'node:crypto';
import {
  Incident,
  IncidentCommand,
  IncidentEvent,
  IncidentFacts,
  IncidentsError,
  NOTIFY_WITHIN_MS,
  clockOf,
  decide,
  foldIncident,
} from '../../../src/compliance/incidents/domain/incident';
import { noticeMessageId, noticeText } from '../../../src/compliance/incidents/domain/incident-notice';
import { buildReport, reportMarkdown } from '../../../src/compliance/incidents/domain/incident-report';

const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const H = 3_600_000;

const facts: IncidentFacts = {
  title: 'Backup bucket readable',
  nature: 'A storage bucket holding a database backup was readable from the internet for 6 hours.',
  dataCategories: ['email', 'payment_records'],
  peopleCategories: ['account holders'],
  approxPeople: 1200,
  approxRecords: 45000,
  consequences: 'Phishing mails that look like ours.',
  measures: 'The bucket is private again; access logs show two downloads; keys rotated.',
  contact: 'dpo@tollgate.example, +44 20 0000 0000',
  detectedAt: '2026-03-01T08:00:00.000Z',
};

function run(commands: Array<[IncidentCommand, Date]>): { events: IncidentEvent[]; state: Incident | null } {
  const events: IncidentEvent[] = [];
  let state: Incident | null = null;
  for (const [c, now] of commands) {
    const out = decide(c, state, now);
    events.push(...out);
    state = foldIncident(events);
  }
  return { events, state };
}

const id = randomUUID();
const open: IncidentCommand = { type: 'Open', data: { incidentId: id, facts, actor: 'cli:alice' } };
const confirm: IncidentCommand = { type: 'Confirm', data: { actor: 'cli:bob' } };
const select = (added: number, leftOutErased = 0): IncidentCommand => ({ type: 'Select', data: { selection: { by: 'everyone' }, added, leftOutErased, actor: 'cli:bob' } });
const queue = (queued: number): IncidentCommand => ({ type: 'Queue', data: { queued, actor: 'cli:bob' } });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof IncidentsError) return err.code;
    throw err;
  }
  throw new Error('no error');
}

describe('the incident decider', () => {
  it('opens, confirms, selects, queues, records notices and closes, each step naming its actor', () => {
    const { events, state } = run([
      [open, T0],
      [select(3), at(1000)],
      [confirm, at(2000)],
      [queue(3), at(3000)],
    ]);
    expect(events.map((e) => e.type)).toEqual(['IncidentOpened', 'AffectedSelected', 'IncidentConfirmed', 'NoticesQueued']);
    expect(state).toMatchObject({ status: 'confirmed', selected: 3, queued: 3, confirmedAt: at(2000).toISOString(), confirmedBy: 'cli:bob', openedBy: 'cli:alice', version: 4n });
    const withNotices = foldIncident([
      ...events,
      { type: 'NoticeSent', data: { incidentId: id, userId: randomUUID(), messageId: '<a@b>', attempt: 1, at: at(5000).toISOString() } },
      { type: 'NoticeFailed', data: { incidentId: id, userId: randomUUID(), attempt: 1, error: 'mail_failed 451', final: false, at: at(5000).toISOString() } },
      { type: 'NoticeSent', data: { incidentId: id, userId: randomUUID(), messageId: '<c@b>', attempt: 2, at: at(9000).toISOString() } },
      { type: 'NoticeFailed', data: { incidentId: id, userId: randomUUID(), attempt: 1, error: 'no_address', final: true, at: at(6000).toISOString() } },
    ])!;
    expect(withNotices).toMatchObject({ sent: 2, failed: 1, failedAttempts: 2, firstSentAt: at(5000).toISOString(), lastSentAt: at(9000).toISOString() });
    const closed = decide({ type: 'Close', data: { summary: 'done', actor: 'cli:carol', pending: 0 } }, withNotices, at(10_000));
    expect(closed).toEqual([{ type: 'IncidentClosed', data: { incidentId: id, actor: 'cli:carol', summary: 'done', at: at(10_000).toISOString() } }]);
  });

  it('refuses: confirm twice, notify before confirm or with nobody, an empty selection, anything once closed, close with notices pending', () => {
    const opened = run([[open, T0]]).state!;
    expect(codeOf(() => decide(queue(1), opened, T0))).toBe('incident_not_confirmed');
    expect(codeOf(() => decide(select(0), opened, T0))).toBe('selection_empty');
    const confirmed = run([[open, T0], [confirm, at(1)]]).state!;
    expect(codeOf(() => decide(confirm, confirmed, at(2)))).toBe('incident_already_confirmed');
    expect(codeOf(() => decide(queue(0), confirmed, at(2)))).toBe('nobody_selected');
    const ready = run([[open, T0], [confirm, at(1)], [select(2), at(2)]]).state!;
    expect(decide(queue(0), ready, at(3))).toEqual([]); // queued before: nothing new
    expect(codeOf(() => decide({ type: 'Close', data: { summary: 's', actor: 'cli:a', pending: 2 } }, ready, at(3)))).toBe('notices_pending');
    const closed = run([[open, T0], [{ type: 'Close', data: { summary: 'false alarm', actor: 'cli:a', pending: 0 } }, at(5)]]).state!;
    for (const c of [confirm, select(1), queue(1), { type: 'Close', data: { summary: 'x', actor: 'cli:a', pending: 0 } } as IncidentCommand]) {
      expect(codeOf(() => decide(c, closed, at(6)))).toBe('incident_closed');
    }
    expect(codeOf(() => decide(confirm, null, T0))).toBe('incident_not_found');
    expect(codeOf(() => decide(open, opened, T0))).toBe('invalid_incident');
    expect(codeOf(() => decide({ type: 'Open', data: { incidentId: id, facts: { ...facts, detectedAt: at(H).toISOString() }, actor: 'cli:a' } }, null, T0))).toBe('invalid_incident');
  });

  it('counts erased people left out across selections, in the timeline and the state; an event from before the count reads as none', () => {
    const { events, state } = run([
      [open, T0],
      [select(3, 2), at(1)],
      [select(1), at(2)],
    ]);
    expect(state).toMatchObject({ selected: 4, leftOutErased: 2 });
    expect(state!.timeline[1].what).toBe('affected people selected everyone: 3 added, 2 left out (erased: no address)');
    expect(state!.timeline[2].what).toBe('affected people selected everyone: 1 added');
    const older = events.map((e) => (e.type === 'AffectedSelected' ? { ...e, data: { ...e.data, leftOutErased: undefined } } : e));
    expect(foldIncident(older)).toMatchObject({ selected: 4, leftOutErased: 0 });
    // Nobody added, only erased people matched: refused as an empty selection, nothing recorded.
    expect(codeOf(() => decide(select(0, 5), state, at(3)))).toBe('selection_empty');
  });

  it('refuses a stream that does not start with IncidentOpened, or an unknown event type', () => {
    expect(() => foldIncident([{ type: 'IncidentConfirmed', data: { incidentId: id, actor: 'x', at: T0.toISOString() } }])).toThrow(/starts with IncidentConfirmed/);
    expect(() => foldIncident([{ type: 'Bogus', data: {} }])).toThrow(/unknown incident event type/);
  });
});

describe('the 72-hour clock', () => {
  const confirmed = run([[open, T0], [confirm, T0]]).state!;

  it('does not run before confirmation', () => {
    const opened = run([[open, T0]]).state!;
    expect(clockOf(opened, 5, at(100 * H))).toMatchObject({ deadline: null, msLeft: null, warning: expect.stringMatching(/not confirmed/) });
  });

  it('counts down from confirmation and warns under 24 hours only while someone is not notified', () => {
    expect(clockOf(confirmed, 10, at(47 * H))).toMatchObject({ deadline: at(NOTIFY_WITHIN_MS).toISOString(), msLeft: 25 * H, warning: null });
    expect(clockOf(confirmed, 10, at(48 * H + 1)).warning).toMatch(/less than 24 hours left \(23 h 59 min\) and 10 affected people not notified yet/);
    expect(clockOf(confirmed, 0, at(60 * H)).warning).toBeNull();
    expect(clockOf(confirmed, 3, at(75 * H)).warning).toMatch(/deadline passed 3 h 00 min ago with 3 affected people not notified/);
    expect(clockOf(confirmed, 3, at(75 * H)).msLeft).toBe(-3 * H);
  });
});

describe('the notice and the report', () => {
  it('says in plain language what happened, which data, the consequences, the measures and the contact; the same for everyone', () => {
    const n = noticeText(facts);
    expect(n.subject).toContain('Backup bucket readable');
    for (const part of [facts.nature, facts.consequences, facts.measures, facts.contact, 'your email address', 'records of your purchases']) expect(n.text).toContain(part);
    expect(n.text).not.toMatch(/@example|undefined|null/);
  });

  it('gives each person one Message-ID per incident, the same on every attempt', () => {
    const [a, b, incident] = [randomUUID(), randomUUID(), randomUUID()];
    expect(noticeMessageId(incident, a, 'tollgate.example')).toBe(noticeMessageId(incident, a.toUpperCase(), 'tollgate.example'));
    expect(noticeMessageId(incident, a, 'tollgate.example')).not.toBe(noticeMessageId(incident, b, 'tollgate.example'));
    expect(noticeMessageId(incident, a, 'tollgate.example')).toMatch(/^<incident-notice-[0-9a-f-]{36}@tollgate\.example>$/);
  });

  it('builds the Art. 33(3) record with the timeline and the counts, as JSON and Markdown', () => {
    const { events } = run([[open, T0], [confirm, at(H)], [select(2), at(2 * H)], [queue(2), at(3 * H)]]);
    const u = [randomUUID(), randomUUID()];
    const all = [
      ...events,
      { type: 'NoticeSent', data: { incidentId: id, userId: u[0], messageId: '<x@y>', attempt: 1, at: at(4 * H).toISOString() } },
      { type: 'NoticeSent', data: { incidentId: id, userId: u[1], messageId: '<z@y>', attempt: 1, at: at(5 * H).toISOString() } },
    ] as IncidentEvent[];
    const report = buildReport(foldIncident(all)!, { pending: 0, notQueued: 0 }, at(6 * H));
    expect(report.art33).toEqual({
      natureOfBreach: facts.nature,
      categoriesOfDataSubjects: ['account holders'],
      approximateNumberOfDataSubjects: 1200,
      categoriesOfPersonalDataRecords: ['email', 'payment_records'],
      approximateNumberOfPersonalDataRecords: 45000,
      contactPoint: facts.contact,
      likelyConsequences: facts.consequences,
      measuresTakenOrProposed: facts.measures,
    });
    expect(report).toMatchObject({ confirmedAt: at(H).toISOString(), deadline: at(H + NOTIFY_WITHIN_MS).toISOString(), detectedAt: facts.detectedAt });
    expect(report.notices).toMatchObject({ affectedSelected: 2, sent: 2, failed: 0, allSentWithinDeadline: true, firstSentAt: at(4 * H).toISOString(), lastSentAt: at(5 * H).toISOString() });
    expect(report.timeline.map((t) => t.what)).toEqual([
      'opened',
      'confirmed: the 72-hour clock started',
      'affected people selected everyone: 2 added',
      '2 notice(s) queued',
      'first notice sent',
      'last notice sent (2 in all)',
    ]);
    const md = reportMarkdown(report);
    expect(md).toContain('## Art. 33(3)(a): nature of the breach');
    expect(md).toContain('| 2 | 2 | 0 | 0 | 0 |');
    expect(md).toContain('## Art. 33(3)(d): measures taken or proposed');
  });
});
