/**
 * Breach incidents (issue 21, GDPR Art. 33 and 34): each incident is its own stream
 * `incident-<id>`, folded by the pure decider below.
 *
 *   IncidentOpened → IncidentConfirmed (the 72-hour clock starts) → AffectedSelected (repeatable)
 *     → NoticesQueued → NoticeSent | NoticeFailed (one per person and attempt) → IncidentClosed
 *
 * AffectedSelected may come before the confirmation (staff prepare the list while they check);
 * notices are queued only once it is confirmed. Every staff step names its actor (a staff user
 * id, or cli:<os user>); notice outcomes are the worker's (system:incident-notices).
 *
 * The facts (nature, categories, numbers, consequences, measures, contact) describe the incident,
 * not a person: they are kept in clear, because the supervisory authority's record is built from
 * them. People appear by user id only (never an address), so erasing a person leaves nothing here.
 *
 * Bounds: texts are 1..MAX chars without control characters other than newline and tab;
 * approximate numbers are whole, 0..10^9 people and 0..10^12 records.
 */
import { assertNever } from '../../../shared/assert-never';
import { DomainError } from '../../../shared/domain-error';

export const INCIDENT_PREFIX = 'incident-';
export const incidentStream = (id: string) => `${INCIDENT_PREFIX}${id}`;

/** The clock of Art. 33(1): the authority (and here the people) within 72 hours of confirmation. */
export const NOTIFY_WITHIN_MS = 72 * 3_600_000;
/** `status` warns when less than this is left and some affected person has no notice yet. */
export const WARN_WHEN_LEFT_MS = 24 * 3_600_000;

export const MAX_TITLE_CHARS = 200;
export const MAX_TEXT_CHARS = 5000;
export const MAX_CONTACT_CHARS = 500;
export const MAX_PEOPLE_CATEGORIES = 10;
export const MAX_PEOPLE_CATEGORY_CHARS = 100;
export const MAX_APPROX_PEOPLE = 1_000_000_000;
export const MAX_APPROX_RECORDS = 1_000_000_000_000;

/** The personal data Tollgate holds, by the names the privacy notes use; also a way to select people. */
export const DATA_CATEGORIES = ['email', 'display_name', 'ip_address', 'wallet_address', 'usage_metadata', 'payment_records', 'api_key_metadata'] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** How a selection chose people (its criteria are kept with it in the stream). */
export type Selection =
  | { by: 'users'; userIds: number } // how many ids were listed (the ids are in incident_notices)
  | { by: 'activity'; from: string; to: string }
  | { by: 'data_category'; category: DataCategory }
  | { by: 'everyone' };

export interface IncidentFacts {
  title: string;
  /** What happened, in plain language (it goes into every notice). */
  nature: string;
  dataCategories: DataCategory[];
  peopleCategories: string[];
  approxPeople: number;
  approxRecords: number;
  consequences: string;
  measures: string;
  /** Who to ask: the data protection officer or another contact point. */
  contact: string;
  /** When the breach was detected, if known and before the opening (ISO 8601). */
  detectedAt: string | null;
}

export type IncidentEvent =
  | { type: 'IncidentOpened'; data: { incidentId: string; facts: IncidentFacts; actor: string; at: string } }
  | { type: 'IncidentConfirmed'; data: { incidentId: string; actor: string; at: string } }
  | { type: 'AffectedSelected'; data: { incidentId: string; selection: Selection; added: number; leftOutErased?: number; actor: string; at: string } }
  | { type: 'NoticesQueued'; data: { incidentId: string; queued: number; actor: string; at: string } }
  | { type: 'NoticeSent'; data: { incidentId: string; userId: string; messageId: string; attempt: number; at: string } }
  | { type: 'NoticeFailed'; data: { incidentId: string; userId: string; attempt: number; error: string; final: boolean; at: string } }
  | { type: 'IncidentClosed'; data: { incidentId: string; actor: string; summary: string; at: string } };

export const INCIDENT_EVENT_TYPES = new Set<string>(['IncidentOpened', 'IncidentConfirmed', 'AffectedSelected', 'NoticesQueued', 'NoticeSent', 'NoticeFailed', 'IncidentClosed']);

export type IncidentStatus = 'open' | 'confirmed' | 'closed';

export interface TimelineEntry {
  at: string;
  what: string;
  actor: string;
}

