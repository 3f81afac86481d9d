/**
 * `tollgate compliance incident open|confirm|select|preview|notify|status|report|close|list`:
 * the staff API's incident verbs at the command line, through the same service, audited with
 * the operator as actor (cli:<os user>). Options are checked before anything is written.
 * `notify --wait` follows the sending with a progress bar until nothing is pending.
 */
import { readFile } from 'node:fs/promises';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../../cli/cli-actor';
import { UsageError } from '../../../cli/cli-errors';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { CommandGroup } from '../../../cli/command-group';
import { progressBar } from '../../../cli/progress';
import { staffReason } from '../../../staff/http/staff-reason';
import { IncidentsService } from '../application/incidents.service';
import { DATA_CATEGORIES, Incident } from '../domain/incident';
import { reportMarkdown } from '../domain/incident-report';
import { MAX_SELECT_IDS, factsFields, factsOf, incidentView, listView, selectionSchema, statusText, statusView } from '../http/incident-schemas';

const id = z.uuid({ error: 'must be an incident id (uuid)' });
const list = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v);
const human = (i: Incident) => `incident ${i.incidentId}  ${i.status}  ${i.facts.title}  (${i.selected} selected, ${i.queued} queued, ${i.sent} sent, ${i.failed} failed)`;

/** --id and --json, which every verb on one incident has. */
abstract class OnIncident extends CommandRunner {
  @Option({ flags: '--id <id>', description: 'the incident', required: true })
  parseId(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

abstract class StaffStep extends OnIncident {
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)', required: true })
  parseReason(v: string): string {
    return v;
  }
}

const openOptions = z.object({
  facts: z.string().optional(),
  title: z.unknown().optional(),
  nature: z.unknown().optional(),
  dataCategories: z.unknown().optional(),
  peopleCategories: z.unknown().optional(),
  approxPeople: z.unknown().optional(),
  approxRecords: z.unknown().optional(),
  consequences: z.unknown().optional(),
  measures: z.unknown().optional(),
  contact: z.unknown().optional(),
  detectedAt: z.unknown().optional(),
  reason: staffReason.optional(),
  json: z.boolean().optional(),
});
const factsFromFlags = z.object({
  ...factsFields,
  dataCategories: z.preprocess(list, factsFields.dataCategories),
  peopleCategories: z.preprocess(list, factsFields.peopleCategories),
  approxPeople: z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), factsFields.approxPeople),
  approxRecords: z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), factsFields.approxRecords),
});

@SubCommand({ name: 'open', description: 'open a breach incident with its facts (GDPR Art. 33(3)); --facts FILE (JSON) or the flags' })
export class OpenIncidentCommand extends CommandRunner {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(openOptions, raw);
    let fields: Record<string, unknown> = { ...raw };
    if (o.facts) {
      const text = await readFile(o.facts, 'utf8').catch((err: Error) => {
        throw new UsageError(`--facts: cannot read ${o.facts}: ${err.message}`);
      });
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new UsageError(`--facts: ${o.facts} is not JSON`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--facts: must hold one JSON object');
      fields = { ...(parsed as Record<string, unknown>), ...stripUndefined(raw) };
    }
    const facts = factsOf(parseOptions(factsFromFlags, fields));
    const i = await this.incidents.open(facts, { actor: cliActor(), reason: o.reason ?? `opened: ${facts.title}` });
    printResult(o.json, human(i), { incident: incidentView(i) });
  }

  @Option({ flags: '--facts <file>', description: 'a JSON file with the fields below (flags given too win)' })
  parseFacts(v: string): string {
    return v;
  }
  @Option({ flags: '--title <text>', description: 'one line' })
  parseTitle(v: string): string {
    return v;
  }
  @Option({ flags: '--nature <text>', description: 'what happened, in plain language (it goes into every notice)' })
  parseNature(v: string): string {
    return v;
  }
  @Option({ flags: '--data-categories <list>', description: `comma-separated: ${DATA_CATEGORIES.join(', ')}` })
  parseDataCategories(v: string): string {
    return v;
  }
  @Option({ flags: '--people-categories <list>', description: 'comma-separated, e.g. "account holders,staff"' })
  parsePeopleCategories(v: string): string {
    return v;
  }
  @Option({ flags: '--approx-people <n>', description: 'approximate number of people concerned' })
  parseApproxPeople(v: string): string {
    return v;
  }
  @Option({ flags: '--approx-records <n>', description: 'approximate number of records concerned' })
  parseApproxRecords(v: string): string {
    return v;
  }
  @Option({ flags: '--consequences <text>', description: 'the likely consequences' })
  parseConsequences(v: string): string {
    return v;
  }
  @Option({ flags: '--measures <text>', description: 'measures taken or proposed' })
  parseMeasures(v: string): string {
    return v;
  }
  @Option({ flags: '--contact <text>', description: 'the contact point (data protection officer)' })
  parseContact(v: string): string {
    return v;
  }
  @Option({ flags: '--detected-at <iso>', description: 'when it was detected (ISO 8601)' })
  parseDetectedAt(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail; default: the title)' })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'confirm', description: 'confirm the breach: the 72-hour clock starts now (audited)' })
export class ConfirmIncidentCommand extends StaffStep {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, reason: staffReason, json: z.boolean().optional() }), raw);
    const i = await this.incidents.confirm(o.id, { actor: cliActor(), reason: o.reason });
    printResult(o.json, human(i), { incident: incidentView(i) });
  }
}

