/**
 * The SQL of on-chain payments (migrations/017_crypto_payments.sql): intents, the deposits the
 * scanner saw, and each chain's checkpoint. Amounts cross as decimal strings, never Numbers.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../../platform/database/pg';
import { IntentStatus } from '../domain/crypto';

export interface IntentRow {
  intentId: string;
  accountId: string;
  chainId: number;
  token: string;
  tokenAddress: string;
  address: string;
  amount: bigint;
  createdAt: Date;
  expiresAt: Date;
  status: IntentStatus;
  paymentId: string | null;
}

export type DepositStatus = 'seen' | 'credited' | 'unclaimed' | 'rejected';

export interface DepositRow {
  paymentId: string;
  chainId: number;
  txHash: string;
  logIndex: number;
  token: string;
  tokenAddress: string;
  amount: bigint;
  blockNumber: number;
  blockHash: string;
  blockTime: Date | null;
  confirmations: number;
  status: DepositStatus;
  reason: string | null;
  intentId: string | null;
  accountId: string | null;
}

/** A deposit as the scanner writes it. */
export type NewDeposit = Omit<DepositRow, 'accountId'>;

interface IntentDbRow {
  intent_id: string;
  account_id: string;
  chain_id: number;
  token: string;
  token_address: string;
  address: string;
  amount: string;
  created_at: Date;
  expires_at: Date;
  status: IntentStatus;
  payment_id: string | null;
}

interface DepositDbRow {
  payment_id: string;
  chain_id: number;
  tx_hash: string;
  log_index: number;
  token: string;
  token_address: string;
  amount: string;
  block_number: string;
  block_hash: string;
  block_time: Date | null;
  confirmations: number;
  status: DepositStatus;
  reason: string | null;
  intent_id: string | null;
  account_id: string | null;
}

const INTENT_COLUMNS = `intent_id, account_id, chain_id, token, token_address, address, amount::text, created_at, expires_at, status, payment_id`;
const DEPOSIT_COLUMNS = `payment_id, chain_id, tx_hash, log_index, token, token_address, amount::text, block_number::text, block_hash, block_time,
  confirmations, status, reason, intent_id, account_id`;

