/**
 * Executes account commands: load (from the cached state where valid) → decide → append with
 * the expected version, with a bounded retry on conflict.
 *
 * Commands for one account go through that account's lane. While the lane's append is in
 * flight, new commands queue; the next round decides all of them in order against the state
 * (each seeing the effect of the ones before) and appends their events as one append. So a hot
 * account costs one append per group commit rather than one per command, and an optimistic
 * conflict (another instance wrote first) only means: reload the stream, decide again.
 *
 * Why the account streams do not use the generic decideAndAppend (platform/event-store), which
 * the streams written one command at a time (keys, users, prices) do: that handler loads the
 * stream for every command and appends one command's events at a time. The ledger is the hot
 * path of every proxied request, and it needs three things the generic one does not do:
 *  - group commit per account lane: the commands that queue while an append is in flight are
 *    decided together and appended as one, so a busy account is not one round trip per request;
 *  - a cached state per account: a command decides on the state the lane already holds, with no
 *    read (the expected version catches anyone who wrote since);
 *  - re-decision of state-dependent refusals: a refusal decided on the cached state (no credit,
 *    hold not open, ...) is never final until the stream has been read after the cached version,
 *    and retries of resolved holds and placements are told apart from new commands.
 *
 * A caller that can start work before its command is durable (the proxy asks the upstream while
 * its hold commits) passes `onAccepted`: it is called, at most once, as soon as this instance
 * knows the command is accepted on the account as it will be when the command's turn comes: the
 * cached state with every command ahead of it in the lane applied (`ahead`), or, failing that,
 * the round's own decision just before the append. It is a forecast, not a promise: the append
 * may still conflict and the command be decided again (and refused), which the returned promise
 * says. A forecast refusal is not an answer either: the command goes through the lane as usual
 * and only the round (on a fresh read) refuses it.
 *
 * A command may bring rows of plain tables to write in its append's transaction (`alongside`:
 * the request log row of a settle or void). They are committed with the command's events, in
 * the group commit of its round, or not at all; the outcome says which (`alongsideWritten`), so
 * the caller writes them its own way when the command was refused, found done already, or the
 * store could not take them.
 * A command its caller marks `unhurried` (the proxy's settle, sent after the answer's last byte:
 * nobody waits on it) that finds its lane idle waits a moment (`joinWindowMs`, from
 * LEDGER_SETTLE_JOIN_MS, 2 ms by default) before its round, unless another command (a hold, a
 * free request, a credit) comes first: then it goes at once, with that command in the same
 * append. Once the process starts closing (endWaits) none waits. Without the wait, a client sending its next request
 * right after an answer found its hold queued behind that settle's commit, two commits before its
 * first byte instead of one: measured at one connection, a third of the holds (time to first byte
 * p50 10.9 ms for those against 6.9 for the others). Other commands never wait: a void (an
 * upstream's refusal is answered once its hold is voided), the settle journal's replays (one
 * after another), the payments' credits.
 * Commands reach this service through the CommandBus (ExecuteAccountCommand); see ledger.module.ts.
 */
import { Injectable, Inject, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  EVENT_STORE,
  EventIdConflictError,
  EventStore,
  NewEvent,
  SideRows,
  VersionConflictError,
} from '../../platform/event-store/event-store.port';
import { CLOCK, Clock } from '../../platform/clock';
import { afterQueuedIo } from '../../platform/after-queued-io';
import { samePayload } from '../../platform/event-store/canonical';
import { AccountCommand, AccountFold, AccountState, decide, initialState, lateSettleRefused } from '../domain/account.decider';
import { LedgerError, LedgerErrorCode } from '../domain/errors';
import { eventIdFor, lateSettleEventId } from '../domain/event-ids';
import { LedgerEvent, accountStream, decodeLedgerEvent, encodeLedgerEvent } from '../domain/events';

export interface CommandMeta {
  actor?: string;
  causationId?: string;
}

/** What a caller may learn of its command before the command is durable (see the header). */
export interface CommandHooks {
  onAccepted?: () => void;
  /**
   * Nobody waits on this command (the proxy's settle, after the answer's last byte): on an idle
   * lane it may wait up to joinWindowMs for another command to share its commit (see the header).
   */
  unhurried?: boolean;
}

