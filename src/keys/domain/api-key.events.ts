/**
 * The events of one API key, all on stream `apikey-<keyId>`. The spending cap is bigint µcr
 * here and a decimal string on disk (JSON numbers are floats), as in the ledger's events.
 * No event ever holds the secret: only its SHA-256 and the display parts.
 */
import { Micros } from '../../shared/money';

export interface KeyLimits {
  /** Allowlist of model names; null: every model. */
  models: string[] | null;
  spendCapMicros: Micros | null;
  /** ISO 8601 instant; null: never expires. */
  expiresAt: string | null;
  rpm: number | null;
  tpm: number | null;
}

export const NO_LIMITS: KeyLimits = Object.freeze({ models: null, spendCapMicros: null, expiresAt: null, rpm: null, tpm: null });

export type ApiKeyEvent =
  | {
      type: 'KeyCreated';
      data: {
        keyId: string;
        accountId: string;
        /** The project's name when the key was made (all a key had before projects were streams). */
        project: string;
        /** Absent on keys made before projects existed: KeyMovedToProject gives them one. */
        projectId?: string;
        name: string;
        /**
         * Set on keys made since names are personal data (src/compliance/account-names.ts):
         * `project` and `name` are then vault values sealed for this person, the account holder.
         * Absent: both are plain text (older keys, or an account no person holds).
         */
        nameOwner?: string;
        hash: string;
        prefix: string;
        last4: string;
        createdAt: string;
      };
    }
  | { type: 'KeyRevoked'; data: { keyId: string; reason: string; revokedAt: string } }
  // One event, so the old secret stops working and the new one starts in the same append.
  | { type: 'KeyRegenerated'; data: { keyId: string; hash: string; prefix: string; last4: string; regeneratedAt: string } }
  | { type: 'KeyLimitsChanged'; data: { keyId: string } & KeyLimits }
  // The one-time step at start (src/projects/application/project-backfill.ts) gives an old key its project.
  | { type: 'KeyMovedToProject'; data: { keyId: string; projectId: string } };

export type ApiKeyEventType = ApiKeyEvent['type'];

export const API_KEY_EVENT_TYPES: readonly ApiKeyEventType[] = [
  'KeyCreated',
  'KeyRevoked',
  'KeyRegenerated',
  'KeyLimitsChanged',
  'KeyMovedToProject',
];
const KNOWN = new Set<string>(API_KEY_EVENT_TYPES);

export const API_KEY_STREAM_PREFIX = 'apikey-';
export const apiKeyStream = (keyId: string) => `${API_KEY_STREAM_PREFIX}${keyId}`;
export const keyIdOfStream = (streamId: string) => streamId.slice(API_KEY_STREAM_PREFIX.length);

export class UnknownKeyEventError extends Error {
  constructor(type: string) {
    super(`unknown api key event type ${type}`);
  }
}

/** bigint → decimal string, for storage. */
export function encodeKeyEvent(e: ApiKeyEvent): { type: string; data: Record<string, unknown> } {
  const data: Record<string, unknown> = { ...e.data };
  if (typeof data.spendCapMicros === 'bigint') data.spendCapMicros = data.spendCapMicros.toString();
  return { type: e.type, data };
}

/** Decimal string → bigint, from storage. An unknown type is an error, not a silent skip. */
export function decodeKeyEvent(type: string, stored: Record<string, unknown>): ApiKeyEvent {
  if (!KNOWN.has(type)) throw new UnknownKeyEventError(type);
  const data: Record<string, unknown> = { ...stored };
  if (typeof data.spendCapMicros === 'string') data.spendCapMicros = BigInt(data.spendCapMicros);
  return { type, data } as ApiKeyEvent;
}
