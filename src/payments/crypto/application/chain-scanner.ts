/**
 * One scan of one chain: Transfer logs of the configured token contracts to the receiving address.
 *
 * 1. The RPC must serve the configured chain id (refused loudly otherwise).
 * 2. Final blocks, from the chain's durable checkpoint up to the final height (the `finalized`
 *    tag, or N confirmations), by ranges of at most SCAN_RANGE blocks: each block holding a log is
 *    read again and its hash must be the logs' (an RPC answering from a stale fork is refused);
 *    a log matching an open intent by (token, exact amount) credits that intent's account,
 *    any other becomes an unclaimed deposit (claimable with a signed message); a deposit seen
 *    earlier in that range that the final logs no longer hold left the chain (a reorg): it is
 *    rejected, never credited. The checkpoint moves after each range is done.
 * 3. Blocks not final yet: their logs are recorded as `seen` (the intent too, with confirmations),
 *    read again every run until final.
 * 4. Pending intents that expired by the newest block's time are expired.
 * Credits go through CryptoCreditsService (one per chain, tx hash, log index).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JsonRpcProvider, Log } from 'ethers';
import { APP_CONFIG, AppConfig, ChainConfig } from '../../../config/config';
import { CLOCK, Clock } from '../../../platform/clock';
import { TRANSFER_TOPIC, addressOfTopic, confirmationsAt, creditable, depositId, finalHeight, topicOfAddress } from '../domain/crypto';
import { ChainClients, shortError } from './chain-clients';
import { CryptoCreditsService } from './crypto-credits.service';
import { CryptoRepository, IntentRow, NewDeposit } from './crypto.repository';

/** The most blocks one eth_getLogs asks for (halved when an RPC refuses a range). */
export const SCAN_RANGE = 2_000;
/** Credits of one range made at once (each its own stream and ledger command). */
export const CREDIT_CONCURRENCY = 8;
/** Where a chain's first scan starts: this many blocks below its final height. */
export const FIRST_SCAN_LOOKBACK = 10_000;

export interface ScanReport {
  chain: string;
  head: number;
  final: number;
  logs: number;
  credited: number;
  unclaimed: number;
  rejected: number;
  seen: number;
}

