import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { CLOCK, Clock } from '../../platform/clock';
import { LedgerReports } from '../application/ledger-reports.service';
import { accountId, pastInstant } from './ledger-cli-options';

/**
 * `tollgate ledger balance --account ID [--as-of ISO]`: exact available, held and owed (the
 * receivable a late settle left), now or at an instant. Total is what the account has net of
 * what it owes. The figures are LedgerReports', as GET /staff/accounts/{id}/balance answers them.
 */
@SubCommand({ name: 'balance', description: "an account's available, held and owed credits, now or as of an instant" })
export class LedgerBalanceCommand extends CommandRunner {
  constructor(
    private readonly reports: LedgerReports,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const options = z.object({ account: accountId, asOf: pastInstant(this.clock.now()).optional(), json: z.boolean().optional() });
    const { account, asOf, json } = parseOptions(options, raw);
    const b = await this.reports.balance(account, asOf);
    printResult(
      json,
      [
        `account    ${b.accountId}`,
        `as of      ${b.asOf ?? 'now'}`,
        `available  ${b.available}`,
        `held       ${b.held}`,
        `frozen     ${b.frozen}`,
        `owed       ${b.receivable}`,
        `total      ${b.total}`,
      ].join('\n'),
      { ...b },
    );
  }

  @Option({ flags: '--account <id>', description: 'the account', required: true })
  parseAccount(v: string): string {
    return v;
  }

  @Option({ flags: '--as-of <instant>', description: 'ISO 8601 instant, not in the future (a bare date means the end of that day, UTC)' })
  parseAsOf(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
