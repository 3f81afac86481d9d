import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { LedgerReadRepository } from '../application/ledger-read.repository';
import { ReadModels } from '../application/read-models';
import { formatCredits } from '../../shared/money';
import { accountId, instant } from './ledger-cli-options';

const options = z.object({ account: accountId, asOf: instant.optional(), json: z.boolean().optional() });

/**
 * `tollgate ledger balance --account ID [--as-of ISO]`: exact available, held and owed (the
 * receivable a late settle left), now or at an instant. Total is what the account has net of
 * what it owes.
 */
@SubCommand({ name: 'balance', description: "an account's available, held and owed credits, now or as of an instant" })
export class LedgerBalanceCommand extends CommandRunner {
  constructor(
    private readonly readModels: ReadModels,
    private readonly reads: LedgerReadRepository,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { account, asOf, json } = parseOptions(options, raw);
    await this.readModels.bringUpToDate();
    const b = await this.reads.balance(account, asOf);
    const when = asOf ? asOf.toISOString() : 'now';
    printResult(
      json,
      [
        `account    ${account}`,
        `as of      ${when}`,
        `available  ${formatCredits(b.available)}`,
        `held       ${formatCredits(b.held)}`,
        `frozen     ${formatCredits(b.frozen)}`,
        `owed       ${formatCredits(b.receivable)}`,
        `total      ${formatCredits(b.available + b.held + b.frozen - b.receivable)}`,
      ].join('\n'),
      {
        accountId: account,
        asOf: asOf?.toISOString() ?? null,
        available: formatCredits(b.available),
        held: formatCredits(b.held),
        frozen: formatCredits(b.frozen),
        receivable: formatCredits(b.receivable),
        total: formatCredits(b.available + b.held + b.frozen - b.receivable),
      },
    );
  }

  @Option({ flags: '--account <id>', description: 'the account', required: true })
  parseAccount(v: string): string {
    return v;
  }

  @Option({ flags: '--as-of <instant>', description: 'ISO 8601 instant (a bare date means the end of that day, UTC)' })
  parseAsOf(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
