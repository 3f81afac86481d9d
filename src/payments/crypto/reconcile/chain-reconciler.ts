/**
 * The chains' side of `tollgate payments reconcile`: every crypto credit the ledger booked in
 * [from, to) (CryptoPaymentCredited) is read again from its chain by transaction hash, and the
 * Transfer log at its index must still be there, final, from a configured token contract, to the
 * receiving address, for the amount credited. Anything else is a Difference.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig, ChainConfig } from '../../../config/config';
import { PG_POOL } from '../../../platform/database/pg';
import { formatCredits } from '../../../shared/money';
import { Difference, Reconciler } from '../../reconcile/difference';
import { ChainClients, shortError } from '../application/chain-clients';
import { TRANSFER_TOPIC, addressOfTopic, finalHeight } from '../domain/crypto';

interface Credited {
  paymentId: string;
  chainId: number;
  txHash: string;
  logIndex: number;
  token: string;
  amount: bigint;
}

@Injectable()
export class ChainReconciler implements Reconciler {
  readonly source = 'chains' as const;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clients: ChainClients,
  ) {}

  async reconcile(from: Date, to: Date, onProgress?: (done: number, total: number | null) => void): Promise<{ compared: number; differences: Difference[] }> {
    const credits = await this.credited(from, to);
    const differences: Difference[] = [];
    const finals = new Map<number, number>();
    let done = 0;
    for (const c of credits) {
      const d = await this.check(c, finals);
      if (d) differences.push(d);
      onProgress?.(++done, credits.length);
    }
    return { compared: credits.length, differences };
  }

  /** The ledger's crypto credits recorded in [from, to), oldest first. */
  private async credited(from: Date, to: Date): Promise<Credited[]> {
    const { rows } = await this.pool.query<{ data: Record<string, unknown> }>(
      `SELECT data FROM events WHERE type = 'CryptoPaymentCredited' AND recorded_at >= $1 AND recorded_at < $2 ORDER BY global_position`,
      [from, to],
    );
    return rows.map(({ data }) => ({
      paymentId: String(data.paymentId),
      chainId: Number(data.chainId),
      txHash: String(data.txHash).toLowerCase(),
      logIndex: Number(data.logIndex),
      token: String(data.token),
      amount: BigInt(String(data.amount)),
    }));
  }

  private async check(c: Credited, finals: Map<number, number>): Promise<Difference | null> {
    const chain = this.clients.chainById(c.chainId);
    const source: Difference['source'] = c.chainId === 8453 ? 'base' : 'ethereum';
    const diff = (kind: string, detail: string, outside?: bigint): Difference => ({
      source,
      kind,
      reference: c.paymentId,
      detail,
      ledger: formatCredits(c.amount),
      ...(outside !== undefined ? { outside: formatCredits(outside) } : {}),
    });
    if (!chain) return diff('chain_not_configured', `chain id ${c.chainId} has no RPC configured: the credit cannot be checked`);
    try {
      const p = await this.clients.verified(chain);
      const receipt = await p.getTransactionReceipt(c.txHash);
      if (!receipt || receipt.status !== 1) return diff('not_on_chain', `transaction ${c.txHash} is not on ${chain.name}${receipt ? ' (it reverted)' : ''}`);
      const log = receipt.logs.find((l) => l.index === c.logIndex);
      if (!log || log.topics[0] !== TRANSFER_TOPIC || log.topics.length !== 3) return diff('not_on_chain', `transaction ${c.txHash} has no Transfer at log index ${c.logIndex}`);
      const token = chain.tokens.find((t) => t.address === log.address.toLowerCase());
      if (!token || token.symbol !== c.token) return diff('wrong_contract', `the Transfer at log index ${c.logIndex} is from contract ${log.address.toLowerCase()}, not the configured ${c.token}`);
      if (addressOfTopic(log.topics[2]) !== chain.receiveAddress) return diff('wrong_recipient', `the Transfer went to ${addressOfTopic(log.topics[2])}, not the receiving address`);
      const amount = BigInt(log.data);
      if (amount !== c.amount) return diff('amount_differs', `the chain says ${formatCredits(amount)} ${c.token}, the ledger credited ${formatCredits(c.amount)}`, amount);
      const final = await this.finalOf(chain, finals);
      if (receipt.blockNumber > final) return diff('not_final', `block ${receipt.blockNumber} is not final on ${chain.name} (final height ${final})`, amount);
      return null;
    } catch (err) {
      return diff('chain_unreadable', `${chain.name} could not be read: ${shortError(err)}`);
    }
  }

  private async finalOf(chain: ChainConfig, finals: Map<number, number>): Promise<number> {
    let f = finals.get(chain.chainId);
    if (f === undefined) {
      const p = await this.clients.verified(chain);
      const head = await p.getBlockNumber();
      const tag = this.config.CRYPTO_FINALITY === 'finalized' ? ((await p.getBlock('finalized'))?.number ?? -1) : null;
      f = finalHeight(head, this.config.CRYPTO_FINALITY, tag);
      finals.set(chain.chainId, f);
    }
    return f;
  }
}
