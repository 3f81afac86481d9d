/**
 * The proxy benchmark's database and account, made the way an operator makes them (the
 * `tollgate` CLI), and the check afterwards that the gateway billed every request it answered.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { accountStream } from '../../src/ledger/domain/events';
import { formatCredits } from '../../src/shared/money';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { createPool } from '../../src/platform/database/pg';
import { systemClock } from '../../src/platform/clock';

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'src', 'cli.js');

export async function tollgate(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 1 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`tollgate ${args.slice(0, 2).join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Drops the database (so every run starts alike) and lets `tollgate db migrate` create it. */
export async function freshDatabase(url: string, env: NodeJS.ProcessEnv): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new Pool({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(), max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await tollgate(env, 'db', 'migrate');
}

/** An account funded with `credits` (its 20 free requests are used first), and one key to it. */
export async function fundedKey(env: NodeJS.ProcessEnv, credits: number): Promise<{ accountId: string; secret: string }> {
  const { accountId } = JSON.parse(await tollgate(env, 'accounts', 'create', '--email', 'bench@example.com', '--json')) as { accountId: string };
  await tollgate(env, 'credits', 'grant', '--account', accountId, '--amount', String(credits), '--reason', 'proxy benchmark', '--json');
  const { secret } = JSON.parse(await tollgate(env, 'keys', 'create', '--account', accountId, '--name', 'bench', '--json')) as { secret: string };
  return { accountId, secret };
}

export interface BillingCheck {
  /** 2xx answers the load generator counted from the gateway. */
  gateway_2xx: number;
  /** Requests the gateway billed: HoldSettled + FreeRequestUsed events on the account. */
  billed: number;
  holds_settled: number;
  free_requests_used: number;
  holds_voided: number;
  holds_open: number;
  /** What the account was charged (available before − after), in credits. */
  charged_credits: string;
  /** Whether the charge equals the sum of the settled holds, to the µcr. */
  charge_matches_settled: boolean;
  request_log_rows: number;
  /** Answers the gateway may have finished after a run's clock stopped (connections × runs). */
  in_flight_allowance: number;
  ok: boolean;
  problems: string[];
}

export class AccountAudit {
  private readonly pool: Pool;
  private readonly store: PostgresEventStore;
  private readonly ledger: LedgerService;

  constructor(
    databaseUrl: string,
    private readonly accountId: string,
  ) {
    // The app's pool (bigint columns as BigInt): with pg's default strings the ledger compared
    // stream versions as text, and a fold that ended at "21875" was taken as older than "3".
    this.pool = createPool(databaseUrl, 2, 'tollgate-bench-audit');
    this.store = new PostgresEventStore(this.pool);
    this.ledger = new LedgerService(this.store, systemClock);
  }

  /** The account as its event stream has it now (a fresh fold, not the gateway's cache). */
  async state(): Promise<{ available: bigint; held: bigint; openHolds: number }> {
    const { state } = await this.ledger.load(this.accountId);
    return { available: state.available, held: state.held, openHolds: state.holds.size };
  }

  /**
   * Waits (up to `waitMs`) for the last holds to resolve, then compares what the ledger shows
   * with what the load generator saw.
   */
  async check(availableBefore: bigint, gateway2xx: number, inFlightAllowance: number, waitMs = 15_000): Promise<BillingCheck> {
    const deadline = Date.now() + waitMs;
    let s = await this.state();
    while (s.openHolds > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      s = await this.state();
    }
    const { rows } = await this.pool.query<{ type: string; n: number; amount: string }>(
      `SELECT type, count(*)::int AS n, coalesce(sum((data->>'amount')::numeric), 0)::text AS amount
         FROM events WHERE stream_id = $1 GROUP BY type`,
      [accountStream(this.accountId)],
    );
    const of = (type: string) => rows.find((r) => r.type === type) ?? { n: 0, amount: '0' };
    const log = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM request_log WHERE account_id = $1', [this.accountId]);
    const settled = of('HoldSettled');
    const returned = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'FreeRequestsGranted' AND data->>'grantId' LIKE 'returned:%'`,
      [accountStream(this.accountId)],
    );
    // A request that failed before its first byte gets its free request back: not billed.
    const free = of('FreeRequestUsed').n - returned.rows[0].n;
    const charged = availableBefore - s.available - s.held;
    const billed = settled.n + free;
    const problems: string[] = [];
    if (billed < gateway2xx) problems.push(`${gateway2xx - billed} answered requests were not billed`);
    if (billed > gateway2xx + inFlightAllowance) problems.push(`${billed - gateway2xx} more requests billed than answered (allowance ${inFlightAllowance})`);
    if (s.openHolds > 0) problems.push(`${s.openHolds} holds still open after ${waitMs} ms`);
    // Only free requests (a short run's first few): nothing to charge, and nothing wrong.
    if (settled.n > 0 && charged <= 0n) problems.push('the account was not charged');
    if (charged.toString() !== settled.amount) problems.push(`charged ${charged} µcr but holds settled for ${settled.amount} µcr`);
    return {
      gateway_2xx: gateway2xx,
      billed,
      holds_settled: settled.n,
      free_requests_used: free,
      holds_voided: of('HoldVoided').n,
      holds_open: s.openHolds,
      charged_credits: formatCredits(charged),
      charge_matches_settled: charged.toString() === settled.amount,
      request_log_rows: log.rows[0].n,
      in_flight_allowance: inFlightAllowance,
      ok: problems.length === 0,
      problems,
    };
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.pool.end();
  }
}
