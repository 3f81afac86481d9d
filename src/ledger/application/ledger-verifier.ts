/**
 * `tollgate ledger verify`: replays the whole log into memory and checks it three ways.
 * 1. The log itself: every stream's versions are contiguous and its hash chain recomputes.
 * 2. The ledger's invariants: each event's postings sum to zero, available and held never go
 *    below zero, a hold is placed once and resolved once, and settles for no more than it held;
 *    a late settle follows the expiry of its hold and charges no more than it held, a receivable
 *    never goes below zero, and nothing is available while one is owed.
 * 3. The read models equal what the replay says they should hold; a halted read model (one that
 *    stopped at an event it cannot apply, projections/halted.ts) is named as a problem itself,
 *    and not compared.
 * It reports every difference it finds (up to a limit) rather than stopping at the first.
 */
import { Pool } from 'pg';
import { EventStore, LOG_START, LogPosition, RecordedEvent } from '../../platform/event-store/event-store.port';
import { GENESIS_HASH, chainHash } from '../../platform/event-store/canonical';
import { AccountState, evolve, initialState } from '../domain/account.decider';
import { ACCOUNT_STREAM_PREFIX, LedgerEvent, accountIdOfStream, decodeLedgerEvent, isLedgerEventType } from '../domain/events';
import { MAX_MICROS, formatCredits, microsFromDb } from '../../shared/money';
import { HaltedReadModel } from './read-models';
import { postingsOf } from '../domain/postings';

export interface VerifyReport {
  events: number;
  streams: number;
  accounts: number;
  /** What accounts owe from late settles, in all, as the replay has it (µcr), and how many owe. */
  receivable: bigint;
  accountsOwing: number;
  problems: string[];
  truncated: boolean;
}

const MAX_PROBLEMS = 200;

export class LedgerVerifier {
  private problems: string[] = [];
  private truncated = false;
  /** Accounts left with credit available while owing: the very next event must repay. */
  private unrepaid = new Map<string, string>();

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  async verify(onProgress?: (events: number) => void, halted: HaltedReadModel[] = []): Promise<VerifyReport> {
    this.problems = [];
    this.truncated = false;
    this.unrepaid = new Map();
    const chains = new Map<string, { version: bigint; hash: Buffer }>();
    const accounts = new Map<string, AccountState>();
    const ledgerTotals = new Map<string, bigint>();
    let events = 0;
    let after: LogPosition = LOG_START;
    for (;;) {
      const page = await this.store.readAll({ after, limit: 5000 });
      if (page.length === 0) break;
      for (const e of page) {
        this.checkChain(chains, e);
        if (e.streamId.startsWith(ACCOUNT_STREAM_PREFIX) && isLedgerEventType(e.type)) {
          this.checkLedgerEvent(accounts, ledgerTotals, e);
        }
      }
      events += page.length;
      after = page[page.length - 1].position;
      onProgress?.(events);
    }
    for (const text of this.unrepaid.values()) this.problem(text);
    await this.checkStreamHeads(chains);
    for (const h of halted) this.problem(`read model ${h.name} is halted at event ${h.eventId}: ${h.error}`);
    await this.checkReadModels(accounts, ledgerTotals, new Set(halted.map((h) => h.name)));
    const owing = [...accounts.values()].filter((s) => s.receivable > 0n);
    const receivable = owing.reduce((t, s) => t + s.receivable, 0n);
    return { events, streams: chains.size, accounts: accounts.size, receivable, accountsOwing: owing.length, problems: this.problems, truncated: this.truncated };
  }

  private problem(text: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(text);
    else this.truncated = true;
  }

  private checkChain(chains: Map<string, { version: bigint; hash: Buffer }>, e: RecordedEvent): void {
    const prev = chains.get(e.streamId) ?? { version: 0n, hash: GENESIS_HASH };
    if (e.streamVersion !== prev.version + 1n) {
      this.problem(`stream ${e.streamId}: version ${e.streamVersion} follows ${prev.version}`);
    }
    const expected = chainHash(prev.hash, { ...e, metadata: e.metadata });
    if (expected.toString('hex') !== e.hash) {
      this.problem(`stream ${e.streamId} v${e.streamVersion} (${e.id}): hash chain broken`);
    }
    chains.set(e.streamId, { version: e.streamVersion, hash: Buffer.from(e.hash, 'hex') });
  }

