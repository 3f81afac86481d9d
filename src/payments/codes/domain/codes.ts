/**
 * Redemption codes: their shape, their hash and their events. A code is 80 random bits in
 * Crockford base32 (16 characters, grouped by four), behind an optional prefix; only the
 * SHA-256 of its normalised form (upper case, no separators, I/L→1, O→0) is ever stored.
 *
 * Streams: `codebatch-<batchId>` (CodeBatchIssued, CodeBatchRevoked, CodeRevoked),
 * `redemption-<hash>` (one CodeRedeemed: the code's single use, appended at version 0), and
 * `redemption-claim-<batchId>-<accountId>` (one per account per batch).
 */
import { createHash, randomBytes } from 'node:crypto';
import { DomainError } from '../../../shared/domain-error';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_CHARS = 16; // 16 × 5 = 80 bits
export const MAX_CODES_PER_BATCH = 10_000;
export const PREFIX = /^[A-Z0-9]{1,8}$/;

export type CodesErrorCode = 'code_invalid' | 'code_expired' | 'batch_already_redeemed' | 'batch_not_found' | 'invalid_command';

export class CodesError extends DomainError<CodesErrorCode> {
  override readonly name = 'CodesError';
}

export function generateCode(prefix: string | null): string {
  const bytes = randomBytes(RANDOM_CHARS);
  let body = '';
  // Each byte's low 5 bits: uniform over the 32 symbols.
  for (const b of bytes) body += ALPHABET[b & 31];
  const groups = body.match(/.{4}/g) ?? [];
  return [...(prefix ? [prefix] : []), ...groups].join('-');
}

/** The code as typed, normalised; null when it cannot be a code (too long, foreign characters). */
export function normaliseCode(input: string): string | null {
  if (input.length > 64) return null;
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (s.length < RANDOM_CHARS || s.length > RANDOM_CHARS + 8) return null;
  if (!/^[0-9A-Z]+$/.test(s)) return null;
  if (![...s.slice(-RANDOM_CHARS)].every((c) => ALPHABET.includes(c))) return null;
  return s;
}

export const codeHash = (normalised: string): string => createHash('sha256').update(normalised).digest('hex');

export const batchStream = (batchId: string) => `codebatch-${batchId}`;
export const redemptionStream = (hash: string) => `redemption-${hash}`;
export const claimStream = (batchId: string, accountId: string) => `redemption-claim-${batchId}-${accountId}`;
export const BATCH_PREFIX = 'codebatch-';
export const REDEMPTION_PREFIX = 'redemption-';

export interface CodeBatchIssuedData {
  batchId: string;
  /** µcr, decimal string. */
  amount: string;
  hashes: string[];
  expiresAt: string | null;
  prefix: string | null;
}

export interface BatchState {
  batchId: string;
  amount: bigint;
  hashes: Set<string>;
  expiresAt: Date | null;
  prefix: string | null;
  issuedAt: Date;
  revoked: boolean;
  revokedHashes: Set<string>;
}

export function foldBatch(events: readonly { type: string; data: Record<string, unknown>; recordedAt: Date }[]): BatchState | null {
  let state: BatchState | null = null;
  for (const e of events) {
    if (e.type === 'CodeBatchIssued') {
      const d = e.data as unknown as CodeBatchIssuedData;
      state = {
        batchId: d.batchId,
        amount: BigInt(d.amount),
        hashes: new Set(d.hashes),
        expiresAt: d.expiresAt ? new Date(d.expiresAt) : null,
        prefix: d.prefix,
        issuedAt: e.recordedAt,
        revoked: false,
        revokedHashes: new Set(),
      };
    } else if (state && e.type === 'CodeBatchRevoked') {
      state.revoked = true;
    } else if (state && e.type === 'CodeRevoked') {
      state.revokedHashes.add(String(e.data.hash));
    }
  }
  return state;
}
