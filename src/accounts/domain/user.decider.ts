/**
 * The person decider: pure functions over one `user-<id>` stream. decide() checks a command
 * against the person's state and returns the events it causes (or throws a UserError with a
 * stable code); evolve() folds one event in. Personal fields arrive sealed (the service seals
 * them with the person's vault key), so nothing here ever sees an address or a name.
 *
 * Invariants (tested in test/unit/accounts/user.decider.spec.ts):
 * - a person registers once; registering again is a retry and appends nothing;
 * - every other command needs a registered person (user_not_found);
 * - an identity (provider + subject) is linked once; linking it again appends nothing;
 * - a passkey's credential id is registered once per person (duplicate_passkey), at most
 *   MAX_PASSKEYS of them; renaming or removing an unknown one is passkey_not_found;
 * - a passkey sign-in names a registered credential, and its signature counter moves forward
 *   (a counter that does not, on an authenticator that counts, is a cloned or replayed
 *   credential: passkey_counter), decided again on a fresh read when two sign-ins race;
 * - a role is granted once (granting it again appends nothing) and revoked only when held;
 *   every grant and revoke names who and why;
 * - an erased person (UserErased) keeps only ids: erasing again appends nothing, registering
 *   again is a retry, every other command is user_not_found.
 */
import { assertNever } from '../../shared/assert-never';
import { DomainError } from '../../shared/domain-error';
import { PasskeyData, Sealed, SignInMethod, StaffRole, UserEvent, isStaffRole } from './user.events';

export class UserError extends DomainError<
  'user_not_found' | 'passkey_not_found' | 'duplicate_passkey' | 'too_many_passkeys' | 'passkey_counter' | 'role_not_held' | 'invalid_command'
> {
  override readonly name = 'UserError';
}

/** Most passkeys one person may hold: enough for every device, small enough to fold fast. */
export const MAX_PASSKEYS = 20;
/** Most linked identities (providers) per person. */
export const MAX_IDENTITIES = 20;
export const MAX_REASON_LENGTH = 500;

export interface Passkey {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
  name: Sealed;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  registeredAt: string;
  lastUsedAt: string | null;
}

export interface LinkedIdentity {
  provider: string;
  subjectHash: string;
  linkedAt: string;
}

export interface UserState {
  registered: boolean;
  userId: string;
  /** Null only for people registered before issue 19 (their account is found in the ledger). */
  accountId: string | null;
  email: Sealed | null;
  emailHash: string | null;
  emailVerified: boolean;
  displayName: Sealed | null;
  identities: LinkedIdentity[];
  passkeys: Map<string, Passkey>;
  roles: Set<StaffRole>;
  passwordHash: Sealed | null;
  lastSignInAt: string | null;
  /** Forgotten (src/compliance/erasure): only the ids are left. */
  erased: boolean;
}

export const initialUserState = (): UserState => ({
  registered: false,
  userId: '',
  accountId: null,
  email: null,
  emailHash: null,
  emailVerified: false,
  displayName: null,
  identities: [],
  passkeys: new Map(),
  roles: new Set(),
  passwordHash: null,
  lastSignInAt: null,
  erased: false,
});

export type UserCommand =
  | {
      type: 'RegisterUser';
      data: { userId: string; accountId: string; email: Sealed | null; emailHash: string | null; method: SignInMethod };
    }
  | { type: 'VerifyEmail'; data: { at: string } }
  | { type: 'ChangeDisplayName'; data: { displayName: Sealed | null } }
  | { type: 'LinkIdentity'; data: { provider: string; subjectHash: string; subject: Sealed; linkedAt: string } }
  | { type: 'RegisterPasskey'; data: PasskeyData }
  | { type: 'RenamePasskey'; data: { credentialId: string; name: Sealed } }
  | { type: 'RemovePasskey'; data: { credentialId: string } }
  | {
      type: 'RecordSignIn';
      data: { method: SignInMethod; at: string; ip: Sealed | null; userAgent: Sealed | null; credentialId?: string; counter?: number };
    }
  | { type: 'SetPassword'; data: { hash: Sealed } }
  | { type: 'GrantRole'; data: { role: StaffRole; by: string; reason: string } }
  | { type: 'RevokeRole'; data: { role: StaffRole; by: string; reason: string } }
  | { type: 'EraseUser'; data: { erasureId: string; at: string } };

export type UserCommandType = UserCommand['type'];

function checkReason(reason: string, by: string): void {
  if (typeof by !== 'string' || by.trim() === '') throw new UserError('invalid_command', 'who grants or revokes a role must be named');
  if (typeof reason !== 'string' || reason.trim() === '') throw new UserError('invalid_command', 'a reason is required');
  if (reason.length > MAX_REASON_LENGTH) throw new UserError('invalid_command', `the reason is longer than ${MAX_REASON_LENGTH} characters`);
}

function checkRole(role: string): asserts role is StaffRole {
  if (!isStaffRole(role)) throw new UserError('invalid_command', `unknown role ${JSON.stringify(role)}`);
}