export interface Incident {
  incidentId: string;
  facts: IncidentFacts;
  status: IncidentStatus;
  openedAt: string;
  openedBy: string;
  confirmedAt: string | null;
  confirmedBy: string | null;
  closedAt: string | null;
  closedBy: string | null;
  summary: string | null;
  /** People added by all selections (each person once: incident_notices is unique per person). */
  selected: number;
  /** Erased people a selection matched and left out (no address to notify), each counted once; absent from older events. */
  leftOutErased: number;
  queued: number;
  sent: number;
  /** Notices given up on (attempts exhausted, no address: the person was erased). */
  failed: number;
  /** Failed attempts, retried or not. */
  failedAttempts: number;
  firstSentAt: string | null;
  lastSentAt: string | null;
  /** The staff steps in order (per-notice outcomes are counted above, not listed). */
  timeline: TimelineEntry[];
  version: bigint;
}

export type IncidentsErrorCode =
  | 'incident_not_found'
  | 'incident_already_confirmed'
  | 'incident_not_confirmed'
  | 'incident_closed'
  | 'nobody_selected'
  | 'selection_empty'
  | 'unknown_people'
  | 'notices_pending'
  | 'incident_busy'
  | 'invalid_incident';

export class IncidentsError extends DomainError<IncidentsErrorCode, Record<string, unknown>> {
  override readonly name = 'IncidentsError';
}

/** The deadline of a confirmed incident. */
export const deadlineOf = (confirmedAt: string) => new Date(Date.parse(confirmedAt) + NOTIFY_WITHIN_MS);

// ---- commands and the decider ----

export type IncidentCommand =
  | { type: 'Open'; data: { incidentId: string; facts: IncidentFacts; actor: string } }
  | { type: 'Confirm'; data: { actor: string } }
  | { type: 'Select'; data: { selection: Selection; added: number; leftOutErased: number; actor: string } }
  | { type: 'Queue'; data: { queued: number; actor: string } }
  | { type: 'Close'; data: { summary: string; actor: string; pending: number } };

/** What a command appends given the incident's state (null: no stream yet) and the time. */
export function decide(command: IncidentCommand, state: Incident | null, now: Date): IncidentEvent[] {
  const at = now.toISOString();
  if (command.type === 'Open') {
    if (state) throw new IncidentsError('invalid_incident', `incident ${state.incidentId} exists already`);
    const facts = command.data.facts;
    if (facts.detectedAt !== null && Date.parse(facts.detectedAt) > now.getTime()) {
      throw new IncidentsError('invalid_incident', 'detectedAt: must not be in the future', { field: 'detectedAt' });
    }
    return [{ type: 'IncidentOpened', data: { incidentId: command.data.incidentId, facts, actor: command.data.actor, at } }];
  }
  if (!state) throw new IncidentsError('incident_not_found', 'no such incident');
  if (state.status === 'closed') throw new IncidentsError('incident_closed', `incident ${state.incidentId} was closed ${state.closedAt}`);
  const incidentId = state.incidentId;
  switch (command.type) {
    case 'Confirm':
      if (state.status === 'confirmed') {
        throw new IncidentsError('incident_already_confirmed', `incident ${incidentId} was confirmed ${state.confirmedAt} by ${state.confirmedBy}; its clock runs from then`);
      }
      return [{ type: 'IncidentConfirmed', data: { incidentId, actor: command.data.actor, at } }];
    case 'Select':
      if (command.data.added <= 0) throw new IncidentsError('selection_empty', 'the selection adds nobody (no one matched, or everyone it matched was selected before): nothing recorded');
      return [
        {
          type: 'AffectedSelected',
          data: { incidentId, selection: command.data.selection, added: command.data.added, leftOutErased: command.data.leftOutErased, actor: command.data.actor, at },
        },
      ];
    case 'Queue':
      if (state.status !== 'confirmed') {
        throw new IncidentsError('incident_not_confirmed', `incident ${incidentId} is not confirmed: confirm it first (that starts the 72-hour clock), then notify`);
      }
      if (state.selected === 0) throw new IncidentsError('nobody_selected', `incident ${incidentId} has no affected people selected: select them first`);
      return command.data.queued > 0 ? [{ type: 'NoticesQueued', data: { incidentId, queued: command.data.queued, actor: command.data.actor, at } }] : [];
    case 'Close':
      if (command.data.pending > 0) {
        throw new IncidentsError('notices_pending', `incident ${incidentId} still has ${command.data.pending} notice(s) being sent: close it once they are sent or failed`, { pending: command.data.pending });
      }
      return [{ type: 'IncidentClosed', data: { incidentId, actor: command.data.actor, summary: command.data.summary, at } }];
    default:
      return assertNever(command);
  }
}

/** Folds an incident's stream; null for an empty one. */
export function foldIncident(events: ReadonlyArray<{ type: string; data: Record<string, unknown> }>): Incident | null {
  let s: Incident | null = null;
  for (const raw of events) s = evolve(s, raw);
  return s;
}

