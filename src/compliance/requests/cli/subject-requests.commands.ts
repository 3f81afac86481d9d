/**
 * `tollgate compliance requests list|show|open|close|decline|restrict|lift`: compliance staff's
 * tools for data-subject requests, the same service as the staff API, every step recorded in the
 * staff audit trail with the CLI's actor (cli:<user>). `list --overdue` shows the open requests
 * past their 30 days, and exits 1 when there are any (for a cron job that alerts).
 */
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../../cli/cli-actor';
import { UsageError } from '../../../cli/cli-errors';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { CommandGroup } from '../../../cli/command-group';
import { UsersService } from '../../../accounts/application/users.service';
import { UserError } from '../../../accounts/domain/user.decider';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { SubjectRequestsService } from '../application/subject-requests.service';
import { SUBJECT_REQUEST_KINDS, SUBJECT_REQUEST_OUTCOMES, SUBJECT_REQUEST_STATUSES, SubjectRequest } from '../domain/subject-request';
import { closeBody, detailsField, kindField, reasonBody, reasonField, statusField } from '../http/subject-request-input';
import { StaffSubjectRequestView, staffViewOf } from '../http/subject-request-views';

const LIST_MAX = 1000;
const id = z.uuid({ error: 'must be a data-subject request id (uuid)' });

const human = (r: StaffSubjectRequestView) =>
  `${r.id}  ${r.kind.padEnd(11)}  ${r.status.padEnd(8)}  user ${r.userId}  opened ${r.openedAt}  due ${r.dueAt}` +
  (r.status === 'open' ? `  ${r.overdue ? `OVERDUE by ${-(r.daysLeft ?? 0)} day(s)` : `${r.daysLeft} day(s) left`}` : `  ${r.outcome ?? 'declined'}`) +
  (r.restricted ? '  RESTRICTED' : '');

function requestIdArg(args: string[]): string {
  const parsed = id.safeParse(args[0]);
  if (!parsed.success) throw new UsageError(`ID: ${parsed.error.issues[0].message}`);
  if (args.length > 1) throw new UsageError(`one request id, not ${args.length}`);
  return parsed.data;
}

async function show(requests: SubjectRequestsService, r: SubjectRequest, json: boolean | undefined): Promise<void> {
  const view = staffViewOf(r, await requests.opened(r), requests.now());
  printResult(json, human(view) + (view.details ? `\n  details: ${view.details}` : '') + (view.note ? `\n  note: ${view.note}` : ''), { request: view });
}

abstract class JsonOption extends CommandRunner {
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'list', description: 'data-subject requests, newest first, with due dates (overdue flagged)' })
export class ListSubjectRequestsCommand extends JsonOption {
  constructor(
    private readonly requests: SubjectRequestsService,
    private readonly audit: StaffAudit,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(
      z.object({ status: statusField.optional(), overdue: z.boolean().optional(), limit: z.coerce.number().int().min(1).max(LIST_MAX).default(100), json: z.boolean().optional() }),
      raw,
    );
    const now = this.requests.now();
    const rows = await this.requests.list({ status: o.status, overdueAt: o.overdue ? now : undefined }, o.limit, null);
    const shown = rows.slice(0, o.limit);
    const requests = await Promise.all(shown.map(async (r) => staffViewOf(r, await this.requests.opened(r), now)));
    const counts = await this.requests.openCounts();
    await this.audit.record({ actor: cliActor(), action: 'compliance.requests.list', subjectUserId: null, details: { status: o.status ?? null, overdue: o.overdue ?? false, shown: requests.length } });
    const summary = `${counts.open} open, ${counts.overdue} overdue`;
    printResult(o.json, requests.length === 0 ? `no data-subject requests (${summary})` : `${requests.map(human).join('\n')}\n${summary}`, { requests, ...counts });
    if (o.overdue && requests.length > 0) process.exitCode = 1;
  }

  @Option({ flags: '--status <status>', description: `only these: ${SUBJECT_REQUEST_STATUSES.join(', ')}` })
  parseStatus(v: string): string {
    return v;
  }
  @Option({ flags: '--overdue', description: 'only open requests past their due date (exit 1 when there are any)' })
  parseOverdue(): boolean {
    return true;
  }
  @Option({ flags: '--limit <n>', description: `at most this many (default 100, at most ${LIST_MAX})` })
  parseLimit(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'show', description: 'one data-subject request (audited)', arguments: '<id>' })
export class ShowSubjectRequestCommand extends JsonOption {
  constructor(
    private readonly requests: SubjectRequestsService,
    private readonly audit: StaffAudit,
  ) {
    super();
  }

  async run(args: string[], raw: Record<string, unknown>): Promise<void> {
    const requestId = requestIdArg(args);
    const o = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const r = await this.requests.get(requestId);
    await this.audit.record({ actor: cliActor(), action: 'compliance.requests.read', subjectUserId: r.userId, details: { requestId } });
    await show(this.requests, r, o.json);
  }
}