export interface CommandOutcome {
  /** Events this command appended; empty when it changed nothing (a retry, or a no-op). */
  events: LedgerEvent[];
  /** True when the command had already been carried out (same ids, same payload). */
  idempotent: boolean;
  /** The account stream's version after the command. */
  version: bigint;
  /** True when the command's `alongside` rows were committed with its events (see the header). */
  alongsideWritten?: boolean;
}

interface Job {
  command: AccountCommand;
  meta: CommandMeta;
  attempts: number;
  solo: boolean; // append on its own (after an id conflict in a group)
  redecided?: boolean; // decided again on a fresh state after its ids conflicted
  onAccepted?: () => void; // cleared once called
  unhurried: boolean; // may wait on an idle lane for another command to join (see the header)
  alongside?: SideRows[];
  resolve: (o: CommandOutcome) => void;
  reject: (e: Error) => void;
}

interface Lane {
  accountId: string;
  state: AccountState;
  version: bigint;
  loaded: boolean;
  queue: Job[];
  /** The jobs the running round took from the queue, until their append is answered. */
  current: Job[];
  /** Ends the idle lane's wait for a command to join its settles (see the header), while it waits. */
  wake: (() => void) | null;
  /**
   * `state` with the current round's and the queued commands applied as each would be decided:
   * what a command enqueued now will most likely be decided on. Built on demand (by forecast)
   * and dropped whenever `state` or the jobs ahead change in any other way than an enqueue.
   */
  ahead: AccountFold | null;
  running: boolean;
  lastUsed: number;
}

/** Refusals that a newer state of the account could turn into an acceptance. */
const STATE_DEPENDENT: ReadonlySet<LedgerErrorCode> = new Set<LedgerErrorCode>([
  'account_not_found',
  'insufficient_credits',
  'no_free_requests',
  'hold_not_open',
  'hold_not_expired',
  'account_suspended',
  'account_restricted',
  'restriction_not_active',
  'refund_exceeds_unspent',
  'freeze_not_open',
  'dispute_not_open',
]);

const RESOLUTION_EVENT: Partial<Record<AccountCommand['type'], LedgerEvent['type']>> = {
  SettleHold: 'HoldSettled',
  VoidHold: 'HoldVoided',
  ExpireHold: 'HoldExpired',
};

export interface LedgerServiceOptions {
  maxAttempts?: number;
  maxCachedAccounts?: number;
  maxCommandsPerAppend?: number;
  /** Observes each append's duration in seconds (the ledger append latency metric). */
  appendSeconds?: { observe(seconds: number): void };
  /** How long an idle lane's unhurried commands wait for another to share their append (see the header); 0: not at all. */
  joinWindowMs?: number;
}

/** A command nobody waits on: an idle lane holding only these waits a moment for others to join (see the header). */
const mayWait = (job: Job): boolean => job.unhurried;

