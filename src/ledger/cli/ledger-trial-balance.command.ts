import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { CLOCK, Clock } from '../../platform/clock';
import { LedgerReports } from '../application/ledger-reports.service';
import { pastInstant } from './ledger-cli-options';

/**
 * `tollgate ledger trial-balance [--as-of ISO]`: every ledger account; the total must be 0 (exit 1
 * if not). The figures are LedgerReports', as GET /staff/ledger/trial-balance answers them.
 */
@SubCommand({ name: 'trial-balance', description: 'every ledger account and its balance; the total must be zero' })
export class LedgerTrialBalanceCommand extends CommandRunner {
  constructor(
    private readonly reports: LedgerReports,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const options = z.object({ asOf: pastInstant(this.clock.now()).optional(), json: z.boolean().optional() });
    const { asOf, json } = parseOptions(options, raw);
    const tb = await this.reports.trialBalance(asOf);
    const width = Math.max(14, ...tb.lines.map((l) => l.ledgerAccount.length));
    const human = [
      `trial balance as of ${tb.asOf ?? 'now'}`,
      ...tb.lines.map((l) => `${l.ledgerAccount.padEnd(width)}  ${l.balance.padStart(20)}`),
      `${'total'.padEnd(width)}  ${tb.total.padStart(20)}`,
    ].join('\n');
    printResult(json, human, { ...tb });
    if (!tb.balanced) {
      process.stderr.write(`error: the ledger does not balance: total ${tb.total}\n`);
      process.exitCode = 1;
    }
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