@SubCommand({ name: 'select', description: 'select the people affected: --users, --users-file, --active-from/--active-to, --category or --everyone (audited)' })
export class SelectAffectedCommand extends StaffStep {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(
      z.object({
        id,
        reason: staffReason,
        users: z.string().optional(),
        usersFile: z.string().optional(),
        activeFrom: z.string().optional(),
        activeTo: z.string().optional(),
        category: z.string().optional(),
        everyone: z.boolean().optional(),
        json: z.boolean().optional(),
      }),
      raw,
    );
    const ways = [o.users !== undefined || o.usersFile !== undefined, o.activeFrom !== undefined || o.activeTo !== undefined, o.category !== undefined, o.everyone === true].filter(Boolean).length;
    if (ways !== 1) throw new UsageError('say whom, one way: --users ID,ID (or --users-file FILE), --active-from and --active-to, --category C, or --everyone');
    let body: Record<string, unknown>;
    if (o.users !== undefined || o.usersFile !== undefined) {
      const ids = [...(list(o.users ?? '') as string[])];
      if (o.usersFile) {
        const text = await readFile(o.usersFile, 'utf8').catch((err: Error) => {
          throw new UsageError(`--users-file: cannot read ${o.usersFile}: ${err.message}`);
        });
        ids.push(...text.split(/\s+/).filter(Boolean));
      }
      if (ids.length > MAX_SELECT_IDS) throw new UsageError(`--users: at most ${MAX_SELECT_IDS} ids at once (select again for more)`);
      body = { by: 'users', userIds: ids };
    } else if (o.activeFrom !== undefined || o.activeTo !== undefined) {
      body = { by: 'activity', from: o.activeFrom, to: o.activeTo };
    } else if (o.category !== undefined) {
      body = { by: 'data_category', category: o.category };
    } else {
      body = { by: 'everyone' };
    }
    const parsed = selectionSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const flag = { userIds: '--users', from: '--active-from', to: '--active-to', category: '--category' }[String(issue.path[0])] ?? '--users';
      throw new UsageError(`${flag}: ${issue.message}`);
    }
    const { incident, added, leftOutErased } = await this.incidents.select(o.id, parsed.data, { actor: cliActor(), reason: o.reason });
    const leftOut = leftOutErased ? `, ${leftOutErased} erased left out (no address to notify)` : '';
    printResult(o.json, `${added} people added${leftOut}\n${human(incident)}`, { added, leftOutErased, incident: incidentView(incident) });
  }

  @Option({ flags: '--users <ids>', description: 'comma-separated user ids' })
  parseUsers(v: string): string {
    return v;
  }
  @Option({ flags: '--users-file <file>', description: 'user ids, one per line' })
  parseUsersFile(v: string): string {
    return v;
  }
  @Option({ flags: '--active-from <iso>', description: 'people with a request or a session from this instant…' })
  parseActiveFrom(v: string): string {
    return v;
  }
  @Option({ flags: '--active-to <iso>', description: '…to this one (exclusive)' })
  parseActiveTo(v: string): string {
    return v;
  }
  @Option({ flags: '--category <category>', description: `people whose data of this kind we hold: ${DATA_CATEGORIES.join(', ')}` })
  parseCategory(v: string): string {
    return v;
  }
  @Option({ flags: '--everyone', description: 'every person with an account' })
  parseEveryone(): boolean {
    return true;
  }
}

