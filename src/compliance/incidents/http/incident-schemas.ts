/**
 * What staff send and get back about incidents, shared by the staff API and the CLI's --json:
 * the facts of an opening (each field bounded: a title of one line, texts up to 5,000
 * characters, no control characters but newline and tab), the ways to select people, and the
 * views (times ISO 8601, counts as numbers).
 */
import { z } from 'zod';
import {
  DATA_CATEGORIES,
  Incident,
  IncidentFacts,
  MAX_APPROX_PEOPLE,
  MAX_APPROX_RECORDS,
  MAX_CONTACT_CHARS,
  MAX_PEOPLE_CATEGORIES,
  MAX_PEOPLE_CATEGORY_CHARS,
  MAX_TEXT_CHARS,
  MAX_TITLE_CHARS,
  formatDuration,
} from '../domain/incident';
import { IncidentStatusView, SelectionInput } from '../application/incidents.service';
import { IncidentRow } from '../application/incidents.repository';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const LINE_CONTROL = /[\u0000-\u001f\u007f]/;

const text = (max: number, oneLine = false) =>
  z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !(oneLine ? LINE_CONTROL : CONTROL).test(v), oneLine ? 'must be one line without control characters' : 'must not contain control characters');

/** At most this many ids in one selection by list (more: several selections). */
export const MAX_SELECT_IDS = 10_000;

export const factsFields = {
  title: text(MAX_TITLE_CHARS, true),
  nature: text(MAX_TEXT_CHARS),
  dataCategories: z
    .array(z.enum(DATA_CATEGORIES, { error: `must each be one of ${DATA_CATEGORIES.join(', ')}` }), { error: 'is required: a list of data categories' })
    .min(1, 'must name at least one category')
    .max(DATA_CATEGORIES.length, 'has too many entries')
    .refine((l) => new Set(l).size === l.length, 'must not repeat a category'),
  peopleCategories: z
    .array(text(MAX_PEOPLE_CATEGORY_CHARS, true), { error: 'is required: a list such as ["account holders"]' })
    .min(1, 'must name at least one category of people')
    .max(MAX_PEOPLE_CATEGORIES, `must have at most ${MAX_PEOPLE_CATEGORIES} entries`),
  approxPeople: z.number({ error: 'is required: a whole number' }).int('must be a whole number').min(0, 'must be 0 or more').max(MAX_APPROX_PEOPLE, `must be at most ${MAX_APPROX_PEOPLE}`),
  approxRecords: z.number({ error: 'is required: a whole number' }).int('must be a whole number').min(0, 'must be 0 or more').max(MAX_APPROX_RECORDS, `must be at most ${MAX_APPROX_RECORDS}`),
  consequences: text(MAX_TEXT_CHARS),
  measures: text(MAX_TEXT_CHARS),
  contact: text(MAX_CONTACT_CHARS),
  detectedAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).optional(),
};

export const factsObject = z.object(factsFields);

export const factsOf = (b: z.infer<typeof factsObject>): IncidentFacts => ({
  title: b.title,
  nature: b.nature,
  dataCategories: b.dataCategories,
  peopleCategories: b.peopleCategories,
  approxPeople: b.approxPeople,
  approxRecords: b.approxRecords,
  consequences: b.consequences,
  measures: b.measures,
  contact: b.contact,
  detectedAt: b.detectedAt ? new Date(b.detectedAt).toISOString() : null,
});

const isoDate = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' }).transform((v) => new Date(v));

export const selectionSchema = z
  .discriminatedUnion(
    'by',
    [
      z.strictObject({ by: z.literal('users'), userIds: z.array(z.uuid({ error: 'must each be a user id' })).min(1, 'must list at least one user id').max(MAX_SELECT_IDS, `must list at most ${MAX_SELECT_IDS} ids`) }),
      z.strictObject({ by: z.literal('activity'), from: isoDate, to: isoDate }),
      z.strictObject({ by: z.literal('data_category'), category: z.enum(DATA_CATEGORIES, { error: `must be one of ${DATA_CATEGORIES.join(', ')}` }) }),
      z.strictObject({ by: z.literal('everyone') }),
    ],
    { error: 'must be one of users, activity, data_category, everyone' },
  )
  .refine((s) => s.by !== 'activity' || s.from.getTime() < s.to.getTime(), { message: 'must be before to', path: ['from'] }) as z.ZodType<SelectionInput>;

export const incidentView = (i: Incident) => ({
  id: i.incidentId,
  status: i.status,
  facts: i.facts,
  openedAt: i.openedAt,
  openedBy: i.openedBy,
  confirmedAt: i.confirmedAt,
  confirmedBy: i.confirmedBy,
  closedAt: i.closedAt,
  closedBy: i.closedBy,
  summary: i.summary,
  selected: i.selected,
  leftOutErased: i.leftOutErased,
  queued: i.queued,
  sent: i.sent,
  failed: i.failed,
  timeline: i.timeline,
});
export type IncidentView = ReturnType<typeof incidentView>;

export const statusView = (s: IncidentStatusView) => ({
  incident: incidentView(s.incident),
  notices: s.counts,
  clock: { ...s.clock, timeLeft: s.clock.msLeft === null ? null : s.clock.msLeft >= 0 ? formatDuration(s.clock.msLeft) : `overdue by ${formatDuration(-s.clock.msLeft)}` },
});
export type StatusView = ReturnType<typeof statusView>;

export const listView = (r: IncidentRow) => ({
  id: r.incidentId,
  title: r.title,
  status: r.status,
  openedAt: r.openedAt.toISOString(),
  confirmedAt: r.confirmedAt?.toISOString() ?? null,
  closedAt: r.closedAt?.toISOString() ?? null,
});

/** The status as people read it (the CLI's text, and the warning line). */
export function statusText(s: StatusView): string {
  const c = s.clock;
  const n = s.notices;
  const lines = [
    `incident ${s.incident.id}  ${s.incident.status}  ${s.incident.facts.title}`,
    c.deadline ? `72-hour clock: confirmed ${c.confirmedAt}, deadline ${c.deadline}, ${c.timeLeft}${c.msLeft !== null && c.msLeft >= 0 ? ' left' : ''}` : '72-hour clock: not started (confirm the incident to start it)',
    `notices: ${n.selected} selected, ${n.queued} queued, ${n.sent} sent, ${n.failed} failed, ${n.pending} pending`,
  ];
  if (s.incident.leftOutErased) lines.push(`left out: ${s.incident.leftOutErased} erased person(s) matched a selection (no address to notify)`);
  if (c.warning) lines.push(`WARNING: ${c.warning}`);
  return lines.join('\n');
}
