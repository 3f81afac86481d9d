/**
 * The ledger's read models as the CLI and the worker use them: a port. The ledger's events
 * feed the projections in projections/, so the ledger must not import them; projections/
 * implements this class (projections/projection-read-models.ts) and provides it globally
 * (ProjectionsModule), and ledger code injects `ReadModels` without knowing the runner.
 *
 * In production the worker keeps them current; a CLI question (a balance, a trial balance)
 * first applies whatever the log has that they lack, so the answer is never stale, with or
 * without a worker running.
 */
import { LogPosition } from '../../platform/event-store/event-store.port';
import { DomainError } from '../../shared/domain-error';

export interface HaltedReadModel {
  name: string;
  eventId: string;
  error: string;
  haltedAt: Date;
}

/** What caughtUp() throws when a read model it waits for is halted: naming each one. */
export class ReadModelHaltedError extends DomainError<'read_model_halted', { halted: HaltedReadModel[] }> {
  override readonly name = 'ReadModelHaltedError';
  override readonly showsCode = false;

  constructor(halted: HaltedReadModel[]) {
    super(
      'read_model_halted',
      `${halted.map((h) => `read model ${h.name} is halted at event ${h.eventId} (${h.error})`).join('; ')}; ` +
        'it no longer follows the log: fix the cause, then run `tollgate ledger replay`',
      { halted },
    );
  }
}

export interface RebuildProgress {
  events: number;
  position: LogPosition;
  /** Models the rebuild found an event they cannot apply in: halted there again (see projections/halted.ts). */
  halted?: HaltedReadModel[];
}

export abstract class ReadModels {
  /**
   * Applies what the log has that the read models lack. A halted model fails it at once, naming
   * the model (ReadModelHaltedError), unless `allowHalted`: then the others are brought up to
   * date and the halted ones are returned (for `ledger verify`, which reports them).
   */
  abstract bringUpToDate(timeoutMs?: number, options?: { allowHalted?: boolean }): Promise<HaltedReadModel[]>;

  abstract halted(): Promise<HaltedReadModel[]>;

  /** Rebuilds every read model from the whole log (`tollgate ledger replay`). */
  abstract rebuild(onProgress?: (p: RebuildProgress) => void): Promise<RebuildProgress>;

  /** How many ledger events the log holds, for progress bars: may be an estimate (EventStore#countEvents). */
  abstract ledgerEventCount(): Promise<number>;
}