function passkeyOf(state: UserState, credentialId: string): Passkey {
  const found = state.passkeys.get(credentialId);
  if (!found) throw new UserError('passkey_not_found', 'no such passkey');
  return found;
}

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  if (command.type === 'RegisterUser') {
    if (state.registered) return []; // registering twice is a retry, not an error
    const d = command.data;
    return [
      {
        type: 'UserRegistered',
        data: { userId: d.userId, accountId: d.accountId, email: d.email, emailHash: d.emailHash, method: d.method },
      },
    ];
  }
  if (!state.registered) throw new UserError('user_not_found', 'no such user');
  if (command.type === 'EraseUser') return state.erased ? [] : [{ type: 'UserErased', data: { ...command.data } }];
  if (state.erased) throw new UserError('user_not_found', 'no such user (erased)');

  switch (command.type) {
    case 'VerifyEmail':
      return state.emailVerified ? [] : [{ type: 'EmailVerified', data: { at: command.data.at } }];
    case 'ChangeDisplayName':
      return [{ type: 'DisplayNameChanged', data: { displayName: command.data.displayName } }];
    case 'LinkIdentity': {
      const d = command.data;
      if (state.identities.some((i) => i.provider === d.provider && i.subjectHash === d.subjectHash)) return [];
      if (state.identities.length >= MAX_IDENTITIES) {
        throw new UserError('invalid_command', `a person may link at most ${MAX_IDENTITIES} identities`);
      }
      return [{ type: 'IdentityLinked', data: { ...d } }];
    }
    case 'RegisterPasskey': {
      const d = command.data;
      if (state.passkeys.has(d.credentialId)) throw new UserError('duplicate_passkey', 'this passkey is registered already');
      if (state.passkeys.size >= MAX_PASSKEYS) {
        throw new UserError('too_many_passkeys', `a person may register at most ${MAX_PASSKEYS} passkeys`);
      }
      if (!Number.isSafeInteger(d.counter) || d.counter < 0) throw new UserError('invalid_command', 'a passkey counter is a whole number');
      return [{ type: 'PasskeyRegistered', data: { ...d, transports: [...d.transports] } }];
    }
    case 'RenamePasskey': {
      const key = passkeyOf(state, command.data.credentialId);
      return key.name === command.data.name ? [] : [{ type: 'PasskeyRenamed', data: { ...command.data } }];
    }
    case 'RemovePasskey':
      passkeyOf(state, command.data.credentialId);
      return [{ type: 'PasskeyRemoved', data: { credentialId: command.data.credentialId } }];
    case 'RecordSignIn': {
      const d = command.data;
      if (d.method === 'passkey') {
        if (d.credentialId === undefined || d.counter === undefined) {
          throw new UserError('invalid_command', 'a passkey sign-in names its credential and counter');
        }
        const key = passkeyOf(state, d.credentialId);
        // An authenticator that does not count reports 0 every time; one that counts must move on.
        if ((key.counter !== 0 || d.counter !== 0) && d.counter <= key.counter) {
          throw new UserError('passkey_counter', 'this passkey signed with a counter it used before: it may have been cloned');
        }
      }
      return [{ type: 'SignedIn', data: { ...d } }];
    }
    case 'SetPassword':
      return [{ type: 'PasswordSet', data: { hash: command.data.hash } }];
    case 'GrantRole': {
      const d = command.data;
      checkRole(d.role);
      checkReason(d.reason, d.by);
      return state.roles.has(d.role) ? [] : [{ type: 'RoleGranted', data: { ...d } }];
    }
    case 'RevokeRole': {
      const d = command.data;
      checkRole(d.role);
      checkReason(d.reason, d.by);
      if (!state.roles.has(d.role)) throw new UserError('role_not_held', `the person does not hold the role ${d.role}`);
      return [{ type: 'RoleRevoked', data: { ...d } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'UserRegistered': {
      const d = event.data;
      return {
        ...state,
        registered: true,
        userId: d.userId,
        accountId: d.accountId ?? null,
        email: d.email,
        emailHash: d.emailHash ?? null,
        // An address is only ever registered once proven (a magic link, a provider that vouches).
        emailVerified: d.email !== null && d.method !== undefined && d.method !== 'cli',
      };
    }
    case 'EmailVerified':
      return { ...state, emailVerified: true };
    case 'DisplayNameChanged':
      return { ...state, displayName: event.data.displayName };
    case 'IdentityLinked': {
      const { provider, subjectHash, linkedAt } = event.data;
      return { ...state, identities: [...state.identities, { provider, subjectHash, linkedAt }] };
    }
    case 'PasskeyRegistered': {
      const passkeys = new Map(state.passkeys);
      passkeys.set(event.data.credentialId, { ...event.data, lastUsedAt: null });
      return { ...state, passkeys };
    }
    case 'PasskeyRenamed': {
      const key = state.passkeys.get(event.data.credentialId);
      if (!key) return state;
      const passkeys = new Map(state.passkeys);
      passkeys.set(key.credentialId, { ...key, name: event.data.name });
      return { ...state, passkeys };
    }
    case 'PasskeyRemoved': {
      const passkeys = new Map(state.passkeys);
      passkeys.delete(event.data.credentialId);
      return { ...state, passkeys };
    }
    case 'SignedIn': {
      const d = event.data;
      const key = d.credentialId !== undefined ? state.passkeys.get(d.credentialId) : undefined;
      if (!key || d.counter === undefined) return { ...state, lastSignInAt: d.at };
      const passkeys = new Map(state.passkeys);
      passkeys.set(key.credentialId, { ...key, counter: d.counter, lastUsedAt: d.at });
      return { ...state, passkeys, lastSignInAt: d.at };
    }
    case 'PasswordSet':
      return { ...state, passwordHash: event.data.hash };
    case 'RoleGranted':
      return { ...state, roles: new Set([...state.roles, event.data.role]) };
    case 'RoleRevoked': {
      const roles = new Set(state.roles);
      roles.delete(event.data.role);
      return { ...state, roles };
    }
    case 'UserErased':
      return { ...initialUserState(), registered: true, erased: true, userId: state.userId, accountId: state.accountId };
    default:
      return assertNever(event);
  }
}

export const evolveUserAll = (events: readonly UserEvent[], from: UserState = initialUserState()): UserState =>
  events.reduce(evolveUser, from);
