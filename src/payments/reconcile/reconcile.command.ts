/**
 * `tollgate payments reconcile --from --to [--json]`: every Stripe payment intent and refund in
 * the window against the ledger's purchases and refunds, and every credited chain transfer
 * against the chain (re-read by tx hash). Prints what differs; exit 1 when anything does (and
 * when a source could not be read: an unread source proves nothing). The work is
 * Reconciliation's, shared with POST /staff/payments/reconcile.
 */
import { Option, SubCommand, CommandRunner } from 'nest-commander';
import { z } from 'zod';
import { UsageError } from '../../cli/cli-errors';
import { parseOptions, printResult } from '../../cli/cli-options';
import { Progress, progressBar } from '../../cli/progress';
import { instant } from '../../ledger/cli/ledger-cli-options';
import { Reconciliation } from './reconciliation.service';

const options = z.object({ from: instant, to: instant.optional(), json: z.boolean().optional() });

@SubCommand({ name: 'reconcile', description: 'compare Stripe and the chains with the ledger over [--from, --to); exit 1 when anything differs' })
export class ReconcileCommand extends CommandRunner {
  constructor(private readonly reconciliation: Reconciliation) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(options, raw);
    const to = o.to ?? new Date();
    if (o.from >= to) throw new UsageError('--from must be before --to');
    let bar: Progress | null = null;
    const report = await this.reconciliation.run(o.from, to, {
      started: (source) => (bar = o.json ? null : progressBar(`reconciling ${source}`, 0)),
      progress: (_source, done) => bar?.update(done),
      finished: () => bar?.stop(),
    });
    const failed = report.sources.filter((s) => s.error);
    const human = [
      `window ${report.from} to ${report.to}`,
      ...(report.sources.length === 0 ? ['no payment method is configured: nothing to reconcile'] : []),
      ...report.sources.map((s) => (s.error ? `${s.source}: could not be read: ${s.error}` : `${s.source}: ${s.compared} compared, ${s.differences} differ`)),
      ...report.differences.map((d) => `DIFF ${d.source} ${d.kind} ${d.reference}: ${d.detail}`),
      report.matches ? 'everything matches' : `${report.differences.length} difference(s)${failed.length ? `, ${failed.length} source(s) unread` : ''}`,
    ].join('\n');
    printResult(o.json, human, { from: report.from, to: report.to, sources: report.sources, differences: report.differences });
    if (!report.matches) process.exitCode = 1;
  }

  @Option({ flags: '--from <instant>', description: 'start of the window (ISO 8601 with a zone; a bare date means the end of that day, UTC, as in every ledger command)', required: true })
  parseFrom(v: string): string {
    return v;
  }
  @Option({ flags: '--to <instant>', description: 'end of the window, excluded (default: now)' })
  parseTo(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print JSON' })
  parseJson(): boolean {
    return true;
  }
}
