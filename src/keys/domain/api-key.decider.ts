/**
 * The API key decider: pure functions over one key. decide() checks a command against the key's
 * state and returns the events it causes (or throws a KeyError with a stable code); evolve()
 * folds one event into the state. Time comes in as an argument; so do the secret's hash and
 * display parts (the secret itself never reaches the domain).
 *
 * Invariants (tested in test/unit/keys):
 * - a key is created once, for an account; creating it again with the same hash is a retry;
 * - a revoked key stays revoked: its limits cannot change and it cannot be regenerated
 *   (key_revoked); revoking it again is a no-op;
 * - a regeneration replaces the hash in one event, so exactly one secret works at any version;
 * - a limits change that changes nothing appends nothing;
 * - a key gets a project id once (at creation, or moved there by the start step if it had none).
 */
import { assertNever } from '../../shared/assert-never';
import { ApiKeyEvent, KeyLimits, NO_LIMITS } from './api-key.events';
import { KeyError } from './key.errors';

export type KeyStatus = 'active' | 'revoked';

export interface ApiKeyState {
  exists: boolean;
  keyId: string;
  accountId: string;
  project: string;
  /** Null for a key made before projects existed, until the start step moves it. */
  projectId: string | null;
  name: string;
  /** The person `name` and `project` are sealed for (vault values); null: plain text. */
  nameOwner: string | null;
  hash: string;
  prefix: string;
  last4: string;
  status: KeyStatus;
  limits: KeyLimits;
  createdAt: string;
  revokedAt: string | null;
}

export const initialKeyState = (): ApiKeyState => ({
  exists: false,
  keyId: '',
  accountId: '',
  project: '',
  projectId: null,
  name: '',
  nameOwner: null,
  hash: '',
  prefix: '',
  last4: '',
  status: 'active',
  limits: NO_LIMITS,
  createdAt: '',
  revokedAt: null,
});

export interface SecretParts {
  hash: string;
  prefix: string;
  last4: string;
}

export type ApiKeyCommand =
  | { type: 'CreateKey'; data: { keyId: string; accountId: string; project: string; projectId?: string; name: string } & SecretParts }
  | { type: 'RevokeKey'; data: { keyId: string; reason: string } }
  | { type: 'RegenerateKey'; data: { keyId: string } & SecretParts }
  /** `limits` is a patch: a field left out keeps its value; null removes the limit. */
  | { type: 'ChangeKeyLimits'; data: { keyId: string; changeId: string; limits: Partial<KeyLimits> } }
  | { type: 'MoveKeyToProject'; data: { keyId: string; projectId: string } };

export interface KeyDecideContext {
  now: Date;
}

