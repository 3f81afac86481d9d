import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { UsageError } from '../../cli/cli-errors';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { StaffAudit } from '../../audit/application/staff-audit.service';
import { receiptOf } from '../../proxy/usage/receipt';
import { UserActivity } from '../application/user-activity.service';
import { requestWindowFields, windowProblem } from '../application/request-window';

const MAX_LIMIT = 1000;
const options = z.object({
  user: z.uuid({ error: 'must be a user id' }),
  ...requestWindowFields,
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(50),
  json: z.boolean().optional(),
});

/**
 * `tollgate staff requests --user ID [--from] [--to] [--limit N] [--json]`: a person's request log
 * with each receipt, newest first: what GET /staff/users/{id}/requests pages through (the same
 * UserActivity and window). The read is recorded in the audit trail as the route records it.
 */
@SubCommand({ name: 'requests', description: "a person's request log with receipts, newest first (audited)" })
export class UserRequestsCommand extends CommandRunner {
  constructor(
    private readonly activity: UserActivity,
    private readonly audit: StaffAudit,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(options, raw);
    const problem = windowProblem(o);
    if (problem) throw new UsageError(`--from: ${problem} --to`);
    const window = { from: o.from ?? null, to: o.to ?? null };
    const { user, rows } = await this.activity.requestsOf(o.user, window, o.limit, null);
    const receipts = rows.map((r) => receiptOf(r.row));
    await this.audit.record({
      actor: cliActor(),
      action: 'users.requests',
      subjectUserId: user.userId,
      details: { found: true, from: window.from?.toISOString() ?? null, to: window.to?.toISOString() ?? null, shown: receipts.length },
    });
    const table = receipts.map((r) => [
      r.created_at,
      r.id,
      r.model,
      String(r.status),
      `${r.usage.input_tokens}/${r.usage.output_tokens}${r.estimated ? '~' : ''}`,
      r.hold,
      r.cost,
      r.price_version === null ? '-' : String(r.price_version),
    ]);
    const header = ['CREATED', 'REQUEST', 'MODEL', 'STATUS', 'IN/OUT', 'HOLD', 'COST', 'PRICES'];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    const human = receipts.length ? [line(header), ...table.map(line), '(~ marks estimated token counts)'].join('\n') : 'no requests in this window';
    printResult(o.json, human, { userId: user.userId, accountId: user.accountId, requests: receipts });
  }

  @Option({ flags: '--user <id>', description: 'the person (user id)', required: true })
  parseUser(v: string): string {
    return v;
  }
  @Option({ flags: '--from <instant>', description: 'started at or after (ISO 8601 with a zone; a bare date is its start, UTC)' })
  parseFrom(v: string): string {
    return v;
  }
  @Option({ flags: '--to <instant>', description: 'started at or before (a bare date is its end, UTC)' })
  parseTo(v: string): string {
    return v;
  }
  @Option({ flags: '--limit <n>', description: `at most this many, newest first (1–${MAX_LIMIT}, default 50)` })
  parseLimit(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print {"userId","accountId","requests":[receipt…]} as JSON' })
  parseJson(): boolean {
    return true;
  }
}
