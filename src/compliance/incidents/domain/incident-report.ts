/**
 * The supervisory authority's record of an incident (GDPR Art. 33(3) and 33(5)): the nature of
 * the breach with the categories and approximate numbers of people and records, the contact
 * point, the likely consequences, the measures, the timeline with the 72-hour deadline, and how
 * many affected people were notified (Art. 34). Built from the incident's stream (the counts of
 * sent and failed notices are its events), plus what is still pending from incident_notices.
 * Pure: the time comes in.
 */
import { Clock72, Incident, TimelineEntry, clockOf } from './incident';

export interface IncidentReport {
  incidentId: string;
  title: string;
  status: Incident['status'];
  art33: {
    natureOfBreach: string;
    categoriesOfDataSubjects: string[];
    approximateNumberOfDataSubjects: number;
    categoriesOfPersonalDataRecords: string[];
    approximateNumberOfPersonalDataRecords: number;
    contactPoint: string;
    likelyConsequences: string;
    measuresTakenOrProposed: string;
  };
  detectedAt: string | null;
  openedAt: string;
  confirmedAt: string | null;
  deadline: string | null;
  closedAt: string | null;
  closingSummary: string | null;
  notices: {
    affectedSelected: number;
    /** Erased people the selections matched and left out (no address to notify): a count only. */
    leftOutErased: number;
    sent: number;
    failed: number;
    failedAttempts: number;
    pending: number;
    notQueued: number;
    firstSentAt: string | null;
    lastSentAt: string | null;
    /** Everyone selected was sent a notice before the deadline; null while that is still open. */
    allSentWithinDeadline: boolean | null;
  };
  timeline: TimelineEntry[];
  generatedAt: string;
}

export function buildReport(i: Incident, pending: { pending: number; notQueued: number }, now: Date): IncidentReport {
  const clock: Clock72 = clockOf(i, i.selected - i.sent, now);
  const deadlineMs = clock.deadline ? Date.parse(clock.deadline) : null;
  let within: boolean | null = null;
  if (deadlineMs !== null && i.selected > 0) {
    if (i.sent === i.selected) within = i.lastSentAt !== null && Date.parse(i.lastSentAt) <= deadlineMs;
    else if (now.getTime() > deadlineMs) within = false;
  }
  return {
    incidentId: i.incidentId,
    title: i.facts.title,
    status: i.status,
    art33: {
      natureOfBreach: i.facts.nature,
      categoriesOfDataSubjects: i.facts.peopleCategories,
      approximateNumberOfDataSubjects: i.facts.approxPeople,
      categoriesOfPersonalDataRecords: i.facts.dataCategories,
      approximateNumberOfPersonalDataRecords: i.facts.approxRecords,
      contactPoint: i.facts.contact,
      likelyConsequences: i.facts.consequences,
      measuresTakenOrProposed: i.facts.measures,
    },
    detectedAt: i.facts.detectedAt,
    openedAt: i.openedAt,
    confirmedAt: i.confirmedAt,
    deadline: clock.deadline,
    closedAt: i.closedAt,
    closingSummary: i.summary,
    notices: {
      affectedSelected: i.selected,
      leftOutErased: i.leftOutErased,
      sent: i.sent,
      failed: i.failed,
      failedAttempts: i.failedAttempts,
      pending: pending.pending,
      notQueued: pending.notQueued,
      firstSentAt: i.firstSentAt,
      lastSentAt: i.lastSentAt,
      allSentWithinDeadline: within,
    },
    timeline: [
      ...i.timeline,
      ...(i.firstSentAt ? [{ at: i.firstSentAt, what: 'first notice sent', actor: 'system:incident-notices' }] : []),
      ...(i.lastSentAt && i.lastSentAt !== i.firstSentAt ? [{ at: i.lastSentAt, what: `last notice sent (${i.sent} in all)`, actor: 'system:incident-notices' }] : []),
    ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)),
    generatedAt: now.toISOString(),
  };
}

export function reportMarkdown(r: IncidentReport): string {
  const a = r.art33;
  const n = r.notices;
  const block = (s: string) => s.split('\n').map((l) => `> ${l}`).join('\n');
  return [
    `# Personal data breach: ${r.title}`,
    '',
    `Incident \`${r.incidentId}\`, ${r.status}. Record generated ${r.generatedAt}.`,
    '',
    '## Art. 33(3)(a): nature of the breach',
    '',
    block(a.natureOfBreach),
    '',
    `- Categories of data subjects: ${a.categoriesOfDataSubjects.join(', ')}`,
    `- Approximate number of data subjects: ${a.approximateNumberOfDataSubjects}`,
    `- Categories of personal data records: ${a.categoriesOfPersonalDataRecords.join(', ')}`,
    `- Approximate number of personal data records: ${a.approximateNumberOfPersonalDataRecords}`,
    '',
    '## Art. 33(3)(b): contact point',
    '',
    block(a.contactPoint),
    '',
    '## Art. 33(3)(c): likely consequences',
    '',
    block(a.likelyConsequences),
    '',
    '## Art. 33(3)(d): measures taken or proposed',
    '',
    block(a.measuresTakenOrProposed),
    '',
    '## Dates',
    '',
    `- Detected: ${r.detectedAt ?? 'not stated'}`,
    `- Opened: ${r.openedAt}`,
    `- Confirmed: ${r.confirmedAt ?? 'not confirmed'}`,
    `- 72-hour deadline: ${r.deadline ?? 'starts at confirmation'}`,
    `- Closed: ${r.closedAt ?? 'open'}${r.closingSummary ? ` (${r.closingSummary.replace(/\n/g, ' ')})` : ''}`,
    '',
    '## Notices to the people affected (Art. 34)',
    '',
    '| selected | sent | failed | pending | not queued | first sent | last sent | all within 72 h |',
    '|---|---|---|---|---|---|---|---|',
    `| ${n.affectedSelected} | ${n.sent} | ${n.failed} | ${n.pending} | ${n.notQueued} | ${n.firstSentAt ?? '-'} | ${n.lastSentAt ?? '-'} | ${n.allSentWithinDeadline === null ? '-' : n.allSentWithinDeadline ? 'yes' : 'no'} |`,
    '',
    ...(n.leftOutErased ? [`Left out of the selection: ${n.leftOutErased} erased person(s), whose data (their address with it) was destroyed before the incident's selection.`, ''] : []),
    '## Timeline',
    '',
    '| when (UTC) | what | who |',
    '|---|---|---|',
    ...r.timeline.map((t) => `| ${t.at} | ${t.what.replace(/\|/g, '\\|')} | ${t.actor} |`),
    '',
  ].join('\n');
}
