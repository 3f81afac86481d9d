/**
 * Payment intents: "send exactly this amount of this token to this address on this chain". The
 * exact amount is what was asked plus an offset of 1..MAX_OFFSET units, chosen at random among
 * those no open intent of that chain and token holds; the database's partial unique index
 * decides between concurrent intents (the loser picks again), so no two open intents share an
 * amount, and when every offset is taken the answer is 503 intents_exhausted.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, ChainConfig } from '../../../config/config';
import { CLOCK, Clock } from '../../../platform/clock';
import { ApiError } from '../../../platform/http/api-error';
import { isUuid } from '../../../shared/ids';
import { CryptoError, IntentStatus, MAX_OFFSET, askedAmount, intentStatusAt } from '../domain/crypto';
import { ChainClients } from './chain-clients';
import { CryptoRepository, IntentRow } from './crypto.repository';

/** Picks after losing a race for an amount, before answering intents_exhausted. */
const MAX_PICKS = 20;

export interface IntentView {
  intent: IntentRow;
  chain: string;
  status: IntentStatus;
  txHash: string | null;
  confirmations: number | null;
}

@Injectable()
export class IntentsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly clients: ChainClients,
    private readonly repo: CryptoRepository,
  ) {}

  /** The chains (and their tokens) an intent may name: those configured with an RPC, an address and tokens. */
  offered(): readonly ChainConfig[] {
    return this.clients.chains;
  }

  async create(accountId: string, input: { chain: string; token: string; amount: string }): Promise<IntentRow & { chain: string }> {
    const chain = this.clients.chain(input.chain);
    if (!chain) {
      const offered = this.clients.chains.map((c) => c.name).join(', ') || 'none';
      throw new CryptoError('chain_not_offered', `chain "${input.chain}" is not offered here (offered: ${offered})`);
    }
    const token = chain.tokens.find((t) => t.symbol === input.token);
    if (!token) throw new CryptoError('token_not_offered', `token "${input.token}" is not offered on ${chain.name} (offered: ${chain.tokens.map((t) => t.symbol).join(', ')})`);
    const asked = askedAmount(input.amount, this.config.TOPUP_MAX_USD);
    if (typeof asked === 'string') throw new ApiError('validation_failed', `amount: ${asked}`, { param: 'amount' });
    const now = this.clock.now();
    for (let pick = 0; pick < MAX_PICKS; pick++) {
      const taken = await this.repo.takenOffsets(chain.chainId, token.address, asked, MAX_OFFSET);
      const offset = freeOffset(taken);
      if (offset === null) break;
      const intent: IntentRow = {
        intentId: randomUUID(),
        accountId,
        chainId: chain.chainId,
        token: token.symbol,
        tokenAddress: token.address,
        address: chain.receiveAddress,
        amount: asked + BigInt(offset),
        createdAt: now,
        expiresAt: new Date(now.getTime() + this.config.CRYPTO_INTENT_TTL * 1000),
        status: 'pending',
        paymentId: null,
      };
      if (await this.repo.insertIntent(intent)) return { ...intent, chain: chain.name };
    }
    throw new CryptoError('intents_exhausted', `every exact amount near ${input.amount} ${token.symbol} on ${chain.name} is taken by an open intent; try another amount or again later`);
  }

  async get(accountId: string, intentId: string): Promise<IntentView> {
    const row = isUuid(intentId) ? await this.repo.intentOf(accountId, intentId) : null;
    if (!row) throw new CryptoError('intent_not_found', 'no such payment intent');
    const chain = this.clients.chainById(row.chainId)?.name ?? String(row.chainId);
    return { intent: row, chain, status: intentStatusAt(row.status, row.expiresAt, this.clock.now()), txHash: row.txHash, confirmations: row.confirmations };
  }
}

/** A random offset in 1..MAX_OFFSET that is not taken, or null when all are. */
function freeOffset(taken: Set<number>): number | null {
  if (taken.size >= MAX_OFFSET) return null;
  const start = randomInt(1, MAX_OFFSET + 1);
  for (let k = 0; k < MAX_OFFSET; k++) {
    const o = ((start - 1 + k) % MAX_OFFSET) + 1;
    if (!taken.has(o)) return o;
  }
  return null;
}
