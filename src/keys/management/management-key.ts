/**
 * Management keys: what a script uses for the account API (`Authorization: Bearer tg-mgmt-…`)
 * in place of a signed-in person's session. It can manage projects and keys and read usage,
 * never call a model (its shape is not an API key's, so the proxy refuses it as unknown) and
 * never mint another management key (those routes are session-only).
 *
 *   tg-mgmt-<40 base62 characters>       regex for scanners: \btg-mgmt-[0-9A-Za-z]{40}\b
 *
 * Events on stream `mgmtkey-<keyId>`; only the SHA-256 of the secret is kept. This file is the
 * pure part: events, decider, secret format.
 */
import { assertNever } from '../../shared/assert-never';
import { DomainError } from '../../shared/domain-error';
import { describeSecret, generateSecret } from '../domain/api-key-secret';

export const MANAGEMENT_SECRET_PREFIX = 'tg-mgmt-';
export const MANAGEMENT_SECRET_PATTERN = /^tg-mgmt-[0-9A-Za-z]{40}$/;
export const MANAGEMENT_SECRET_SCAN_PATTERN = /\btg-mgmt-[0-9A-Za-z]{40}\b/g;

export const generateManagementSecret = (randomBytes: (n: number) => Buffer): string => generateSecret(randomBytes, MANAGEMENT_SECRET_PREFIX);
export const describeManagementSecret = (secret: string) => describeSecret(secret, MANAGEMENT_SECRET_PREFIX);
export const isWellFormedManagementSecret = (s: string): boolean => MANAGEMENT_SECRET_PATTERN.test(s);

export type ManagementKeyEvent =
  | {
      type: 'ManagementKeyCreated';
      data: {
        keyId: string;
        accountId: string;
        userId: string;
        name: string;
        /** Set on keys made since names are personal data: `name` is a vault value sealed for this person (the account holder). */
        nameOwner?: string;
        hash: string;
        prefix: string;
        last4: string;
        createdAt: string;
      };
    }
  | { type: 'ManagementKeyRevoked'; data: { keyId: string; revokedAt: string } };

const KNOWN = new Set<string>(['ManagementKeyCreated', 'ManagementKeyRevoked']);

export const MANAGEMENT_KEY_STREAM_PREFIX = 'mgmtkey-';
export const managementKeyStream = (keyId: string) => `${MANAGEMENT_KEY_STREAM_PREFIX}${keyId}`;

export function decodeManagementKeyEvent(type: string, data: Record<string, unknown>): ManagementKeyEvent {
  if (!KNOWN.has(type)) throw new Error(`unknown management key event type ${type}`);
  return { type, data } as ManagementKeyEvent;
}

export type ManagementKeyErrorCode = 'management_key_not_found' | 'invalid_command' | 'version_conflict';

export class ManagementKeyError extends DomainError<ManagementKeyErrorCode> {
  override readonly name = 'ManagementKeyError';
}

export interface ManagementKeyState {
  exists: boolean;
  keyId: string;
  accountId: string;
  userId: string;
  name: string;
  /** The person `name` is sealed for; null: plain text. */
  nameOwner: string | null;
  hash: string;
  prefix: string;
  last4: string;
  createdAt: string;
  revokedAt: string | null;
}

export const initialManagementKeyState = (): ManagementKeyState => ({
  exists: false,
  keyId: '',
  accountId: '',
  userId: '',
  name: '',
  nameOwner: null,
  hash: '',
  prefix: '',
  last4: '',
  createdAt: '',
  revokedAt: null,
});

export type ManagementKeyCommand =
  | { type: 'CreateManagementKey'; data: { keyId: string; accountId: string; userId: string; name: string; hash: string; prefix: string; last4: string } }
  | { type: 'RevokeManagementKey'; data: { keyId: string } };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Invariants: created once (again with the same hash is a retry); revoked once, for good
 * (revoking again is a no-op); the hash is a SHA-256 and the display parts a tg-mgmt- secret's.
 */
export function decideManagementKey(command: ManagementKeyCommand, state: ManagementKeyState, ctx: { now: Date }): ManagementKeyEvent[] {
  const now = ctx.now.toISOString();
  switch (command.type) {
    case 'CreateManagementKey': {
      const d = command.data;
      if (state.exists) {
        if (state.hash === d.hash && state.accountId === d.accountId) return [];
        throw new ManagementKeyError('invalid_command', `management key ${d.keyId} already exists`);
      }
      if (!d.accountId || !d.userId) throw new ManagementKeyError('invalid_command', 'an account and a user must be given');
      if (typeof d.name !== 'string' || d.name.length > 200 || CONTROL.test(d.name)) {
        throw new ManagementKeyError('invalid_command', 'a name is at most 200 characters, without control characters');
      }
      if (!/^[0-9a-f]{64}$/.test(d.hash) || !/^tg-mgmt-[0-9A-Za-z]{4}$/.test(d.prefix) || !/^[0-9A-Za-z]{4}$/.test(d.last4)) {
        throw new ManagementKeyError('invalid_command', 'hash, prefix and last4 must describe a tg-mgmt- secret');
      }
      return [{ type: 'ManagementKeyCreated', data: { ...d, createdAt: now } }];
    }
    case 'RevokeManagementKey':
      if (!state.exists) throw new ManagementKeyError('management_key_not_found', `no management key ${command.data.keyId}`);
      if (state.revokedAt !== null) return [];
      return [{ type: 'ManagementKeyRevoked', data: { keyId: state.keyId, revokedAt: now } }];
    default:
      return assertNever(command);
  }
}

export function evolveManagementKey(state: ManagementKeyState, event: ManagementKeyEvent): ManagementKeyState {
  switch (event.type) {
    case 'ManagementKeyCreated':
      return { ...event.data, nameOwner: event.data.nameOwner ?? null, exists: true, revokedAt: null };
    case 'ManagementKeyRevoked':
      return { ...state, revokedAt: event.data.revokedAt };
    default:
      return assertNever(event);
  }
}
