/**
 * What the `tollgate keys` commands share: option schemas, how a key is shown (never its
 * hash). A KeyError reaches the shared CLI reporter (src/cli/cli-errors.ts).
 */
import { z } from 'zod';
import { formatCredits } from '../../shared/money';
import { displayKey } from '../domain/api-key-secret';
import { ApiKeyRecord } from '../application/api-keys.repository';
import { BroadcastResult } from '../application/key-broadcaster';

export const keyIdOption = z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'is too long');
export const accountOption = z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200, 'is too long');
// eslint-disable-next-line no-control-regex
const printable = (max: number) => z.string().trim().max(max, `is longer than ${max} characters`).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
export const projectOption = printable(100).pipe(z.string().min(1, 'must not be empty'));
export const nameOption = printable(200);

/** A key as the CLI shows it: the display form `tg-abc1…wxyz`, never the hash. */
export function keyView(k: ApiKeyRecord, now: Date): Record<string, unknown> {
  return {
    keyId: k.keyId,
    accountId: k.accountId,
    project: k.project,
    projectId: k.projectId,
    name: k.name,
    key: displayKey(k.prefix, k.last4),
    status: k.status,
    expired: k.status === 'active' && k.expiresAt !== null && k.expiresAt.getTime() <= now.getTime(),
    limits: {
      models: k.models,
      spendCap: k.spendCapMicros === null ? null : formatCredits(k.spendCapMicros),
      expiresAt: k.expiresAt?.toISOString() ?? null,
      rpm: k.rpm,
      tpm: k.tpm,
    },
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

export function statusText(k: ApiKeyRecord, now: Date): string {
  if (k.status === 'revoked') return 'revoked';
  return k.expiresAt !== null && k.expiresAt.getTime() <= now.getTime() ? 'expired' : 'active';
}

export function limitsText(k: ApiKeyRecord): string {
  const parts: string[] = [];
  if (k.models) parts.push(`models ${k.models.join(',')}`);
  if (k.spendCapMicros !== null) parts.push(`cap ${formatCredits(k.spendCapMicros)} cr`);
  if (k.expiresAt) parts.push(`expires ${k.expiresAt.toISOString()}`);
  if (k.rpm !== null) parts.push(`${k.rpm} rpm`);
  if (k.tpm !== null) parts.push(`${k.tpm} tpm`);
  return parts.length ? parts.join('; ') : 'none';
}

/** Says so on stderr when an API instance did not confirm it dropped the key in time. */
export function warnUnconfirmed(b: BroadcastResult): void {
  if (b.acknowledged < b.listeners) {
    process.stderr.write(
      `warning: ${b.listeners - b.acknowledged} of ${b.listeners} API instances did not confirm the change in time; ` +
        'run the command again to re-send it\n',
    );
  }
}