export const DEFAULT_PROJECT = 'default';
const MAX_INT4 = 2_147_483_647;
/** Most a spending cap may be: the ledger's bound on any amount (10^15 µcr, 1e9 credits). */
export const MAX_SPEND_CAP_MICROS = 1_000_000_000_000_000n;
const HASH = /^[0-9a-f]{64}$/;
// Control characters are exactly what this pattern is for.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function decideKey(command: ApiKeyCommand, state: ApiKeyState, ctx: KeyDecideContext): ApiKeyEvent[] {
  const now = ctx.now.toISOString();
  if (command.type === 'CreateKey') {
    const d = command.data;
    if (state.exists) {
      if (state.hash === d.hash && state.accountId === d.accountId) return []; // a retry
      throw new KeyError('key_exists', `key ${d.keyId} already exists`);
    }
    text(d.keyId, 'keyId', 1, 200);
    text(d.accountId, 'an account', 1, 200);
    text(d.project, 'project', 1, 100);
    text(d.name, 'name', 0, 200);
    if (d.projectId !== undefined) text(d.projectId, 'projectId', 1, 200);
    secretParts(d);
    return [{ type: 'KeyCreated', data: { ...d, createdAt: now } }];
  }
  if (!state.exists) throw new KeyError('key_not_found', `no key ${command.data.keyId}`);

  switch (command.type) {
    case 'RevokeKey':
      if (state.status === 'revoked') return []; // revoking twice is not an error
      text(command.data.reason, 'reason', 1, 500);
      return [{ type: 'KeyRevoked', data: { keyId: state.keyId, reason: command.data.reason, revokedAt: now } }];
    case 'RegenerateKey':
      notRevoked(state);
      secretParts(command.data);
      if (command.data.hash === state.hash) return []; // this very regeneration, retried
      return [
        {
          type: 'KeyRegenerated',
          data: { keyId: state.keyId, hash: command.data.hash, prefix: command.data.prefix, last4: command.data.last4, regeneratedAt: now },
        },
      ];
    case 'ChangeKeyLimits': {
      notRevoked(state);
      text(command.data.changeId, 'changeId', 1, 200);
      const next = applyLimits(state.limits, command.data.limits);
      if (sameLimits(next, state.limits)) return [];
      return [{ type: 'KeyLimitsChanged', data: { keyId: state.keyId, ...next } }];
    }
    case 'MoveKeyToProject': {
      // Revoked keys move too: every key, past ones included, belongs to a project.
      text(command.data.projectId, 'projectId', 1, 200);
      if (state.projectId === command.data.projectId) return [];
      if (state.projectId !== null) throw new KeyError('invalid_command', `key ${state.keyId} already belongs to project ${state.projectId}`);
      return [{ type: 'KeyMovedToProject', data: { keyId: state.keyId, projectId: command.data.projectId } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveKey(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
  switch (event.type) {
    case 'KeyCreated': {
      const { keyId, accountId, project, projectId, name, nameOwner, hash, prefix, last4, createdAt } = event.data;
      return { ...state, exists: true, keyId, accountId, project, projectId: projectId ?? null, name, nameOwner: nameOwner ?? null, hash, prefix, last4, createdAt, status: 'active' };
    }
    case 'KeyMovedToProject':
      return { ...state, projectId: event.data.projectId };
    case 'KeyRevoked':
      return { ...state, status: 'revoked', revokedAt: event.data.revokedAt };
    case 'KeyRegenerated':
      return { ...state, hash: event.data.hash, prefix: event.data.prefix, last4: event.data.last4 };
    case 'KeyLimitsChanged': {
      const { models, spendCapMicros, expiresAt, rpm, tpm } = event.data;
      return { ...state, limits: { models, spendCapMicros, expiresAt, rpm, tpm } };
    }
    default:
      return assertNever(event);
  }
}

export const evolveKeyAll = (events: ApiKeyEvent[], state = initialKeyState()) => events.reduce(evolveKey, state);

/** The limits after a patch, validated and normalised (models deduplicated, instants in ISO form). */
export function applyLimits(current: KeyLimits, patch: Partial<KeyLimits>): KeyLimits {
  const next = { ...current };
  if (patch.models !== undefined) next.models = patch.models === null ? null : models(patch.models);
  if (patch.spendCapMicros !== undefined) {
    const cap = patch.spendCapMicros;
    if (cap !== null && (typeof cap !== 'bigint' || cap < 0n || cap > MAX_SPEND_CAP_MICROS)) {
      throw new KeyError('invalid_command', `the spending cap must be a whole number of µcr from 0 to ${MAX_SPEND_CAP_MICROS}`);
    }
    next.spendCapMicros = cap;
  }
  if (patch.expiresAt !== undefined) {
    const at = patch.expiresAt;
    if (at !== null && (typeof at !== 'string' || Number.isNaN(Date.parse(at)))) {
      throw new KeyError('invalid_command', 'expiresAt must be an ISO 8601 instant');
    }
    next.expiresAt = at === null ? null : new Date(at).toISOString();
  }
  if (patch.rpm !== undefined) next.rpm = perMinute(patch.rpm, 'rpm');
  if (patch.tpm !== undefined) next.tpm = perMinute(patch.tpm, 'tpm');
  return next;
}

export function sameLimits(a: KeyLimits, b: KeyLimits): boolean {
  const sameModels =
    a.models === b.models || (a.models !== null && b.models !== null && a.models.length === b.models.length && a.models.every((m, i) => m === b.models![i]));
  return sameModels && a.spendCapMicros === b.spendCapMicros && a.expiresAt === b.expiresAt && a.rpm === b.rpm && a.tpm === b.tpm;
}

function models(list: string[]): string[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new KeyError('invalid_command', 'a model allowlist needs at least one model (null allows every model)');
  }
  if (list.length > 500) throw new KeyError('invalid_command', 'a model allowlist holds at most 500 models');
  for (const m of list) text(m, 'a model name', 1, 200);
  return [...new Set(list)];
}

function perMinute(n: number | null, name: string): number | null {
  if (n === null) return null;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_INT4) {
    throw new KeyError('invalid_command', `${name} must be a whole number from 1 to ${MAX_INT4}`);
  }
  return n;
}

function notRevoked(state: ApiKeyState): void {
  if (state.status === 'revoked') throw new KeyError('key_revoked', `key ${state.keyId} is revoked`);
}

function secretParts(p: SecretParts): void {
  if (!HASH.test(p.hash)) throw new KeyError('invalid_command', 'hash must be a SHA-256 in lower-case hex');
  if (!/^tg-[0-9A-Za-z]{4}$/.test(p.prefix) || !/^[0-9A-Za-z]{4}$/.test(p.last4)) {
    throw new KeyError('invalid_command', 'prefix and last4 must be the display parts of a tg- secret');
  }
}

function text(value: string, what: string, min: number, max: number): void {
  if (typeof value !== 'string' || value.trim().length < min) throw new KeyError('invalid_command', `${what} must be given`);
  if (value.length > max) throw new KeyError('invalid_command', `${what} is longer than ${max} characters`);
  if (CONTROL.test(value)) throw new KeyError('invalid_command', `${what} must not contain control characters`);
}
