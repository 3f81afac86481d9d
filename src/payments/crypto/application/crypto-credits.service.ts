/**
 * Turns a final transfer into credit, once. The transfer's own stream
 * (`chain-<chainId>-<txHash>-<logIndex>`) is created with "no stream" and says whose it is (an
 * intent's account, or a claimant's); of any number of attempts (the scanner again after a
 * crash, two claims at once) only the first decides. Then the ledger's CreditCryptoPayment (its
 * event id derives from the same payment id, so a retry credits nothing more), the records, and
 * the receipt. Every step can be redone: a crash in between is completed by the next attempt.
 */
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { UsersRepository } from '../../../accounts/application/users.repository';
import { UsersService } from '../../../accounts/application/users.service';
import { ChainConfig } from '../../../config/config';
import { ExecuteAccountCommand } from '../../../ledger/application/execute-account.command';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventIdConflictError, EventStore, VersionConflictError } from '../../../platform/event-store/event-store.port';
import { deterministicId } from '../../../shared/ids';
import { ReceiptsService } from '../../receipts/receipts.service';
import { DEPOSIT_CREDITED, DepositAssignedData, receiptDetail } from '../domain/crypto';
import { CryptoRepository, NewDeposit } from './crypto.repository';

export type AssignOutcome = { credited: true; accountId: string } | { credited: false; assignedTo: string };

@Injectable()
export class CryptoCreditsService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly commands: CommandBus,
    private readonly repo: CryptoRepository,
    private readonly receipts: ReceiptsService,
    private readonly users: UsersService,
    private readonly userRows: UsersRepository,
  ) {}

  /**
   * Credits the deposit to `accountId` unless it already belongs to another account (then
   * `credited: false` and whose it is). `from`: the paying wallet, kept sealed with the owner's key.
   */
  async assign(chain: ChainConfig, dep: NewDeposit, who: { accountId: string; intentId: string | null; via: 'intent' | 'claim' }, from: string | null): Promise<AssignOutcome> {
    const data: DepositAssignedData = {
      chainId: dep.chainId,
      txHash: dep.txHash,
      logIndex: dep.logIndex,
      token: dep.token,
      tokenAddress: dep.tokenAddress,
      amount: dep.amount.toString(),
      blockNumber: dep.blockNumber,
      blockHash: dep.blockHash,
      accountId: who.accountId,
      intentId: who.intentId,
      via: who.via,
    };
    let owner = who.accountId;
    let intentId = who.intentId;
    try {
      await this.store.append(dep.paymentId, [{ id: deterministicId(`${dep.paymentId}:assigned`), type: DEPOSIT_CREDITED, data, metadata: { actor: actorOf(who) } }], {
        expectedVersion: 'no_stream',
      });
    } catch (err) {
      if (!(err instanceof VersionConflictError || err instanceof EventIdConflictError)) throw err;
      const [first] = await this.store.readStream(dep.paymentId, { limit: 1 });
      owner = String(first.data.accountId);
      intentId = (first.data.intentId as string | null) ?? null;
      if (owner !== who.accountId) return { credited: false, assignedTo: owner };
    }
    await this.commands.execute(
      new ExecuteAccountCommand(
        owner,
        { type: 'CreditCryptoPayment', data: { amount: dep.amount, chainId: dep.chainId, txHash: dep.txHash, logIndex: dep.logIndex, token: dep.token } },
        { actor: actorOf(who), causationId: dep.paymentId },
      ),
    );
    const now = this.clock.now();
    await this.repo.markDepositCredited(dep.paymentId, { accountId: owner, intentId, fromSealed: from ? await this.seal(owner, from) : null, at: now });
    await this.receipts.issue({
      paymentId: dep.paymentId,
      accountId: owner,
      method: 'crypto',
      amount: dep.amount,
      detail: receiptDetail(dep.token, chain.name, dep.txHash),
      paidAt: dep.blockTime ?? now,
    });
    return { credited: true, accountId: owner };
  }

  /** The wallet address sealed with the data key of the account's owner; null when the account has no owner. */
  private async seal(accountId: string, from: string): Promise<string | null> {
    const owner = await this.userRows.findByAccount(accountId);
    return owner ? this.users.sealFor(owner.userId, from.toLowerCase()) : null;
  }
}

const actorOf = (who: { accountId: string; via: 'intent' | 'claim' }) => (who.via === 'claim' ? `account:${who.accountId}` : 'system:chain-scanner');
