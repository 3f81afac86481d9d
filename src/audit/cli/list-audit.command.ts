import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { isUuid } from '../../shared/ids';
import { AuditEntry, StaffAudit } from '../application/staff-audit.service';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A start instant: ISO 8601 with a zone, or a bare date meaning the start of that day in UTC. */
const since = z.string().transform((value, ctx) => {
  const v = value.trim();
  const ms = DATE_ONLY.test(v) ? Date.parse(`${v}T00:00:00Z`) : DATE_TIME.test(v) ? Date.parse(v) : NaN;
  if (!Number.isNaN(ms) && (!DATE_ONLY.test(v) || new Date(ms).toISOString().startsWith(v))) return new Date(ms);
  ctx.addIssue({ code: 'custom', message: `must be an ISO 8601 date (2026-03-31) or date-time with a zone (2026-03-31T12:00:00Z), got ${JSON.stringify(value)}` });
  return z.NEVER;
});

const options = z.object({
  subject: z.string().trim().refine(isUuid, 'must be a user id').optional(),
  actor: z.string().trim().min(1, 'must not be empty').max(100, 'is too long').optional(),
  since: since.optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000').transform(Number).pipe(z.number().min(1, 'must be at least 1').max(1000, 'must be at most 1000')).default(50),
  json: z.boolean().optional(),
});

const entryJson = (e: AuditEntry) => ({ ...e, at: e.at.toISOString() });

function table(entries: AuditEntry[]): string {
  const oneLine = (s: string) => s.replace(/\s+/g, ' ');
  const rows = entries.map((e) => [
    e.at.toISOString(),
    e.actor,
    e.action,
    e.subjectUserId ?? '-',
    e.reasonErased ? '(erased)' : e.reason === null ? '-' : oneLine(e.reason),
    Object.entries(e.details).map(([k, v]) => `${k}=${String(v)}`).join(' ') || '-',
  ]);
  const header = ['AT', 'ACTOR', 'ACTION', 'SUBJECT', 'REASON', 'DETAILS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * `tollgate audit list [--subject ID] [--actor ID] [--since ISO] [--limit N] [--json]`: the
 * audit trail, oldest first (from --since, else the latest N). Reading it is itself recorded.
 */
@SubCommand({ name: 'list', description: 'list audited staff actions, oldest first' })
export class ListAuditCommand extends CommandRunner {
  constructor(private readonly audit: StaffAudit) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { subject, actor, since, limit, json } = parseOptions(options, raw);
    const entries = await this.audit.list({ subjectUserId: subject, actor, since, limit });
    // The reasons shown may carry personal data: reading the trail is an audited read.
    await this.audit.record({
      actor: cliActor(),
      action: 'audit.list',
      subjectUserId: subject ?? null,
      details: { actor: actor ?? null, since: since?.toISOString() ?? null, limit, shown: entries.length },
    });
    printResult(json, entries.length ? table(entries) : 'no audited actions match', { entries: entries.map(entryJson) });
  }

  @Option({ flags: '--subject <user-id>', description: 'only actions about this person' })
  parseSubject(v: string): string {
    return v;
  }

  @Option({ flags: '--actor <id>', description: 'only actions by this user id (or cli:<name>)' })
  parseActor(v: string): string {
    return v;
  }

  @Option({ flags: '--since <instant>', description: 'from this ISO 8601 instant (a bare date: its start, UTC)' })
  parseSince(v: string): string {
    return v;
  }

  @Option({ flags: '--limit <n>', description: 'at most this many (1-1000, default 50)' })
  parseLimit(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print {"entries":[…]} as JSON' })
  parseJson(): boolean {
    return true;
  }
}
