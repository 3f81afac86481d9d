/**
 * One reconciliation: every registered source (Stripe, the chains) over [from, to) against the
 * ledger, as `tollgate payments reconcile` prints it with --json and
 * `POST /staff/payments/reconcile` answers it. A source that cannot be read is reported with its
 * error, never skipped silently: an unread source proves nothing, so `matches` is then false.
 */
import { Injectable } from '@nestjs/common';
import { Difference } from './difference';
import { Reconcilers } from './reconciler-registry';

export interface SourceSummary {
  source: string;
  compared: number;
  differences: number;
  error?: string;
}

export interface ReconciliationReport {
  from: string;
  to: string;
  sources: SourceSummary[];
  differences: Difference[];
  /** True when every source was read and nothing differs. */
  matches: boolean;
}

export interface ReconcileProgress {
  /** A source starts: the caller may show a bar for it. */
  started?(source: string): void;
  progress?(source: string, done: number): void;
  finished?(source: string): void;
}

@Injectable()
export class Reconciliation {
  constructor(private readonly reconcilers: Reconcilers) {}

  async run(from: Date, to: Date, progress: ReconcileProgress = {}): Promise<ReconciliationReport> {
    const differences: Difference[] = [];
    const sources: SourceSummary[] = [];
    for (const r of this.reconcilers.all()) {
      progress.started?.(r.source);
      try {
        const result = await r.reconcile(from, to, (done) => progress.progress?.(r.source, done));
        differences.push(...result.differences);
        sources.push({ source: r.source, compared: result.compared, differences: result.differences.length });
      } catch (err) {
        sources.push({ source: r.source, compared: 0, differences: 0, error: (err as Error).message });
      } finally {
        progress.finished?.(r.source);
      }
    }
    const matches = differences.length === 0 && !sources.some((s) => s.error);
    return { from: from.toISOString(), to: to.toISOString(), sources, differences, matches };
  }
}
