/**
 * USDC/USDT on chain, the pure part: amounts of intents, the Transfer log's shape, finality,
 * the claim message, the refusals' codes. No I/O, no clock.
 *
 * Units: both tokens have 6 decimals and 1 token = 1 credit, so one token unit is exactly 1 µcr.
 * Bounds: an intent asks 5 to TOPUP_MAX_USD credits (at most 1,000,000) plus an offset of 1 to
 * 10,000 units (at most 0.01); a transfer credits at most MAX_MICROS (the ledger's bound), a
 * larger one is rejected, never truncated.
 */
import { ChainName } from '../../../config/config';
import { DomainError } from '../../../shared/domain-error';
import { MAX_MICROS, parseCredits } from '../../../shared/money';

export type CryptoErrorCode =
  | 'chain_not_offered'
  | 'token_not_offered'
  | 'intents_exhausted'
  | 'intent_not_found'
  | 'deposit_not_found'
  | 'deposit_not_final'
  | 'deposit_already_credited'
  | 'deposit_rejected'
  | 'log_index_required'
  | 'claim_signature_invalid'
  | 'chain_unavailable';

export class CryptoError extends DomainError<CryptoErrorCode> {
  override readonly name = 'CryptoError';
}

/** keccak256("Transfer(address,address,uint256)"). */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

export const MIN_INTENT_MICROS = 5_000_000n;
/** The unique offset added to an intent's amount: 1..MAX_OFFSET units (0.000001..0.010000). */
export const MAX_OFFSET = 10_000;

export const CHAIN_LABEL: Record<ChainName, string> = { ethereum: 'Ethereum', base: 'Base' };

const AMOUNT = /^[0-9]{1,7}(\.[0-9]{1,6})?$/;

/** What a person asked: a decimal string of 5..max credits with at most 6 decimals → µcr, or why not. */
export function askedAmount(input: string, maxCredits: number): bigint | string {
  if (!AMOUNT.test(input)) return 'must be a decimal string of credits with at most 6 decimals, like "25" or "25.50"';
  const micros = parseCredits(input);
  if (micros < MIN_INTENT_MICROS) return 'must be at least 5';
  if (micros > BigInt(maxCredits) * 1_000_000n) return `must be at most ${maxCredits}`;
  return micros;
}

/** A 32-byte topic holding an address → the address, lower case. */
export const addressOfTopic = (topic: string): string => `0x${topic.slice(-40)}`.toLowerCase();
/** An address → the 32-byte topic that filters Transfer logs by it. */
export const topicOfAddress = (address: string): string => `0x${address.slice(2).toLowerCase().padStart(64, '0')}`;

export const TX_HASH = /^0x[0-9a-fA-F]{64}$/;

/** `chain-<chainId>-<txHash lower>-<logIndex>`: the transfer's stream and payment id (as the ledger's cryptoPaymentId). */
export const depositId = (chainId: number, txHash: string, logIndex: number): string => `chain-${chainId}-${txHash.toLowerCase()}-${logIndex}`;

/**
 * The block up to which logs are final: the chain's `finalized` block, or with N confirmations
 * the block with N blocks on top counting itself (head − N + 1); −1 when none is yet.
 */
export function finalHeight(head: number, finality: 'finalized' | number, finalizedTag: number | null): number {
  if (finality === 'finalized') return Math.min(finalizedTag ?? -1, head);
  return head - finality + 1;
}

/** Confirmations of a block at `height`, the head counting as one. */
export const confirmationsAt = (head: number, height: number): number => Math.max(0, head - height + 1);

/** A transfer's amount within the ledger's bound (positive, at most MAX_MICROS), or why not. */
export function creditable(amount: bigint): string | null {
  if (amount <= 0n) return 'zero amount';
  if (amount > MAX_MICROS) return 'amount above the ledger bound';
  return null;
}

/**
 * What the paying wallet signs (EIP-191 personal_sign) to claim a transfer for an account. Fixed
 * text from its inputs only, so the page that shows it and the route that checks it agree.
 */
export function claimMessage(p: { accountId: string; chain: ChainName; chainId: number; txHash: string; receiveAddress: string }): string {
  return [
    'Tollgate: credit my transfer to this account.',
    `Account: ${p.accountId}`,
    `Chain: ${CHAIN_LABEL[p.chain]} (chain id ${p.chainId})`,
    `Transaction: ${p.txHash.toLowerCase()}`,
    `Paid to: ${p.receiveAddress.toLowerCase()}`,
  ].join('\n');
}

/** The receipt's "paid with" line. */
export const receiptDetail = (token: string, chain: ChainName, txHash: string): string => `${token} on ${CHAIN_LABEL[chain]}, transaction ${txHash.toLowerCase()}`;

export type IntentStatus = 'pending' | 'seen' | 'credited' | 'expired' | 'rejected';

/** A pending intent past its expiry reads as expired before the scanner has swept it. */
export function intentStatusAt(stored: IntentStatus, expiresAt: Date, now: Date): IntentStatus {
  return stored === 'pending' && expiresAt.getTime() <= now.getTime() ? 'expired' : stored;
}

/** A deposit stream's events: who it was credited to (an intent's account, or a claimant). */
export const DEPOSIT_CREDITED = 'CryptoDepositAssigned';
export interface DepositAssignedData {
  [key: string]: unknown;
  chainId: number;
  txHash: string;
  logIndex: number;
  token: string;
  tokenAddress: string;
  amount: string;
  blockNumber: number;
  blockHash: string;
  accountId: string;
  /** The intent it matched, or null for a claim. */
  intentId: string | null;
  via: 'intent' | 'claim';
}