export function evolve(state: Incident | null, raw: { type: string; data: Record<string, unknown> }): Incident {
  if (!INCIDENT_EVENT_TYPES.has(raw.type)) throw new Error(`unknown incident event type ${raw.type}`);
  const e = raw as IncidentEvent;
  if (e.type === 'IncidentOpened') {
    return {
      incidentId: e.data.incidentId,
      facts: e.data.facts,
      status: 'open',
      openedAt: e.data.at,
      openedBy: e.data.actor,
      confirmedAt: null,
      confirmedBy: null,
      closedAt: null,
      closedBy: null,
      summary: null,
      selected: 0,
      leftOutErased: 0,
      queued: 0,
      sent: 0,
      failed: 0,
      failedAttempts: 0,
      firstSentAt: null,
      lastSentAt: null,
      timeline: [{ at: e.data.at, what: 'opened', actor: e.data.actor }],
      version: 1n,
    };
  }
  if (!state) throw new Error(`incident stream starts with ${e.type}`);
  const s: Incident = { ...state, version: state.version + 1n };
  switch (e.type) {
    case 'IncidentConfirmed':
      s.status = 'confirmed';
      s.confirmedAt = e.data.at;
      s.confirmedBy = e.data.actor;
      s.timeline = [...s.timeline, { at: e.data.at, what: 'confirmed: the 72-hour clock started', actor: e.data.actor }];
      break;
    case 'AffectedSelected':
      s.selected += e.data.added;
      s.leftOutErased += e.data.leftOutErased ?? 0;
      s.timeline = [
        ...s.timeline,
        {
          at: e.data.at,
          what: `affected people selected ${describeSelection(e.data.selection)}: ${e.data.added} added${e.data.leftOutErased ? `, ${e.data.leftOutErased} left out (erased: no address)` : ''}`,
          actor: e.data.actor,
        },
      ];
      break;
    case 'NoticesQueued':
      s.queued += e.data.queued;
      s.timeline = [...s.timeline, { at: e.data.at, what: `${e.data.queued} notice(s) queued`, actor: e.data.actor }];
      break;
    case 'NoticeSent':
      s.sent += 1;
      s.firstSentAt ??= e.data.at;
      if (s.lastSentAt === null || e.data.at > s.lastSentAt) s.lastSentAt = e.data.at;
      break;
    case 'NoticeFailed':
      s.failedAttempts += 1;
      if (e.data.final) s.failed += 1;
      break;
    case 'IncidentClosed':
      s.status = 'closed';
      s.closedAt = e.data.at;
      s.closedBy = e.data.actor;
      s.summary = e.data.summary;
      s.timeline = [...s.timeline, { at: e.data.at, what: 'closed', actor: e.data.actor }];
      break;
    default:
      return assertNever(e);
  }
  return s;
}

export function describeSelection(s: Selection): string {
  switch (s.by) {
    case 'users':
      return `by list (${s.userIds} listed)`;
    case 'activity':
      return `by activity between ${s.from} and ${s.to}`;
    case 'data_category':
      return `by data category ${s.category}`;
    case 'everyone':
      return 'everyone';
    default:
      return assertNever(s);
  }
}

// ---- the clock ----

export interface Clock72 {
  confirmedAt: string | null;
  deadline: string | null;
  /** Negative once the deadline has passed; null before confirmation. */
  msLeft: number | null;
  /** People selected who have no notice sent yet (queued, failing, given up, or not queued). */
  unsent: number;
  warning: string | null;
}

/** Time left on the 72-hour clock, and the warning staff must see. Pure: `now` comes in. */
export function clockOf(i: Pick<Incident, 'status' | 'confirmedAt'>, unsent: number, now: Date): Clock72 {
  if (!i.confirmedAt) {
    return { confirmedAt: null, deadline: null, msLeft: null, unsent, warning: i.status === 'closed' ? null : 'not confirmed: the 72-hour clock starts at confirmation' };
  }
  const deadline = deadlineOf(i.confirmedAt);
  const msLeft = deadline.getTime() - now.getTime();
  let warning: string | null = null;
  if (unsent > 0 && i.status !== 'closed') {
    if (msLeft <= 0) warning = `the 72-hour deadline passed ${formatDuration(-msLeft)} ago with ${unsent} affected people not notified`;
    else if (msLeft < WARN_WHEN_LEFT_MS) warning = `less than 24 hours left (${formatDuration(msLeft)}) and ${unsent} affected people not notified yet`;
  }
  return { confirmedAt: i.confirmedAt, deadline: deadline.toISOString(), msLeft, unsent, warning };
}

/** "71 h 05 min", "3 min", "45 s": hours, not days, since the deadline is counted in hours. */
export function formatDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min`;
  return `${s} s`;
}
