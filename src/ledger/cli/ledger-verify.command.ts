import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { Pool } from 'pg';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { progressBar } from '../../cli/progress';
import { PG_POOL } from '../../platform/database/pg';
import { EVENT_STORE, EventStore } from '../../platform/event-store/event-store.port';
import { LedgerVerifier } from '../application/ledger-verifier';
import { ReadModels } from '../application/read-models';
import { formatCredits } from '../../shared/money';

const options = z.object({ json: z.boolean().optional() });

/** `tollgate ledger verify`: exit 0 when log, invariants and read models all agree; else 1 and the list. */
@SubCommand({ name: 'verify', description: 're-check every hash chain and invariant, and compare read models with a replay' })
export class LedgerVerifyCommand extends CommandRunner {
  constructor(
    private readonly readModels: ReadModels,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(options, raw);
    // A halted read model does not stop the check: it is one of the problems reported.
    const halted = await this.readModels.bringUpToDate(undefined, { allowHalted: true });
    const bar = progressBar('verify', await this.readModels.ledgerEventCount());
    let report;
    try {
      report = await new LedgerVerifier(this.pool, this.store).verify((n) => bar.update(n), halted);
    } finally {
      bar.stop();
    }
    const ok = report.problems.length === 0;
    const owed = `receivables: ${formatCredits(report.receivable)} owed by ${report.accountsOwing} account(s) from late settles`;
    const human = ok
      ? `ok: ${report.events} events in ${report.streams} streams (${report.accounts} accounts) verify; read models match a replay\n${owed}`
      : [`FAILED: ${report.problems.length}${report.truncated ? '+' : ''} problems`, ...report.problems.map((p) => `  - ${p}`), owed].join('\n');
    printResult(json, human, { ok, ...report, receivable: formatCredits(report.receivable) });
    if (!ok) process.exitCode = 1;
  }

  @Option({ flags: '--json', description: 'print the report as JSON' })
  parseJson(): boolean {
    return true;
  }
}