  private checkLedgerEvent(accounts: Map<string, AccountState>, totals: Map<string, bigint>, e: RecordedEvent): void {
    const accountId = accountIdOfStream(e.streamId);
    const where = `account ${accountId} v${e.streamVersion} ${e.type}`;
    let event: LedgerEvent;
    try {
      event = decodeLedgerEvent(e.type, e.data);
    } catch (err) {
      return this.problem(`${where}: cannot decode (${(err as Error).message})`);
    }
    const state = accounts.get(accountId) ?? initialState();
    const holdId = 'holdId' in event.data ? event.data.holdId : undefined;
    const open = holdId ? state.holds.get(holdId) : undefined;
    if (event.type === 'HoldPlaced' && open) this.problem(`${where}: hold ${holdId} placed twice`);
    if (event.type === 'HoldSettled' || event.type === 'HoldVoided' || event.type === 'HoldExpired') {
      if (!open) this.problem(`${where}: hold ${holdId} resolved but not open`);
      else {
        const resolved = event.type === 'HoldSettled' ? event.data.amount + event.data.released : event.data.amount;
        if (resolved !== open.amount) this.problem(`${where}: resolves ${resolved} of a ${open.amount} hold`);
        if (event.type === 'HoldSettled' && event.data.released < 0n) this.problem(`${where}: settled more than held`);
      }
    }
    if (event.type === 'HoldSettledLate') {
      const expired = state.expired.get(event.data.holdId);
      if (!expired) this.problem(`${where}: hold ${holdId} settled late but not expired (or settled late twice)`);
      else if (event.data.amount > expired.amount) this.problem(`${where}: settles ${event.data.amount} late of a ${expired.amount} hold`);
      if (event.data.paid + event.data.owed !== event.data.amount || event.data.paid < 0n || event.data.owed < 0n) {
        this.problem(`${where}: paid ${event.data.paid} and owed ${event.data.owed} do not make its cost ${event.data.amount}`);
      }
      if (event.data.owed > 0n && event.data.paid !== state.available) this.problem(`${where}: owes ${event.data.owed} while ${state.available} was available`);
    }
    const postings = postingsOf(accountId, event);
    const sum = postings.reduce((t, p) => t + p.amount, 0n);
    if (sum !== 0n) this.problem(`${where}: postings sum to ${sum}, not 0`);
    for (const p of postings) totals.set(p.account, (totals.get(p.account) ?? 0n) + p.amount);
    const next = evolve(state, event);
    for (const [name, value] of [['available', next.available], ['held', next.held], ['receivable', next.receivable], ['frozen', next.frozen], ['lifetime purchased', next.lifetimePurchased], ['lifetime spent', next.lifetimeSpent]] as const) {
      if (value > MAX_MICROS) this.problem(`${where}: ${name} goes to ${formatCredits(value)}, past the ledger's bound`);
    }
    if (next.available < 0n) this.problem(`${where}: available goes to ${formatCredits(next.available)}`);
    if (next.held < 0n) this.problem(`${where}: held goes to ${formatCredits(next.held)}`);
    if (next.receivable < 0n) this.problem(`${where}: receivable goes to ${formatCredits(next.receivable)}`);
    if (next.frozen < 0n) this.problem(`${where}: frozen goes to ${formatCredits(next.frozen)}`);
    // A credit while owing is followed, in the same append, by its ReceivableRepaid.
    const pending = this.unrepaid.get(accountId);
    if (pending && event.type !== 'ReceivableRepaid') this.problem(pending);
    this.unrepaid.delete(accountId);
    if (next.receivable > 0n && next.available > 0n) {
      this.unrepaid.set(accountId, `${where}: ${formatCredits(next.available)} available while ${formatCredits(next.receivable)} is owed (not repaid first)`);
    }
    accounts.set(accountId, next);
  }

  private async checkStreamHeads(chains: Map<string, { version: bigint; hash: Buffer }>): Promise<void> {
    const { rows } = await this.pool.query<{ stream_id: string; version: bigint; last_hash: Buffer | null }>(
      'SELECT stream_id, version, last_hash FROM event_streams WHERE version > 0',
    );
    for (const r of rows) {
      const c = chains.get(r.stream_id);
      if (!c || c.version !== r.version || !r.last_hash || !c.hash.equals(r.last_hash)) {
        this.problem(`stream ${r.stream_id}: head says v${r.version}, the log has v${c?.version ?? 0n}`);
      }
    }
  }

