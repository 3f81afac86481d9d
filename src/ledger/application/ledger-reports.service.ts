/**
 * The accountant's two figures, as `tollgate ledger trial-balance|balance` prints them with
 * --json and `GET /staff/ledger/trial-balance`, `GET /staff/accounts/{id}/balance` answer them:
 * one shape, built here, so the CLI and the API cannot disagree. Amounts are exact decimal
 * strings of credits (formatCredits), like every other amount the account API shows.
 *
 * Each question first brings the read models up to date (ReadModels), so an answer is never
 * stale whether or not a worker runs. Concurrent questions share catch-ups: one runs at a time
 * (the port's runner is one object: two start/stop pairs over it would stop each other), and
 * those that arrive while it runs wait for the next one, which starts after they asked, so each
 * answer includes every event committed before its question.
 */
import { Injectable } from '@nestjs/common';
import { isPgUnavailable } from '../../platform/database/pg-unavailable';
import { DomainError } from '../../shared/domain-error';
import { formatCredits } from '../../shared/money';
import { LedgerReadRepository } from './ledger-read.repository';
import { ReadModels } from './read-models';

export interface TrialBalanceReport {
  asOf: string | null;
  lines: Array<{ ledgerAccount: string; balance: string }>;
  total: string;
  balanced: boolean;
}

export interface BalanceReport {
  accountId: string;
  asOf: string | null;
  available: string;
  held: string;
  frozen: string;
  receivable: string;
  /** What the account has net of what it owes: available + held + frozen − receivable. */
  total: string;
}

/** The read models did not catch up in time (a long backlog): the figures would be stale, so none are given. */
export class ReadModelsBehindError extends DomainError<'read_models_behind'> {
  override readonly name = 'ReadModelsBehindError';
}

/** How long the CLI waits for the read models (a long replay on a terminal is fine). */
export const CLI_CATCH_UP_MS = 600_000;

@Injectable()
export class LedgerReports {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(
    private readonly readModels: ReadModels,
    private readonly reads: LedgerReadRepository,
  ) {}

  async trialBalance(asOf: Date | undefined, catchUpMs = CLI_CATCH_UP_MS): Promise<TrialBalanceReport> {
    await this.catchUp(catchUpMs);
    const tb = await this.reads.trialBalance(asOf);
    return {
      asOf: asOf?.toISOString() ?? null,
      lines: tb.lines.map((l) => ({ ledgerAccount: l.ledgerAccount, balance: formatCredits(l.balance) })),
      total: formatCredits(tb.total),
      balanced: tb.total === 0n,
    };
  }

  async balance(accountId: string, asOf: Date | undefined, catchUpMs = CLI_CATCH_UP_MS): Promise<BalanceReport> {
    await this.catchUp(catchUpMs);
    const b = await this.reads.balance(accountId, asOf);
    return {
      accountId,
      asOf: asOf?.toISOString() ?? null,
      available: formatCredits(b.available),
      held: formatCredits(b.held),
      frozen: formatCredits(b.frozen),
      receivable: formatCredits(b.receivable),
      total: formatCredits(b.available + b.held + b.frozen - b.receivable),
    };
  }

  /** One catch-up at a time; callers arriving meanwhile share the one after it. */
  private catchUp(timeoutMs: number): Promise<void> {
    if (!this.running) {
      const run = this.readModels.bringUpToDate(timeoutMs).then(
        () => undefined,
        (err: unknown) => {
          // Halted models and an unreachable database say so themselves; what is left is the runner's timeout.
          if (err instanceof DomainError || isPgUnavailable(err)) throw err;
          throw new ReadModelsBehindError('read_models_behind', `the read models are behind the ledger: ${(err as Error).message}`);
        },
      );
      this.running = run.finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.catchUp(timeoutMs);
      });
    return this.next;
  }
}