@SubCommand({ name: 'open', description: 'record a data-subject request for a person (by --user or --email; audited)' })
export class OpenSubjectRequestCommand extends JsonOption {
  constructor(
    private readonly requests: SubjectRequestsService,
    private readonly users: UsersService,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(
      z.object({
        user: z.uuid({ error: 'must be a user id' }).optional(),
        email: z.string().trim().min(3).max(254).optional(),
        kind: kindField,
        details: detailsField.optional(),
        reason: reasonField.optional(),
        json: z.boolean().optional(),
      }),
      raw,
    );
    if ((o.user === undefined) === (o.email === undefined)) throw new UsageError('give one of --user ID or --email E');
    const userId = o.user ?? (await this.users.findByEmail(o.email as string))?.userId;
    if (!userId) throw new UserError('user_not_found', 'no person has this email address');
    const r = await this.requests.open({ userId, kind: o.kind, details: o.details ?? null, actor: cliActor(), reason: o.reason ?? null });
    await show(this.requests, r, o.json);
  }

  @Option({ flags: '--user <id>', description: 'the person (user id)' })
  parseUser(v: string): string {
    return v;
  }
  @Option({ flags: '--email <address>', description: 'the person, by email address' })
  parseEmail(v: string): string {
    return v;
  }
  @Option({ flags: '--kind <kind>', description: SUBJECT_REQUEST_KINDS.join(', '), required: true })
  parseKind(v: string): string {
    return v;
  }
  @Option({ flags: '--details <text>', description: 'what the person asked, in their words (stored encrypted)' })
  parseDetails(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why you record it (audit trail), e.g. "asked by letter of 3 May"' })
  parseReason(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'close', description: 'close a data-subject request with what was done (audited)', arguments: '<id>' })
export class CloseSubjectRequestCommand extends JsonOption {
  constructor(private readonly requests: SubjectRequestsService) {
    super();
  }

  async run(args: string[], raw: Record<string, unknown>): Promise<void> {
    const requestId = requestIdArg(args);
    const o = parseOptions(closeBody.extend({ json: z.boolean().optional() }), raw);
    await show(this.requests, await this.requests.close(requestId, { outcome: o.outcome, note: o.note, actor: cliActor() }), o.json);
  }

  @Option({ flags: '--outcome <outcome>', description: SUBJECT_REQUEST_OUTCOMES.join(', '), required: true })
  parseOutcome(v: string): string {
    return v;
  }
  @Option({ flags: '--note <text>', description: 'what was done (kept in the audit trail)', required: true })
  parseNote(v: string): string {
    return v;
  }
}

abstract class ReasonCommand extends JsonOption {
  constructor(protected readonly requests: SubjectRequestsService) {
    super();
  }

  protected abstract step(requestId: string, reason: string): Promise<SubjectRequest>;

  async run(args: string[], raw: Record<string, unknown>): Promise<void> {
    const requestId = requestIdArg(args);
    const o = parseOptions(reasonBody.extend({ json: z.boolean().optional() }), raw);
    await show(this.requests, await this.step(requestId, o.reason), o.json);
  }

  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)', required: true })
  parseReason(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'decline', description: 'decline a data-subject request, with the reason (audited)', arguments: '<id>' })
export class DeclineSubjectRequestCommand extends ReasonCommand {
  // Its own constructor: Nest reads what to inject from the decorated class itself.
  constructor(requests: SubjectRequestsService) {
    super(requests);
  }

  protected step(requestId: string, reason: string): Promise<SubjectRequest> {
    return this.requests.decline(requestId, { reason, actor: cliActor() });
  }
}

@SubCommand({ name: 'restrict', description: "restrict processing of the person's account: the proxy refuses it until lifted (audited)", arguments: '<id>' })
export class RestrictSubjectRequestCommand extends ReasonCommand {
  // Its own constructor: Nest reads what to inject from the decorated class itself.
  constructor(requests: SubjectRequestsService) {
    super(requests);
  }

  protected step(requestId: string, reason: string): Promise<SubjectRequest> {
    return this.requests.restrict(requestId, { reason, actor: cliActor() });
  }
}

@SubCommand({ name: 'lift', description: "lift the request's restriction (audited)", arguments: '<id>' })
export class LiftSubjectRequestCommand extends ReasonCommand {
  // Its own constructor: Nest reads what to inject from the decorated class itself.
  constructor(requests: SubjectRequestsService) {
    super(requests);
  }

  protected step(requestId: string, reason: string): Promise<SubjectRequest> {
    return this.requests.lift(requestId, { reason, actor: cliActor() });
  }
}

export const SUBJECT_REQUEST_COMMANDS = [
  ListSubjectRequestsCommand,
  ShowSubjectRequestCommand,
  OpenSubjectRequestCommand,
  CloseSubjectRequestCommand,
  DeclineSubjectRequestCommand,
  RestrictSubjectRequestCommand,
  LiftSubjectRequestCommand,
];

@SubCommand({ name: 'requests', description: 'data-subject requests: list, show, open, close, decline, restrict, lift', subCommands: SUBJECT_REQUEST_COMMANDS })
export class SubjectRequestsCommand extends CommandGroup {}
