/**
 * `tollgate compliance retention status|run`: where retention stands (the oldest usage still
 * readable, the day keys held, the last and next pass) and the pass itself, run now (the same
 * as the worker's scheduled one; idempotent).
 */
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { CommandGroup } from '../../cli/command-group';
import { progressBar } from '../../cli/progress';
import { ReadModels } from '../../ledger/application/read-models';
import { RetentionRun, RetentionStatus, UsageRetentionService } from './usage-retention.service';

const jsonOnly = z.object({ json: z.boolean().optional() });

function statusText(s: RetentionStatus): string {
  return [
    `retention:               ${s.retentionDays} days`,
    `oldest request log row:  ${s.oldestRequestLog ?? '(none)'}`,
    `oldest readable day:     ${s.oldestReadableDay ?? '(no day key held)'}`,
    `day keys held:           ${s.dayKeysHeld}`,
    `forgotten before:        ${s.forgottenBefore ?? '(nothing forgotten yet)'}`,
    `days closed through:     ${s.closedThrough ?? '(none closed yet)'}`,
    `last run:                ${s.lastRunAt ?? 'never'}`,
    `next run:                ${s.nextRunAt}${s.overdue ? ' (overdue: a worker runs it when it starts)' : ''}`,
  ].join('\n');
}

function runText(r: RetentionRun): string {
  const hooks = Object.entries(r.hooks).map(([name, n]) => `, ${name}: ${n}`).join('');
  return (
    `closed ${r.daysClosed.length} usage day(s)${r.closeBlocked ? ` (blocked: ${r.closeBlocked})` : ''}; ` +
    `deleted ${r.requestLogRows} request log row(s) started before ${r.cutoff}; ` +
    `destroyed ${r.dayKeysDestroyed.length} day key(s)${r.dayKeysDestroyed.length ? ` (${r.dayKeysDestroyed[0]} to ${r.dayKeysDestroyed.at(-1)})` : ''}; ` +
    `usage before ${r.forgottenBefore} is forgotten${hooks}`
  );
}

@SubCommand({ name: 'status', description: 'the oldest readable usage record, day keys held, last and next retention pass' })
export class RetentionStatusCommand extends CommandRunner {
  constructor(private readonly retention: UsageRetentionService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(jsonOnly, raw);
    const status = await this.retention.status();
    printResult(o.json, statusText(status), { ...status });
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'run', description: 'run the retention pass now (the scheduled one, idempotent)' })
export class RetentionRunCommand extends CommandRunner {
  constructor(
    private readonly retention: UsageRetentionService,
    private readonly readModels: ReadModels,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(jsonOnly, raw);
    // Days close from the read models' rows: bring them up to date first, with or without a worker.
    await this.readModels.bringUpToDate();
    const before = await this.retention.status();
    const bar = progressBar('retention', before.oldestRequestLog ? 1 : 0);
    try {
      const result = await this.retention.run((deleted) => bar.update(deleted));
      bar.stop();
      printResult(o.json, runText(result), { ...result });
    } finally {
      bar.stop();
    }
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'retention',
  description: 'usage retention: status, run',
  subCommands: [RetentionStatusCommand, RetentionRunCommand],
})
export class RetentionCommand extends CommandGroup {}
