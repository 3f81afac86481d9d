import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { LedgerReadRepository } from '../application/ledger-read.repository';
import { ReadModels } from '../application/read-models';
import { formatCredits } from '../../shared/money';
import { instant } from './ledger-cli-options';

const options = z.object({ asOf: instant.optional(), json: z.boolean().optional() });

/** `tollgate ledger trial-balance [--as-of ISO]`: every ledger account; the total must be 0 (exit 1 if not). */
@SubCommand({ name: 'trial-balance', description: 'every ledger account and its balance; the total must be zero' })
export class LedgerTrialBalanceCommand extends CommandRunner {
  constructor(
    private readonly readModels: ReadModels,
    private readonly reads: LedgerReadRepository,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { asOf, json } = parseOptions(options, raw);
    await this.readModels.bringUpToDate();
    const tb = await this.reads.trialBalance(asOf);
    const width = Math.max(14, ...tb.lines.map((l) => l.ledgerAccount.length));
    const human = [
      `trial balance as of ${asOf ? asOf.toISOString() : 'now'}`,
      ...tb.lines.map((l) => `${l.ledgerAccount.padEnd(width)}  ${formatCredits(l.balance).padStart(20)}`),
      `${'total'.padEnd(width)}  ${formatCredits(tb.total).padStart(20)}`,
    ].join('\n');
    printResult(json, human, {
      asOf: asOf?.toISOString() ?? null,
      lines: tb.lines.map((l) => ({ ledgerAccount: l.ledgerAccount, balance: formatCredits(l.balance) })),
      total: formatCredits(tb.total),
      balanced: tb.total === 0n,
    });
    if (tb.total !== 0n) {
      process.stderr.write(`error: the ledger does not balance: total ${formatCredits(tb.total)}\n`);
      process.exitCode = 1;
    }
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