@Injectable()
export class CryptoRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The offsets (amount − base) taken by open intents of this chain and token in (base, base + max]. */
  async takenOffsets(chainId: number, tokenAddress: string, base: bigint, max: number): Promise<Set<number>> {
    const { rows } = await this.pool.query<{ off: string }>(
      `SELECT (amount - $3::bigint)::text AS off FROM crypto_intents
        WHERE chain_id = $1 AND token_address = $2 AND status IN ('pending', 'seen') AND amount > $3::bigint AND amount <= $3::bigint + $4`,
      [chainId, tokenAddress, base.toString(), max],
    );
    return new Set(rows.map((r) => Number(r.off)));
  }

  /** Inserts the intent unless its amount is taken by an open one (false then). */
  async insertIntent(i: IntentRow): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO crypto_intents (intent_id, account_id, chain_id, token, token_address, address, amount, created_at, expires_at, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')
       ON CONFLICT (chain_id, token_address, amount) WHERE status IN ('pending', 'seen') DO NOTHING`,
      [i.intentId, i.accountId, i.chainId, i.token, i.tokenAddress, i.address, i.amount.toString(), i.createdAt, i.expiresAt],
    );
    return rowCount === 1;
  }

  async intentOf(accountId: string, intentId: string): Promise<(IntentRow & { txHash: string | null; confirmations: number | null }) | null> {
    const { rows } = await this.pool.query<IntentDbRow & { tx_hash: string | null; confirmations: number | null }>(
      `SELECT ${INTENT_COLUMNS.split(', ').map((c) => `i.${c}`).join(', ')}, d.tx_hash, d.confirmations
         FROM crypto_intents i LEFT JOIN crypto_deposits d ON d.payment_id = i.payment_id
        WHERE i.intent_id = $1 AND i.account_id = $2`,
      [intentId, accountId],
    );
    if (!rows[0]) return null;
    return { ...toIntent(rows[0]), txHash: rows[0].tx_hash, confirmations: rows[0].confirmations };
  }

  async openIntents(chainId: number): Promise<IntentRow[]> {
    const { rows } = await this.pool.query<IntentDbRow>(`SELECT ${INTENT_COLUMNS} FROM crypto_intents WHERE chain_id = $1 AND status IN ('pending', 'seen')`, [chainId]);
    return rows.map(toIntent);
  }

  async intentById(intentId: string): Promise<IntentRow | null> {
    const { rows } = await this.pool.query<IntentDbRow>(`SELECT ${INTENT_COLUMNS} FROM crypto_intents WHERE intent_id = $1`, [intentId]);
    return rows[0] ? toIntent(rows[0]) : null;
  }

  /** A transfer was seen for the intent (before finality). */
  async markIntentSeen(intentId: string, paymentId: string): Promise<void> {
    await this.pool.query(`UPDATE crypto_intents SET status = 'seen', payment_id = $2 WHERE intent_id = $1 AND status IN ('pending', 'seen')`, [intentId, paymentId]);
  }

  /** Pending intents of the chain that expired by `at` (the newest scanned block's time). */
  async expireIntents(chainId: number, at: Date): Promise<number> {
    const { rowCount } = await this.pool.query(`UPDATE crypto_intents SET status = 'expired' WHERE chain_id = $1 AND status = 'pending' AND expires_at <= $2`, [chainId, at]);
    return rowCount ?? 0;
  }

  async depositsByIds(ids: string[]): Promise<Map<string, DepositRow>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<DepositDbRow>(`SELECT ${DEPOSIT_COLUMNS} FROM crypto_deposits WHERE payment_id = ANY($1::text[])`, [ids]);
    return new Map(rows.map((r) => [r.payment_id, toDeposit(r)]));
  }

  async depositsOfTx(chainId: number, txHash: string): Promise<DepositRow[]> {
    const { rows } = await this.pool.query<DepositDbRow>(`SELECT ${DEPOSIT_COLUMNS} FROM crypto_deposits WHERE chain_id = $1 AND tx_hash = $2 ORDER BY log_index`, [chainId, txHash.toLowerCase()]);
    return rows.map(toDeposit);
  }

  /**
   * Writes deposits; an existing row is moved (block, status, intent) only while it is `seen`:
   * a settled deposit (credited, unclaimed, rejected) never changes here.
   */
  async upsertDeposits(deps: NewDeposit[], now: Date): Promise<void> {
    if (deps.length === 0) return;
    const col = <K extends keyof NewDeposit>(k: K) => deps.map((d) => d[k]);
    await this.pool.query(
      `INSERT INTO crypto_deposits (payment_id, chain_id, tx_hash, log_index, token, token_address, amount, block_number, block_hash, block_time,
                                    confirmations, status, reason, intent_id, seen_at, settled_at)
       SELECT u.*, $15::timestamptz, CASE WHEN u.status = 'seen' THEN NULL ELSE $15::timestamptz END
         FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::numeric[], $8::bigint[], $9::text[], $10::timestamptz[],
                     $11::int[], $12::text[], $13::text[], $14::uuid[])
           AS u(payment_id, chain_id, tx_hash, log_index, token, token_address, amount, block_number, block_hash, block_time, confirmations, status, reason, intent_id)
       ON CONFLICT (payment_id) DO UPDATE SET
         block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, block_time = EXCLUDED.block_time,
         confirmations = EXCLUDED.confirmations, status = EXCLUDED.status, reason = EXCLUDED.reason,
         intent_id = COALESCE(crypto_deposits.intent_id, EXCLUDED.intent_id), settled_at = EXCLUDED.settled_at
       WHERE crypto_deposits.status = 'seen'`,
      [
        col('paymentId'),
        col('chainId'),
        col('txHash'),
        col('logIndex'),
        col('token'),
        col('tokenAddress'),
        deps.map((d) => d.amount.toString()),
        deps.map((d) => String(d.blockNumber)),
        col('blockHash'),
        col('blockTime'),
        col('confirmations'),
        col('status'),
        col('reason'),
        col('intentId'),
        now,
      ],
    );
  }

  /**
   * The deposit, and the intent it paid, marked credited in one statement: marked one after the
   * other, a crash (Postgres stopped) between them left the intent pending for good, as a
   * credited deposit is not settled again.
   */
  async markDepositCredited(paymentId: string, p: { accountId: string; intentId: string | null; fromSealed: string | null; at: Date }): Promise<void> {
    await this.pool.query(
      `WITH deposit AS (
         UPDATE crypto_deposits SET status = 'credited', account_id = $2, intent_id = COALESCE($3, intent_id), from_sealed = COALESCE($4, from_sealed),
                settled_at = COALESCE(settled_at, $5) WHERE payment_id = $1
         RETURNING intent_id)
       UPDATE crypto_intents SET status = 'credited', payment_id = $1 WHERE intent_id = (SELECT intent_id FROM deposit)`,
      [paymentId, p.accountId, p.intentId, p.fromSealed, p.at],
    );
  }

  /**
   * Seen deposits in [from, to] that the final scan of that range did not find: their log left
   * the chain (a reorg). Rejected, and so are the intents they had matched.
   */
  async rejectVanished(chainId: number, from: number, to: number, now: Date): Promise<string[]> {
    const { rows } = await this.pool.query<{ payment_id: string }>(
      `UPDATE crypto_deposits SET status = 'rejected', reason = 'the transfer is no longer on the chain (reorganised away before finality)', settled_at = $4
        WHERE chain_id = $1 AND status = 'seen' AND block_number BETWEEN $2 AND $3 RETURNING payment_id`,
      [chainId, from, to, now],
    );
    const ids = rows.map((r) => r.payment_id);
    if (ids.length) await this.pool.query(`UPDATE crypto_intents SET status = 'rejected' WHERE payment_id = ANY($1::text[]) AND status = 'seen'`, [ids]);
    return ids;
  }

  async updateConfirmations(chainId: number, head: number): Promise<void> {
    await this.pool.query(`UPDATE crypto_deposits SET confirmations = GREATEST(0, $2::bigint - block_number + 1) WHERE chain_id = $1 AND status = 'seen'`, [chainId, head]);
  }

  /**
   * Runs `work` holding the chain's scan lock (a session advisory lock), or answers null at once
   * when another process is scanning that chain: two scans of one chain never overlap.
   */
  async withScanLock<T>(chainId: number, work: () => Promise<T>): Promise<T | null> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('tollgate:chain-scan'), $1) AS ok", [chainId]);
      if (!rows[0].ok) return null;
      try {
        return await work();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('tollgate:chain-scan'), $1)", [chainId]);
      }
    } finally {
      client.release();
    }
  }

  async checkpoint(chainId: number): Promise<number | null> {
    const { rows } = await this.pool.query<{ next_block: string }>('SELECT next_block::text FROM crypto_scan_checkpoints WHERE chain_id = $1', [chainId]);
    return rows[0] ? Number(rows[0].next_block) : null;
  }

  async setCheckpoint(chainId: number, nextBlock: number, now: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO crypto_scan_checkpoints (chain_id, next_block, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (chain_id) DO UPDATE SET next_block = GREATEST(crypto_scan_checkpoints.next_block, EXCLUDED.next_block), updated_at = EXCLUDED.updated_at`,
      [chainId, nextBlock, now],
    );
  }
}

function toIntent(r: IntentDbRow): IntentRow {
  return {
    intentId: r.intent_id,
    accountId: r.account_id,
    chainId: r.chain_id,
    token: r.token,
    tokenAddress: r.token_address,
    address: r.address,
    amount: BigInt(r.amount),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    status: r.status,
    paymentId: r.payment_id,
  };
}

function toDeposit(r: DepositDbRow): DepositRow {
  return {
    paymentId: r.payment_id,
    chainId: r.chain_id,
    txHash: r.tx_hash,
    logIndex: r.log_index,
    token: r.token,
    tokenAddress: r.token_address,
    amount: BigInt(r.amount),
    blockNumber: Number(r.block_number),
    blockHash: r.block_hash,
    blockTime: r.block_time,
    confirmations: r.confirmations,
    status: r.status,
    reason: r.reason,
    intentId: r.intent_id,
    accountId: r.account_id,
  };
}
