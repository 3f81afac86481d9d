/**
 * `tollgate compliance erase --user ID | --email E --reason TEXT`: the operator erases a person
 * (right to be forgotten), audited with the CLI's actor (cli:<user>). Prints what happened to
 * the unused credit. Running it again finishes an erasure that was interrupted, and answers an
 * erasure already done as it ended. Exit 1 (one error line) for an unknown person.
 */
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { MAX_REASON_CHARS } from '../../../audit/domain/audit.events';
import { cliActor } from '../../../cli/cli-actor';
import { UsageError } from '../../../cli/cli-errors';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { progressBar } from '../../../cli/progress';
import { ERASURE_STEPS, ErasureService } from '../application/erasure.service';
import { ErasureView, erasureViewOf } from '../http/erasure-view';

const options = z.object({
  user: z.uuid({ error: 'must be a user id (uuid)' }).optional(),
  email: z.email({ error: 'must be an email address' }).max(320, 'is too long').optional(),
  reason: z.string().trim().min(1, 'must not be empty: say why (it goes into the audit trail)').max(MAX_REASON_CHARS, 'is too long'),
  json: z.boolean().optional(),
});

const human = (v: ErasureView) =>
  [
    v.alreadyErased ? `person ${v.userId} was already erased (${v.completedAt})` : `person ${v.userId} erased (${v.completedAt})`,
    `  account ${v.accountId}, ${v.revokedKeys} keys revoked`,
    `  forfeited ${v.forfeited} cr`,
    ...v.refundRequests.map((r) => `  refund request ${r.requestId}: ${r.amount} cr of purchase ${r.purchaseId} (to approve or decline: tollgate payments refunds)`),
  ].join('\n');

@SubCommand({ name: 'erase', description: 'erase a person (right to be forgotten): keys revoked, sign-ins removed, data key destroyed (audited)' })
export class EraseCommand extends CommandRunner {
  constructor(private readonly erasure: ErasureService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(options, raw);
    if ((o.user === undefined) === (o.email === undefined)) throw new UsageError('give one of --user ID or --email E');
    const userId = o.user ?? (await this.erasure.userIdByEmail(o.email as string));
    const bar = progressBar('erasing', ERASURE_STEPS.length);
    try {
      const { erasure, alreadyErased } = await this.erasure.erase(
        { userId, actor: cliActor(), via: 'cli', reason: o.reason },
        { onStep: (_step, index) => bar.update(index) },
      );
      bar.update(ERASURE_STEPS.length);
      bar.stop();
      const view = erasureViewOf(erasure, alreadyErased);
      printResult(o.json, human(view), { erasure: view });
    } catch (err) {
      bar.stop();
      throw err;
    }
  }

  @Option({ flags: '--user <id>', description: 'the person (user id)' })
  parseUser(v: string): string {
    return v;
  }
  @Option({ flags: '--email <address>', description: 'the person, by their address' })
  parseEmail(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)', required: true })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
