/**
 * One way to run a command against one stream: load → decide → append with the expected version,
 * and on a version conflict (someone else wrote since the load) load and decide again, a bounded
 * number of times. It knows no business rules: the caller's `decide` is a pure function of the
 * loaded state (time and ids come in through its closure), and the caller turns the outcome, and
 * the give-up, into its own answers and error codes.
 *
 * Used by the streams written one command at a time (api keys, users, price tables). The
 * ledger's account streams do not use it: see ledger.service.ts for why they have lanes.
 */
import { DomainError } from '../../shared/domain-error';
import { AppendResult, EventIdConflictError, EventStore, NewEvent, VersionConflictError } from './event-store.port';

export interface Loaded<S> {
  state: S;
  /** The stream's version the state was folded up to (0n: no events yet). */
  version: bigint;
}

export type Decision<R> =
  /** Nothing to write: the answer is known from the state (a no-op, a retry found done). */
  | { answer: R }
  /** Append these (ids chosen by the caller, so a retried command re-appends the same ids). */
  | { append: NewEvent[]; appended: (result: AppendResult) => R | Promise<R> };

export interface DecideAndAppend<S, R> {
  store: EventStore;
  stream: string;
  maxAttempts: number;
  load(): Promise<Loaded<S>>;
  /** The state to decide on first, without a read (a stream known to be new); a conflict loads. */
  assumed?: Loaded<S>;
  decide(loaded: Loaded<S>): Decision<R> | Promise<Decision<R>>;
  /**
   * Every event was stored already with the same payload: this very command ran before, and
   * nothing was written now. Default: answered as `appended` (whose result says idempotent).
   */
  alreadyAppended?: (result: AppendResult, loaded: Loaded<S>) => Promise<R>;
  /** An id taken by another payload: 'retry' (load and decide again), or the error to throw. */
  onIdConflict?: 'retry' | ((err: EventIdConflictError) => Error);
  /** The error to throw on giving up (default: the StreamContendedError itself). */
  gaveUp?: (err: StreamContendedError) => Error;
}

/** Every attempt met a conflict: the stream kept changing between our read and our append. */
export class StreamContendedError extends DomainError<'version_conflict', { stream: string; attempts: number }> {
  override readonly name = 'StreamContendedError';

  constructor(
    readonly stream: string,
    readonly attempts: number,
    readonly lastConflict: Error,
  ) {
    super('version_conflict', `stream ${stream} kept changing under us; gave up after ${attempts} attempts (${lastConflict.message})`, {
      stream,
      attempts,
    });
  }
}

export async function decideAndAppend<S, R>(run: DecideAndAppend<S, R>): Promise<R> {
  let loaded = run.assumed ?? (await run.load());
  for (let attempt = 1; ; attempt++) {
    const decision = await run.decide(loaded);
    if ('answer' in decision) return decision.answer;
    let result: AppendResult;
    try {
      result = await run.store.append(run.stream, decision.append, { expectedVersion: loaded.version });
    } catch (err) {
      const retry =
        err instanceof VersionConflictError || (err instanceof EventIdConflictError && run.onIdConflict === 'retry');
      if (err instanceof EventIdConflictError && typeof run.onIdConflict === 'function') throw run.onIdConflict(err);
      if (!retry) throw err;
      if (attempt >= run.maxAttempts) {
        const gaveUp = new StreamContendedError(run.stream, attempt, err);
        throw run.gaveUp ? run.gaveUp(gaveUp) : gaveUp;
      }
      loaded = await run.load();
      continue;
    }
    if (result.idempotent && run.alreadyAppended) return run.alreadyAppended(result, loaded);
    return decision.appended(result);
  }
}