@Injectable()
export class ChainScanner {
  private readonly log = new Logger('ChainScanner');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly clients: ChainClients,
    private readonly repo: CryptoRepository,
    private readonly credits: CryptoCreditsService,
  ) {}

  /** Every configured chain, each on its own: one that fails is logged by name and the others go on. */
  async scanAll(opts: { shouldStop?: () => boolean } = {}): Promise<{ reports: ScanReport[]; failed: Array<{ chain: string; error: string }> }> {
    const outcomes = await Promise.allSettled(this.clients.chains.map((c) => this.repo.withScanLock(c.chainId, () => this.scan(c, opts))));
    const reports: ScanReport[] = [];
    const failed: Array<{ chain: string; error: string }> = [];
    outcomes.forEach((o, i) => {
      const chain = this.clients.chains[i].name;
      if (o.status === 'fulfilled') {
        if (o.value) reports.push(o.value); // null: another process is scanning this chain
      }
      else {
        failed.push({ chain, error: shortError(o.reason) });
        this.log.error(`the ${chain} scan failed: ${shortError(o.reason)}; it runs again at the next tick`);
      }
    });
    return { reports, failed };
  }

  /** `shouldStop`: asked between ranges, so a shutdown ends a long catch-up at a checkpoint. */
  async scan(chain: ChainConfig, opts: { onProgress?: (block: number, final: number) => void; shouldStop?: () => boolean } = {}): Promise<ScanReport> {
    const p = await this.clients.verified(chain);
    const head = await p.getBlockNumber();
    const finalizedTag = this.config.CRYPTO_FINALITY === 'finalized' ? ((await p.getBlock('finalized'))?.number ?? -1) : null;
    const final = finalHeight(head, this.config.CRYPTO_FINALITY, finalizedTag);
    const report: ScanReport = { chain: chain.name, head, final, logs: 0, credited: 0, unclaimed: 0, rejected: 0, seen: 0 };
    const intents = new IntentBook(await this.repo.openIntents(chain.chainId));
    const blockTimes = new Map<number, Date>();

    let from = (await this.repo.checkpoint(chain.chainId)) ?? Math.max(0, final - FIRST_SCAN_LOOKBACK + 1);
    let range = SCAN_RANGE;
    while (from <= final) {
      if (opts.shouldStop?.()) return report;
      const to = Math.min(final, from + range - 1);
      let logs: Log[];
      try {
        logs = await this.transfers(p, chain, from, to);
      } catch (err) {
        if (range > 1 && to > from) {
          range = Math.max(1, Math.floor(range / 2)); // a provider's range or result limit: ask for less
          continue;
        }
        throw err;
      }
      await this.settleFinal(chain, p, logs, from, to, head, intents, blockTimes, report);
      await this.repo.setCheckpoint(chain.chainId, to + 1, this.clock.now());
      opts.onProgress?.(to, final);
      from = to + 1;
    }
    if (head > final) {
      const pending = await this.transfers(p, chain, Math.max(from, final + 1), head);
      await this.recordSeen(chain, p, pending, head, intents, blockTimes, report);
    }
    await this.repo.updateConfirmations(chain.chainId, head);
    const headTime = await this.blockTime(p, head, blockTimes);
    const expired = await this.repo.expireIntents(chain.chainId, headTime);
    if (report.logs || expired) {
      this.log.log(`${chain.name}: blocks to ${head} (final ${final}): ${report.logs} transfer(s), ${report.credited} credited, ${report.unclaimed} unclaimed, ${report.rejected} rejected, ${report.seen} awaiting finality; ${expired} intent(s) expired`);
    }
    return report;
  }

  private async transfers(p: JsonRpcProvider, chain: ChainConfig, fromBlock: number, toBlock: number): Promise<Log[]> {
    const logs = await p.getLogs({ address: chain.tokens.map((t) => t.address), topics: [TRANSFER_TOPIC, null, topicOfAddress(chain.receiveAddress)], fromBlock, toBlock });
    // The filter is the RPC's: check it again here (a look-alike contract's Transfer never counts).
    const tokens = new Set(chain.tokens.map((t) => t.address));
    const seen = new Set<string>();
    return logs.filter((l) => {
      const ok = !l.removed && tokens.has(l.address.toLowerCase()) && l.topics.length === 3 && l.topics[0] === TRANSFER_TOPIC && addressOfTopic(l.topics[2]) === chain.receiveAddress && l.data.length === 66;
      const id = `${l.transactionHash}:${l.index}`;
      if (!ok || seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  private async settleFinal(chain: ChainConfig, p: JsonRpcProvider, logs: Log[], from: number, to: number, head: number, intents: IntentBook, times: Map<number, Date>, report: ScanReport): Promise<void> {
    // The block at each height must still be the one the logs came from.
    for (const n of new Set(logs.map((l) => l.blockNumber))) {
      const block = await p.getBlock(n);
      const hashes = new Set(logs.filter((l) => l.blockNumber === n).map((l) => l.blockHash.toLowerCase()));
      if (!block?.hash || hashes.size !== 1 || !hashes.has(block.hash.toLowerCase())) {
        throw new Error(`${chain.name}: the logs of block ${n} are not of the block now at that height; the RPC answers from another fork, not crediting`);
      }
      times.set(n, new Date(block.timestamp * 1000));
    }
    const deposits = logs.map((l) => this.depositOf(chain, l, head, times));
    const existing = await this.repo.depositsByIds(deposits.map((d) => d.paymentId));
    const fresh: NewDeposit[] = [];
    const toCredit: Array<{ dep: NewDeposit; intent: IntentRow; from: string }> = [];
    deposits.forEach((dep, i) => {
      const before = existing.get(dep.paymentId);
      if (before && before.status !== 'seen') {
        // Settled before (the same range again after a crash, or a transaction scanned twice),
        // but a credit interrupted between its stream and its records is completed.
        if (before.status === 'credited' || before.intentId === null) return;
      }
      report.logs += 1;
      const reason = creditable(dep.amount);
      if (reason) {
        fresh.push({ ...dep, status: 'rejected', reason });
        report.rejected += 1;
        return;
      }
      const intent = before?.intentId ? intents.byId(before.intentId) : intents.match(dep);
      if (intent) {
        fresh.push({ ...dep, status: 'seen', intentId: intent.intentId });
        toCredit.push({ dep: { ...dep, intentId: intent.intentId }, intent, from: addressOfTopic(logs[i].topics[1]) });
      } else {
        fresh.push({ ...dep, status: 'unclaimed', intentId: null });
        report.unclaimed += 1;
      }
    });
    await this.repo.upsertDeposits(fresh, this.clock.now());
    // Each credit is its own (stream, ledger lane, rows): a few at a time. One that fails fails
    // the run before the checkpoint moves, so the next run does this range again.
    let next = 0;
    const lane = async () => {
      while (next < toCredit.length) {
        const c = toCredit[next++];
        const outcome = await this.credits.assign(chain, c.dep, { accountId: c.intent.accountId, intentId: c.intent.intentId, via: 'intent' }, c.from);
        if (outcome.credited) report.credited += 1;
      }
    };
    const lanes = await Promise.allSettled(Array.from({ length: Math.min(CREDIT_CONCURRENCY, toCredit.length) }, lane));
    const failed = lanes.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    const vanished = await this.repo.rejectVanished(chain.chainId, from, to, this.clock.now());
    if (vanished.length) {
      report.rejected += vanished.length;
      this.log.warn(`${chain.name}: ${vanished.length} transfer(s) seen before finality are no longer on the chain (a reorg): rejected, not credited: ${vanished.join(', ')}`);
    }
  }

  private async recordSeen(chain: ChainConfig, p: JsonRpcProvider, logs: Log[], head: number, intents: IntentBook, times: Map<number, Date>, report: ScanReport): Promise<void> {
    for (const n of new Set(logs.map((l) => l.blockNumber))) await this.blockTime(p, n, times);
    const deposits = logs.map((l) => this.depositOf(chain, l, head, times));
    const existing = await this.repo.depositsByIds(deposits.map((d) => d.paymentId));
    const rows: NewDeposit[] = [];
    for (const dep of deposits) {
      const before = existing.get(dep.paymentId);
      if (before && before.status !== 'seen') continue;
      const reason = creditable(dep.amount);
      const intent = reason ? null : before?.intentId ? intents.byId(before.intentId) : intents.match(dep);
      rows.push({ ...dep, status: 'seen', intentId: intent?.intentId ?? null });
      if (intent) await this.repo.markIntentSeen(intent.intentId, dep.paymentId);
      report.seen += 1;
    }
    await this.repo.upsertDeposits(rows, this.clock.now());
  }

  private depositOf(chain: ChainConfig, l: Log, head: number, times: Map<number, Date>): NewDeposit {
    const tokenAddress = l.address.toLowerCase();
    const token = chain.tokens.find((t) => t.address === tokenAddress)!.symbol;
    return {
      paymentId: depositId(chain.chainId, l.transactionHash, l.index),
      chainId: chain.chainId,
      txHash: l.transactionHash.toLowerCase(),
      logIndex: l.index,
      token,
      tokenAddress,
      amount: BigInt(l.data),
      blockNumber: l.blockNumber,
      blockHash: l.blockHash.toLowerCase(),
      blockTime: times.get(l.blockNumber) ?? null,
      confirmations: confirmationsAt(head, l.blockNumber),
      status: 'seen',
      reason: null,
      intentId: null,
    };
  }

  private async blockTime(p: JsonRpcProvider, n: number, times: Map<number, Date>): Promise<Date> {
    let t = times.get(n);
    if (!t) {
      const block = await p.getBlock(n);
      if (!block) throw new Error(`block ${n} is not there`);
      t = new Date(block.timestamp * 1000);
      times.set(n, t);
    }
    return t;
  }
}

/**
 * The open intents of one chain, by (token, exact amount): a transfer matches a pending intent
 * that had not expired when its block was made, or the intent a transfer of the same
 * transaction had matched before (the transaction mined again elsewhere after a reorg).
 */
class IntentBook {
  private readonly byAmount = new Map<string, IntentRow>();
  private readonly ids = new Map<string, IntentRow>();

  constructor(rows: IntentRow[]) {
    for (const r of rows) {
      this.byAmount.set(`${r.tokenAddress}:${r.amount}`, r);
      this.ids.set(r.intentId, r);
    }
  }

  byId(id: string): IntentRow | undefined {
    return this.ids.get(id);
  }

  match(dep: NewDeposit): IntentRow | undefined {
    const i = this.byAmount.get(`${dep.tokenAddress}:${dep.amount}`);
    if (!i) return undefined;
    const sameTx = i.status === 'seen' && i.paymentId?.startsWith(`chain-${dep.chainId}-${dep.txHash}-`);
    const inTime = i.status === 'pending' && (!dep.blockTime || dep.blockTime.getTime() < i.expiresAt.getTime());
    if (!sameTx && !inTime) return undefined;
    i.status = 'seen';
    i.paymentId = dep.paymentId;
    return i;
  }
}
