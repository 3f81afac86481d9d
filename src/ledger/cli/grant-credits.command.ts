import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { GrantPromoCreditsCommand, GrantedCredits } from '../application/grant-promo-credits.command';
import { LedgerError } from '../domain/errors';
import { MAX_CREDITS_TEXT, MAX_MICROS, MoneyFormatError, formatCredits, parseCredits } from '../../shared/money';

const credits = z.string().transform((value, ctx) => {
  try {
    const micros = parseCredits(value);
    // Refused here too, not only in the decider: bad usage (exit 2) that never reaches the ledger.
    if (micros > MAX_MICROS) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_CREDITS_TEXT} credits (the ledger's bound), got ${JSON.stringify(value)}` });
    } else if (micros > 0n) {
      return micros;
    } else {
      ctx.addIssue({ code: 'custom', message: `must be more than 0 credits, got ${JSON.stringify(value)}` });
    }
  } catch (err) {
    if (!(err instanceof MoneyFormatError)) throw err;
    ctx.addIssue({ code: 'custom', message: `must be a number of credits with at most 6 decimals, got ${JSON.stringify(value)}` });
  }
  return z.NEVER;
});

const options = z.object({
  account: z.string().trim().min(1, 'must not be empty').max(200, 'is too long'),
  amount: credits,
  reason: z.string().trim().min(1, 'must not be empty').max(500, 'is too long'),
  grantId: z.string().trim().min(1, 'must not be empty').max(200, 'is too long').optional(),
  json: z.boolean().optional(),
});

/**
 * `tollgate credits grant`: an audited promotional grant. The grant id makes it idempotent:
 * running it again with the same --grant-id changes nothing (a different amount or reason
 * under the same id is refused).
 */
@SubCommand({ name: 'grant', description: 'grant promotional credits to an account (audited)' })
export class GrantCreditsCommand extends CommandRunner {
  constructor(private readonly commands: CommandBus) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { account, amount, reason, grantId = randomUUID(), json } = parseOptions(options, raw);
    let granted: GrantedCredits;
    try {
      granted = await this.commands.execute(new GrantPromoCreditsCommand(account, { grantId, amount, reason }, { actor: cliActor() }));
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'account_not_found') {
        throw new LedgerError('account_not_found', `no account ${account}`);
      }
      throw err;
    }
    const { outcome, available } = granted;
    const human = outcome.idempotent
      ? `grant ${grantId} was already recorded; nothing changed. available: ${formatCredits(available)}`
      : `granted ${formatCredits(amount)} credits to ${account} (grant ${grantId}). available: ${formatCredits(available)}`;
    printResult(json, human, {
      accountId: account,
      grantId,
      amount: formatCredits(amount),
      idempotent: outcome.idempotent,
      available: formatCredits(available),
    });
  }

  @Option({ flags: '--account <id>', description: 'the account to credit', required: true })
  parseAccount(value: string): string {
    return value;
  }

  @Option({ flags: '--amount <credits>', description: 'credits to grant, e.g. 5 or 2.50 (at most 6 decimals)', required: true })
  parseAmount(value: string): string {
    return value;
  }

  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)', required: true })
  parseReason(value: string): string {
    return value;
  }

  @Option({ flags: '--grant-id <id>', description: 'idempotency key (default: a new uuid)' })
  parseGrantId(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
