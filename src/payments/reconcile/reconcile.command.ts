/**
 * `tollgate payments reconcile --from --to [--json]`: every Stripe payment intent and refund in
 * the window against the ledger's purchases and refunds, and every credited chain transfer
 * against the chain (re-read by tx hash). Prints what differs; exit 1 when anything does (and
 * when a source could not be read: an unread source proves nothing).
 */
import { Option, SubCommand, CommandRunner } from 'nest-commander';
import { z } from 'zod';
import { UsageError } from '../../cli/cli-errors';
import { parseOptions, printResult } from '../../cli/cli-options';
import { progressBar } from '../../cli/progress';
import { instant } from '../../ledger/cli/ledger-cli-options';
import { Difference } from './difference';
import { Reconcilers } from './reconciler-registry';

const options = z.object({ from: instant, to: instant.optional(), json: z.boolean().optional() });

@SubCommand({ name: 'reconcile', description: 'compare Stripe and the chains with the ledger over [--from, --to); exit 1 when anything differs' })
export class ReconcileCommand extends CommandRunner {
  constructor(private readonly reconcilers: Reconcilers) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(options, raw);
    const to = o.to ?? new Date();
    if (o.from >= to) throw new UsageError('--from must be before --to');
    const sources = this.reconcilers.all();
    const differences: Difference[] = [];
    const summary: Array<{ source: string; compared: number; differences: number; error?: string }> = [];
    for (const r of sources) {
      const bar = o.json ? null : progressBar(`reconciling ${r.source}`, 0);
      try {
        const result = await r.reconcile(o.from, to, (done) => bar?.update(done));
        differences.push(...result.differences);
        summary.push({ source: r.source, compared: result.compared, differences: result.differences.length });
      } catch (err) {
        summary.push({ source: r.source, compared: 0, differences: 0, error: (err as Error).message });
      } finally {
        bar?.stop();
      }
    }
    const failed = summary.filter((s) => s.error);
    const human = [
      `window ${o.from.toISOString()} to ${to.toISOString()}`,
      ...(sources.length === 0 ? ['no payment method is configured: nothing to reconcile'] : []),
      ...summary.map((s) => (s.error ? `${s.source}: could not be read: ${s.error}` : `${s.source}: ${s.compared} compared, ${s.differences} differ`)),
      ...differences.map((d) => `DIFF ${d.source} ${d.kind} ${d.reference}: ${d.detail}`),
      differences.length === 0 && failed.length === 0 ? 'everything matches' : `${differences.length} difference(s)${failed.length ? `, ${failed.length} source(s) unread` : ''}`,
    ].join('\n');
    printResult(o.json, human, { from: o.from.toISOString(), to: to.toISOString(), sources: summary, differences });
    if (differences.length > 0 || failed.length > 0) process.exitCode = 1;
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