@SubCommand({ name: 'preview', description: 'print the notice the people affected will receive' })
export class PreviewNoticeCommand extends OnIncident {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, json: z.boolean().optional() }), raw);
    const notice = await this.incidents.preview(o.id);
    printResult(o.json, `Subject: ${notice.subject}\n\n${notice.text}`, { ...notice });
  }
}

@SubCommand({ name: 'notify', description: 'queue a notice for everyone selected (needs a confirmed incident; audited); --wait follows the sending' })
export class NotifyAffectedCommand extends StaffStep {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, reason: staffReason, wait: z.boolean().optional(), json: z.boolean().optional() }), raw);
    const { incident, queued } = await this.incidents.notify(o.id, { actor: cliActor(), reason: o.reason });
    if (o.wait) await this.follow(o.id);
    const status = statusView(await this.incidents.status(o.id));
    printResult(o.json, `${queued} notice(s) queued (the worker sends them)\n${statusText(status)}`, { queued, incident: incidentView(incident), status });
    // Waited for, and some could not be sent: a script running this must not read it as done.
    if (o.wait && status.notices.failed > 0) {
      process.stderr.write(`warning: ${status.notices.failed} notice(s) could not be sent and were given up; \`tollgate compliance incident report\` lists the outcome\n`);
      process.exitCode = 1;
    }
  }

  /** Until nothing is pending: the sent and given-up count as done. */
  private async follow(incidentId: string): Promise<void> {
    let counts = (await this.incidents.status(incidentId)).counts;
    const bar = progressBar('notices', counts.queued, 'notices');
    try {
      while (counts.pending > 0) {
        bar.update(counts.sent + counts.failed);
        await new Promise((r) => setTimeout(r, 500));
        counts = (await this.incidents.status(incidentId)).counts;
      }
      bar.update(counts.sent + counts.failed);
    } finally {
      bar.stop();
    }
  }

  @Option({ flags: '--wait', description: 'wait until every queued notice is sent or given up, with a progress bar; exits 1 when any was given up' })
  parseWait(): boolean {
    return true;
  }
}

@SubCommand({ name: 'status', description: 'time left on the 72-hour clock, notices sent and pending; warns under 24 hours with notices unsent' })
export class IncidentStatusCommand extends OnIncident {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, json: z.boolean().optional() }), raw);
    const s = statusView(await this.incidents.status(o.id));
    printResult(o.json, statusText(s), { ...s });
    if (s.clock.warning && o.json) process.stderr.write(`warning: ${s.clock.warning}\n`);
  }
}

@SubCommand({ name: 'report', description: "the supervisory authority's record (Art. 33(3), timeline, notices): Markdown, or JSON with --json (audited)" })
export class IncidentReportCommand extends OnIncident {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, json: z.boolean().optional() }), raw);
    const report = await this.incidents.report(o.id, cliActor());
    if (o.json) printResult(true, '', { ...report });
    else process.stdout.write(reportMarkdown(report));
  }
}

@SubCommand({ name: 'close', description: 'close the incident; the reason is its closing summary (audited; refused while notices are pending)' })
export class CloseIncidentCommand extends StaffStep {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, reason: staffReason, json: z.boolean().optional() }), raw);
    const i = await this.incidents.close(o.id, { actor: cliActor(), reason: o.reason });
    printResult(o.json, human(i), { incident: incidentView(i) });
  }
}

@SubCommand({ name: 'list', description: 'the incidents, newest first' })
export class ListIncidentsCommand extends CommandRunner {
  constructor(private readonly incidents: IncidentsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), json: z.boolean().optional() }), raw);
    const rows = (await this.incidents.list(o.limit)).map(listView);
    printResult(o.json, rows.length === 0 ? 'no incidents' : rows.map((r) => `${r.id}  ${r.status.padEnd(9)}  opened ${r.openedAt}  ${r.title}`).join('\n'), { incidents: rows });
  }

  @Option({ flags: '--limit <n>', description: 'at most this many (default 100)' })
  parseLimit(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

export const INCIDENT_VERBS = [
  OpenIncidentCommand,
  ConfirmIncidentCommand,
  SelectAffectedCommand,
  PreviewNoticeCommand,
  NotifyAffectedCommand,
  IncidentStatusCommand,
  IncidentReportCommand,
  CloseIncidentCommand,
  ListIncidentsCommand,
];

@SubCommand({ name: 'incident', description: 'breach incidents: open, confirm, select, preview, notify, status, report, close, list', subCommands: INCIDENT_VERBS })
export class IncidentCommand extends CommandGroup {}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