@Injectable()
export class LedgerService implements OnModuleDestroy {
  private readonly log = new Logger('Ledger');
  private readonly lanes = new Map<string, Lane>();
  private tick = 0;
  private readonly maxAttempts: number;
  private readonly maxCached: number;
  private readonly maxPerAppend: number;
  private readonly appendSeconds?: { observe(seconds: number): void };
  private readonly joinWindowMs: number;
  private closing = false;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    options: LedgerServiceOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 25;
    this.maxCached = options.maxCachedAccounts ?? 50_000;
    this.maxPerAppend = options.maxCommandsPerAppend ?? 200;
    this.appendSeconds = options.appendSeconds;
    this.joinWindowMs = options.joinWindowMs ?? 0;
  }

  execute(accountId: string, command: AccountCommand, meta: CommandMeta = {}, hooks: CommandHooks = {}, alongside?: SideRows[]): Promise<CommandOutcome> {
    return new Promise<CommandOutcome>((resolve, reject) => {
      const lane = this.lane(accountId);
      const job: Job = { command, meta, attempts: 0, solo: false, onAccepted: hooks.onAccepted, unhurried: hooks.unhurried === true, alongside, resolve, reject };
      if (job.onAccepted && lane.loaded && lane.ahead === null) {
        const ahead = new AccountFold(lane.state);
        for (const j of lane.current) this.forecast(ahead, j);
        for (const j of lane.queue) this.forecast(ahead, j);
        lane.ahead = ahead;
      }
      lane.queue.push(job);
      if (lane.ahead !== null && this.forecast(lane.ahead, job)) tellAccepted(job);
      if (!lane.running) void this.drain(lane);
      else if (lane.wake !== null && !mayWait(job)) lane.wake();
    });
  }

  /** Folds `job` into `ahead` as its decider would decide it there; false (and `ahead` as it was) when it would refuse (no I/O). */
  private forecast(ahead: AccountFold, job: Job): boolean {
    let events: LedgerEvent[];
    try {
      events = decide(job.command, ahead.state, { now: this.clock.now() });
    } catch {
      return false;
    }
    for (const e of events) ahead.apply(e);
    return true;
  }

  /** The account's state as the log has it now (refreshing the cached one). */
  async load(accountId: string): Promise<{ state: AccountState; version: bigint }> {
    const lane = this.lane(accountId);
    await this.refresh(lane);
    return { state: lane.state, version: lane.version };
  }

  /**
   * The state this instance last saw for the account, without a round trip: a hint only (another
   * instance may have moved on), for choices the decider re-checks anyway. Null when not cached.
   */
  cachedState(accountId: string): AccountState | null {
    const lane = this.lanes.get(accountId);
    return lane && lane.loaded ? lane.state : null;
  }

  /**
   * The process is closing: an unhurried command waiting for company goes now, and none waits
   * after. Called as the API's close begins (api-drain.ts), so that the requests it waits for are
   * not held up by their settles' wait; and here again for the processes without an API.
   */
  endWaits(): void {
    this.closing = true;
    for (const lane of this.lanes.values()) lane.wake?.();
  }

  onModuleDestroy(): void {
    this.endWaits();
    this.lanes.clear();
  }

  private lane(accountId: string): Lane {
    let lane = this.lanes.get(accountId);
    if (lane) {
      // Stamped rather than re-inserted into the map: deleting and re-adding an entry on every
      // command made the map rehash over and over (5% of the process's time under load).
      lane.lastUsed = ++this.tick;
      return lane;
    }
    lane = { accountId, state: initialState(), version: 0n, loaded: false, queue: [], current: [], wake: null, ahead: null, running: false, lastUsed: ++this.tick };
    this.lanes.set(accountId, lane);
    if (this.lanes.size > this.maxCached) this.evictIdle();
    return lane;
  }

  /** Forgets the least recently used idle lanes, down to 90% of the limit. */
  private evictIdle(): void {
    const idle = [...this.lanes.values()].filter((l) => !l.running && l.queue.length === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const lane of idle) {
      if (this.lanes.size <= this.maxCached * 0.9) break;
      this.lanes.delete(lane.accountId);
    }
  }

  /**
   * Reads the stream after what the lane holds. The state is built aside and kept only if it saw
   * at least as much of the log as the lane has now: load() runs this outside the lane's queue,
   * so a round may finish while the read is in flight, and folding the page onto the state that
   * round left would count its events twice.
   */
  private async refresh(lane: Lane): Promise<void> {
    const state = new AccountFold(lane.loaded ? lane.state : initialState());
    let version = lane.loaded ? lane.version : 0n;
    const stream = accountStream(lane.accountId);
    for (;;) {
      const page = await this.store.readStream(stream, { afterVersion: version, limit: 5000 });
      for (const e of page) {
        state.apply(decodeLedgerEvent(e.type, e.data));
        version = e.streamVersion;
      }
      if (page.length < 5000) break;
    }
    if (!lane.loaded || version >= lane.version) {
      lane.state = state.state;
      lane.version = version;
      lane.loaded = true;
      lane.ahead = null;
    }
  }

  private async drain(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      // An idle lane's round starts once the event loop has gone round, not inside execute(): a
      // caller told of its acceptance goes on first (the proxy sends its upstream request before
      // this round decides, encodes and sends the append, so the hold's commit is not added to
      // the time to first byte), and the commands issued meanwhile share one append. Two check
      // phases, not one (see afterQueuedIo): with one, this round's decision, encoding and
      // hashing went before the upstream request (0.2-1 ms of the time to first byte, measured
      // with undici's diagnostics channels).
      await afterQueuedIo();
      if (this.joinWindowMs > 0 && !this.closing && lane.queue.every(mayWait)) {
        await this.joinWindow(lane);
        await afterQueuedIo(); // the joining caller's upstream request goes first, as above
      }
      while (lane.queue.length > 0) {
        try {
          if (!lane.loaded) await this.refresh(lane);
        } catch (err) {
          lane.queue.splice(0).forEach((j) => j.reject(err as Error));
          break;
        }
        const take = lane.queue[0].solo ? 1 : Math.min(this.maxPerAppend, countUntilSolo(lane.queue));
        lane.current = lane.queue.splice(0, take);
        try {
          await this.round(lane, lane.current);
        } finally {
          lane.current = [];
          lane.ahead = null; // the state moved on, or jobs went back to the queue: build it again when asked
        }
      }
    } finally {
      lane.running = false;
    }
  }

  /** Until a command that may not wait is queued, or joinWindowMs has passed (see the header). */
  private joinWindow(lane: Lane): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        lane.wake = null;
        resolve();
      };
      const timer = setTimeout(done, this.joinWindowMs);
      lane.wake = done;
    });
  }

  /**
   * Decide a group of commands in order, append their events as one, and answer each.
   *
   * The cached state is trusted for what it allows (the append's expected version catches
   * anyone who wrote since), never for what it refuses: another process may have credited the
   * account, expired a hold or granted free requests, and only an append would notice. So the
   * first refusal that depends on the account's state reads the stream after the cached
   * version; if it moved, the whole group is decided again on the fresh state.
   */
  private async round(lane: Lane, jobs: Job[], fresh = false): Promise<void> {
    const now = this.clock.now();
    const working = new AccountFold(lane.state); // lane.state itself stays as it is until the append is answered
    const accepted: Array<{ job: Job; events: LedgerEvent[]; first: NewEvent }> = [];
    const toAppend: NewEvent[] = [];
    const alongside: SideRows[] = [];
    const inGroup = new Map<string, NewEvent>();
    const repeats: Job[] = []; // the same command twice in one group: the second is a retry
    for (const job of jobs) {
      let events: LedgerEvent[];
      try {
        events = decide(job.command, working.state, { now });
      } catch (err) {
        if (!fresh && err instanceof LedgerError && STATE_DEPENDENT.has(err.code)) {
          try {
            await this.refresh(lane);
          } catch (readErr) {
            jobs.forEach((j) => j.reject(readErr as Error));
            return;
          }
          return this.round(lane, jobs, true);
        }
        if (err instanceof LedgerError && err.code === 'hold_not_open' && RESOLUTION_EVENT[job.command.type]) {
          void this.answerResolutionRetry(lane, job, err);
        } else if (err instanceof LedgerError && err.code === 'insufficient_credits' && job.command.type === 'PlaceHold') {
          void this.answerPlacementRetry(lane, job, err);
        } else {
          this.reject(lane, job, err as Error);
        }
        continue;
      }
      const newEvents = events.map((e, i): NewEvent => {
        const { type, data } = encodeLedgerEvent(e);
        const metadata = { occurredAt: now.toISOString(), command: job.command.type, ...job.meta };
        return { id: eventIdFor(lane.accountId, job.command, i, events[0].type), type, data, metadata };
      });
      const earlier = newEvents.map((e) => inGroup.get(e.id));
      if (earlier.some((e) => e !== undefined)) {
        const same = earlier.every((e, i) => e && samePayload(e, newEvents[i]));
        if (same) repeats.push(job);
        else job.reject(new LedgerError('idempotency_conflict', 'this command id was already used for a different command'));
        continue;
      }
      newEvents.forEach((e) => inGroup.set(e.id, e));
      tellAccepted(job);
      toAppend.push(...newEvents);
      if (job.alongside) alongside.push(...job.alongside);
      for (const e of events) working.apply(e);
      accepted.push({ job, events, first: newEvents[0] });
    }
    if (toAppend.length === 0) {
      accepted.forEach(({ job }) => job.resolve({ events: [], idempotent: false, version: lane.version }));
      repeats.forEach((job) => job.resolve({ events: [], idempotent: true, version: lane.version }));
      return;
    }
    try {
      const appendStarted = performance.now();
      const result = await this.store.append(accountStream(lane.accountId), toAppend, {
        expectedVersion: lane.version,
        ...(alongside.length > 0 && { alongside }),
      });
      const withRows = (job: Job) => (result.alongsideWritten === true && job.alongside !== undefined ? { alongsideWritten: true } : {});
      this.appendSeconds?.observe((performance.now() - appendStarted) / 1000);
      if (result.idempotent) {
        // Every event was already in the log: the commands were retries and nothing changed.
        // Our working state counted them again, so drop it and re-read what the log says.
        lane.loaded = false;
        accepted.forEach(({ job }) => job.resolve({ events: [], idempotent: true, version: result.nextVersion, ...withRows(job) }));
        // Repeats of those retries in the same group are retries too: left unanswered, their callers waited forever.
        repeats.forEach((job) => job.resolve({ events: [], idempotent: true, version: result.nextVersion }));
        return;
      }
      lane.state = working.state;
      lane.version = result.nextVersion;
      accepted.forEach(({ job, events }) => job.resolve({ events, idempotent: false, version: result.nextVersion, ...withRows(job) }));
      repeats.forEach((job) => job.resolve({ events: [], idempotent: true, version: result.nextVersion }));
    } catch (err) {
      const all = [...accepted.map((a) => a.job), ...repeats];
      if (err instanceof VersionConflictError) {
        lane.loaded = false; // someone else wrote; read their events and decide again
        this.requeue(lane, all, false, err);
      } else if (err instanceof EventIdConflictError && all.length > 1) {
        // One of the group re-used an id: append each on its own so only that one fails.
        this.requeue(lane, all, true, err);
      } else if (err instanceof EventIdConflictError && !all[0].redecided) {
        // The cached state may lack an event that took the id: another instance expired the hold
        // this one settles, say (a settle then is a late one, with an id of its own). Decide again
        // on the log as it is, once.
        lane.loaded = false;
        all[0].redecided = true;
        all[0].solo = true;
        lane.queue.unshift(all[0]);
      } else if (err instanceof EventIdConflictError) {
        lane.loaded = false;
        void this.answerIdConflict(lane, accepted[0]?.job ?? all[0], accepted[0]?.first);
      } else {
        lane.loaded = false;
        all.forEach((job) => job.reject(err as Error));
      }
    }
  }

  private requeue(lane: Lane, jobs: Job[], solo: boolean, cause: Error): void {
    const again: Job[] = [];
    for (const job of jobs) {
      job.attempts++;
      job.solo = job.solo || solo;
      if (job.attempts >= this.maxAttempts) {
        job.reject(new LedgerError('version_conflict', `gave up after ${job.attempts} conflicting attempts: ${cause.message}`));
      } else {
        again.push(job);
      }
    }
    lane.queue.unshift(...again);
  }

  /**
   * A hold that cannot be afforded now may be a retry of one placed (and perhaps resolved)
   * earlier: if the log has that very placement, the command was carried out already.
   */
  private async answerPlacementRetry(lane: Lane, job: Job, refused: LedgerError): Promise<void> {
    try {
      const c = job.command;
      const prior = await this.store.getEvent(eventIdFor(lane.accountId, c, 0));
      if (!prior || prior.streamId !== accountStream(lane.accountId) || c.type !== 'PlaceHold') return job.reject(refused);
      const event = decodeLedgerEvent(prior.type, prior.data);
      const same = event.type === 'HoldPlaced' && event.data.amount === c.data.amount && event.data.expiresAt === c.data.expiresAt;
      if (same) job.resolve({ events: [], idempotent: true, version: lane.version });
      else job.reject(new LedgerError('idempotency_conflict', `hold ${c.data.holdId} was placed with other terms`));
    } catch (err) {
      job.reject(err as Error);
    }
  }

  /**
   * A command whose ids are taken by other payloads. When its first event is stored as it is, the
   * command was carried out already, and only what followed it differs: a credit retried after
   * the account's debt changed decides another repayment (ReceivableRepaid) than the first time.
   * That is a retry, answered as done; anything else is a command id used for two commands.
   */
  private async answerIdConflict(lane: Lane, job: Job, first: NewEvent | undefined): Promise<void> {
    const conflict = new LedgerError('idempotency_conflict', 'this command id was already used for a different command');
    try {
      const prior = first ? await this.store.getEvent(first.id) : null;
      if (prior && first && samePayload(prior, { streamId: accountStream(lane.accountId), ...first })) {
        job.resolve({ events: [], idempotent: true, version: lane.version });
      } else {
        job.reject(conflict);
      }
    } catch (err) {
      job.reject(err as Error);
    }
  }

  /** Rejects a command; a late settle refused for its age is logged (an answer that goes unbilled). */
  private reject(lane: Lane, job: Job, err: Error): void {
    if (err instanceof LedgerError && err.code === 'late_settle_window_passed') {
      this.log.warn(`account ${lane.accountId}: ${err.message}; the answer stays unbilled`);
    }
    job.reject(err);
  }

  /**
   * A settle/void/expire for a hold that is no longer open is either a retry of the resolution
   * that closed it (answer: done, idempotently) or a second, different resolution (refuse),
   * or the settle or void of a hold that expired (answerAfterExpiry).
   */
  private async answerResolutionRetry(lane: Lane, job: Job, notOpen: LedgerError): Promise<void> {
    try {
      const prior = await this.store.getEvent(eventIdFor(lane.accountId, job.command, 0));
      if (!prior || prior.streamId !== accountStream(lane.accountId)) return job.reject(notOpen);
      const event = decodeLedgerEvent(prior.type, prior.data);
      if (event.type === 'HoldExpired' && job.command.type !== 'ExpireHold') return await this.answerAfterExpiry(lane, job, event.data.holdId);
      const sameKind = event.type === RESOLUTION_EVENT[job.command.type];
      const sameAmount =
        job.command.type !== 'SettleHold' || (event.type === 'HoldSettled' && event.data.amount === job.command.data.amount);
      if (sameKind && sameAmount) {
        job.resolve({ events: [], idempotent: true, version: lane.version });
      } else {
        job.reject(new LedgerError('hold_not_open', `hold was already resolved by ${prior.type}`));
      }
    } catch (err) {
      job.reject(err as Error);
    }
  }

  /**
   * A settle or void of a hold that expired, which the state no longer remembers as expired: it
   * was settled late already (a retry, or a second settle), or it expired too long ago.
   */
  private async answerAfterExpiry(lane: Lane, job: Job, holdId: string): Promise<void> {
    const c = job.command;
    const late = await this.store.getEvent(lateSettleEventId(holdId));
    const settledLate = late && late.streamId === accountStream(lane.accountId) ? decodeLedgerEvent(late.type, late.data) : null;
    if (c.type === 'VoidHold') {
      // The expiry gave the credit back: voiding is done already, unless the answer was charged.
      if (!settledLate) return job.resolve({ events: [], idempotent: true, version: lane.version });
      return job.reject(new LedgerError('hold_not_open', `hold ${holdId} expired and was then settled late`));
    }
    if (c.type !== 'SettleHold') return job.reject(new LedgerError('hold_not_open', `hold ${holdId} expired`));
    if (settledLate?.type === 'HoldSettledLate') {
      if (settledLate.data.amount === c.data.amount) return job.resolve({ events: [], idempotent: true, version: lane.version });
      return job.reject(new LedgerError('hold_not_open', `hold ${holdId} was already settled late for ${settledLate.data.amount}`));
    }
    this.reject(lane, job, lateSettleRefused(holdId, 'its expiry is no longer remembered'));
  }
}

/** Tells the caller its command is accepted on the state ahead of it (once; a throwing hook is its own business). */
function tellAccepted(job: Job): void {
  const hook = job.onAccepted;
  if (!hook) return;
  job.onAccepted = undefined;
  try {
    hook();
  } catch {
    // the caller's hook failing must not fail the lane
  }
}

function countUntilSolo(queue: Job[]): number {
  const i = queue.findIndex((j) => j.solo);
  return i === -1 ? queue.length : i;
}