  private async checkReadModels(accounts: Map<string, AccountState>, totals: Map<string, bigint>, halted: Set<string>): Promise<void> {
    if (!halted.has('balances')) await this.checkBalances(accounts);
    if (!halted.has('account_entries')) await this.checkEntries(totals);
    if (!halted.has('open_holds')) await this.checkOpenHolds(accounts);
  }

  private async checkBalances(accounts: Map<string, AccountState>): Promise<void> {
    const { rows } = await this.pool.query<{ account_id: string; available: bigint; held: bigint; frozen: bigint; receivable: bigint; lifetime_purchased: bigint; lifetime_spent: bigint; free_requests: number }>(
      'SELECT account_id, available, held, frozen, receivable, lifetime_purchased, lifetime_spent, free_requests FROM rm_balances.balances',
    );
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.account_id);
      const s = accounts.get(r.account_id);
      if (!s) {
        this.problem(`balances: account ${r.account_id} is in the read model but not in the log`);
        continue;
      }
      const pairs: Array<[string, bigint | number, bigint | number]> = [
        ['available', r.available, s.available],
        ['held', r.held, s.held],
        ['frozen', r.frozen, s.frozen],
        ['receivable', r.receivable, s.receivable],
        ['lifetime_purchased', r.lifetime_purchased, s.lifetimePurchased],
        ['lifetime_spent', r.lifetime_spent, s.lifetimeSpent],
        ['free_requests', r.free_requests, s.freeRequests],
      ];
      for (const [name, model, replay] of pairs) {
        if (model !== replay) this.problem(`balances: account ${r.account_id} ${name} is ${model}, replay says ${replay}`);
      }
    }
    for (const id of accounts.keys()) if (!seen.has(id)) this.problem(`balances: account ${id} is missing`);
  }

  private async checkEntries(totals: Map<string, bigint>): Promise<void> {

    const ledger = await this.pool.query<{ ledger_account: string; balance: string }>(
      'SELECT ledger_account, balance::text AS balance FROM rm_account_entries.ledger_accounts',
    );
    let total = 0n;
    const inModel = new Map(ledger.rows.map((r) => [r.ledger_account, microsFromDb(r.balance)]));
    for (const b of inModel.values()) total += b;
    if (total !== 0n) this.problem(`trial balance: ledger accounts total ${total}, not 0`);
    for (const [account, balance] of totals) {
      if ((inModel.get(account) ?? 0n) !== balance) {
        this.problem(`entries: ${account} is ${inModel.get(account) ?? 0n}, replay says ${balance}`);
      }
    }
    for (const account of inModel.keys()) if (!totals.has(account)) this.problem(`entries: ${account} is not in the log`);
  }

  private async checkOpenHolds(accounts: Map<string, AccountState>): Promise<void> {

    // The holds the expiry sweep would find are exactly the holds the replay has open.
    const holds = await this.pool.query<{ hold_id: string; account_id: string; amount: bigint; expires_at: Date }>(
      'SELECT hold_id, account_id, amount, expires_at FROM rm_open_holds.open_holds',
    );
    const listed = new Set<string>();
    for (const r of holds.rows) {
      listed.add(r.hold_id);
      const open = accounts.get(r.account_id)?.holds.get(r.hold_id);
      if (!open) this.problem(`open holds: hold ${r.hold_id} is listed, replay says it is not open`);
      else if (open.amount !== r.amount) this.problem(`open holds: hold ${r.hold_id} is ${r.amount}, replay says ${open.amount}`);
      else if (Date.parse(open.expiresAt) !== r.expires_at.getTime()) {
        this.problem(`open holds: hold ${r.hold_id} expires at ${r.expires_at.toISOString()}, replay says ${open.expiresAt}`);
      }
    }
    for (const [accountId, s] of accounts) {
      for (const id of s.holds.keys()) if (!listed.has(id)) this.problem(`open holds: hold ${id} of account ${accountId} is missing`);
    }
  }
}
