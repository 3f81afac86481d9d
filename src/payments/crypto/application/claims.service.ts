/**
 * Claims of transfers that matched no intent (a wrong amount, a late payment, none asked): the
 * paying wallet signs a fixed message naming the account and the transaction (EIP-191), and the
 * signer must be the Transfer's `from`, read again from the chain's own receipt of the
 * transaction (nothing about the payer is kept before a claim). What arrived is credited, once.
 */
import { Injectable } from '@nestjs/common';
import { ChainConfig } from '../../../config/config';
import { CryptoError, TRANSFER_TOPIC, addressOfTopic, claimMessage } from '../domain/crypto';
import { ChainClients, ethers, shortError } from './chain-clients';
import { CryptoCreditsService } from './crypto-credits.service';
import { CryptoRepository, DepositRow } from './crypto.repository';

@Injectable()
export class ClaimsService {
  constructor(
    private readonly clients: ChainClients,
    private readonly repo: CryptoRepository,
    private readonly credits: CryptoCreditsService,
  ) {}

  async message(accountId: string, chainName: string, txHash: string): Promise<string> {
    const chain = this.chainOf(chainName);
    const deposits = await this.repo.depositsOfTx(chain.chainId, txHash);
    if (deposits.length === 0) throw notFound(chain, txHash);
    return claimMessage({ accountId, chain: chain.name, chainId: chain.chainId, txHash, receiveAddress: chain.receiveAddress });
  }

  async claim(accountId: string, input: { chain: string; txHash: string; logIndex?: number; signature: string }): Promise<DepositRow> {
    const chain = this.chainOf(input.chain);
    const deposits = await this.repo.depositsOfTx(chain.chainId, input.txHash);
    if (deposits.length === 0) throw notFound(chain, input.txHash);
    let dep: DepositRow | undefined;
    if (input.logIndex !== undefined) dep = deposits.find((d) => d.logIndex === input.logIndex);
    else if (deposits.length === 1) dep = deposits[0];
    else throw new CryptoError('log_index_required', `transaction ${input.txHash.toLowerCase()} holds ${deposits.length} transfers to the receiving address (log indexes ${deposits.map((d) => d.logIndex).join(', ')}): say which with logIndex`);
    if (!dep) throw new CryptoError('deposit_not_found', `transaction ${input.txHash.toLowerCase()} holds no transfer to the receiving address at log index ${input.logIndex}`);
    switch (dep.status) {
      case 'seen':
        throw new CryptoError('deposit_not_final', `this transfer is not final yet (${dep.confirmations} confirmation(s)); claim it again once it is final`);
      case 'credited':
        throw new CryptoError('deposit_already_credited', 'this transfer has already been credited');
      case 'rejected':
        throw new CryptoError('deposit_rejected', `this transfer cannot be credited: ${dep.reason ?? 'rejected'}`);
      case 'unclaimed':
        break;
    }
    const message = claimMessage({ accountId, chain: chain.name, chainId: chain.chainId, txHash: dep.txHash, receiveAddress: chain.receiveAddress });
    let signer: string;
    try {
      signer = ethers().verifyMessage(message, input.signature).toLowerCase();
    } catch {
      throw badSignature();
    }
    const from = await this.payerOf(chain, dep);
    if (signer !== from) throw badSignature();
    const outcome = await this.credits.assign(chain, { ...dep, intentId: null }, { accountId, intentId: null, via: 'claim' }, from);
    if (!outcome.credited) throw new CryptoError('deposit_already_credited', 'this transfer has already been credited');
    return { ...dep, status: 'credited', accountId };
  }

  /** The Transfer's `from`, from the chain's receipt of the transaction (it must still say what was recorded). */
  private async payerOf(chain: ChainConfig, dep: DepositRow): Promise<string> {
    let receipt;
    try {
      receipt = await (await this.clients.verified(chain)).getTransactionReceipt(dep.txHash);
    } catch (err) {
      if (err instanceof CryptoError) throw err;
      throw new CryptoError('chain_unavailable', `the ${chain.name} RPC could not be read: ${shortError(err)}`);
    }
    const log = receipt?.logs.find((l) => l.index === dep.logIndex);
    const intact =
      log &&
      log.address.toLowerCase() === dep.tokenAddress &&
      log.topics[0] === TRANSFER_TOPIC &&
      log.topics.length === 3 &&
      addressOfTopic(log.topics[2]) === chain.receiveAddress &&
      BigInt(log.data) === dep.amount;
    if (!intact) throw new CryptoError('deposit_rejected', 'the chain no longer shows this transfer as recorded; it cannot be claimed');
    return addressOfTopic(log.topics[1]);
  }

  private chainOf(name: string): ChainConfig {
    const chain = this.clients.chain(name);
    if (!chain) throw new CryptoError('chain_not_offered', `chain "${name}" is not offered here`);
    return chain;
  }
}

const notFound = (chain: ChainConfig, txHash: string) =>
  new CryptoError('deposit_not_found', `no transfer to the receiving address is known in transaction ${txHash.toLowerCase()} on ${chain.name} (a recent one may not be scanned yet)`);
const badSignature = () => new CryptoError('claim_signature_invalid', 'the signature is not from the wallet that sent this transfer; nothing was credited');
