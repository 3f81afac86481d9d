/**
 * A key as the account API shows it (the projects' key routes and /api/keys): the display form
 * `tg-abc1…wxyz`, never the hash; `secret` only in the one answer that made it. The schemas
 * here are what the OpenAPI document says and what the tests read.
 */
import { z } from 'zod';
import { formatCredits } from '../../shared/money';
import { displayKey } from '../domain/api-key-secret';
import { ApiKeyRecord } from '../application/api-keys.repository';
import { keyLimitsJson } from '../application/key-limits-input';

export const keyViewSchema = z.object({
  id: z.string(),
  projectId: z.uuid().nullable(),
  name: z.string(),
  key: z.string().describe('display form: prefix…last 4'),
  status: z.enum(['active', 'revoked', 'expired']),
  limits: z.object({
    models: z.array(z.string()).nullable(),
    spendCap: z.string().nullable().describe('credits, an exact decimal string'),
    expiresAt: z.iso.datetime().nullable(),
    rpm: z.number().int().nullable(),
    tpm: z.number().int().nullable(),
  }),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable().describe('at most a minute stale'),
});
export type KeyView = z.infer<typeof keyViewSchema>;

export const issuedKeySchema = keyViewSchema.extend({
  secret: z.string().describe('the API key itself: in this answer only (a replay by Idempotency-Key answers without it)'),
});

// eslint-disable-next-line no-control-regex
const printable = (max: number) => z.string().trim().max(max, `must be at most ${max} characters`).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');

/** POST /api/projects/{id}/keys: a name and the same limits as PATCH /api/keys/{id} (and `tollgate keys limits`). */
export const createKeyBody = keyLimitsJson.extend({ name: printable(200).optional() }).strict();
export const keyNameSchema = printable(200);

export function keyView(k: ApiKeyRecord, now: Date): KeyView {
  const expired = k.status === 'active' && k.expiresAt !== null && k.expiresAt.getTime() <= now.getTime();
  return {
    id: k.keyId,
    projectId: k.projectId,
    name: k.name,
    key: displayKey(k.prefix, k.last4),
    status: k.status === 'revoked' ? 'revoked' : expired ? 'expired' : 'active',
    limits: {
      models: k.models,
      spendCap: k.spendCapMicros === null ? null : formatCredits(k.spendCapMicros),
      expiresAt: k.expiresAt?.toISOString() ?? null,
      rpm: k.rpm,
      tpm: k.tpm,
    },
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  };
}

/** The keyset cursor of key lists: the last key's creation time and id. */
export const keyCursor = z.object({ c: z.iso.datetime(), k: z.string().max(200) });
export const keyCursorOf = (k: ApiKeyRecord) => ({ c: k.createdAt.toISOString(), k: k.keyId });
