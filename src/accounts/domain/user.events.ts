/**
 * Events of a person, on stream `user-<id>`. Personal fields hold vault values
 * (see compliance/personal-data-vault.ts), never plaintext, so erasing the person's key
 * erases the data in every copy of the log. `Sealed` marks those fields.
 *
 * Events written before issue 19 have a `UserRegistered` with only `userId` and `email`; their
 * account is found through the ledger (AccountOpened.ownerId).
 */

/** A vault value (`v1:<iv>:<tag>:<ciphertext>`), readable only while the person's key exists. */
export type Sealed = string;

export const SIGN_IN_METHODS = ['magic_link', 'oauth', 'passkey', 'password', 'cli'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

export const STAFF_ROLES = ['admin', 'accountant', 'compliance', 'support'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
export const isStaffRole = (s: string): s is StaffRole => (STAFF_ROLES as readonly string[]).includes(s);

export interface PasskeyData {
  /** base64url, as the browser reports it. */
  credentialId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  name: Sealed;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  registeredAt: string;
}

export type UserEvent =
  | {
      type: 'UserRegistered';
      data: {
        userId: string;
        /** The person's credit account (one person per account for now; kept apart for members later). */
        accountId?: string;
        /** Null for a person who signed up through a provider that did not vouch for an address. */
        email: Sealed | null;
        /** SecretBox.lookupHash('email', normalised address); null with no email. */
        emailHash?: string | null;
        method?: SignInMethod;
      };
    }
  | { type: 'EmailVerified'; data: { at: string } }
  | { type: 'DisplayNameChanged'; data: { displayName: Sealed | null } }
  | {
      type: 'IdentityLinked';
      data: {
        /** google, github, or a configured OIDC provider's name. */
        provider: string;
        /** SecretBox.lookupHash('identity', `${provider}:${subject}`). */
        subjectHash: string;
        subject: Sealed;
        linkedAt: string;
      };
    }
  | { type: 'PasskeyRegistered'; data: PasskeyData }
  | { type: 'PasskeyRenamed'; data: { credentialId: string; name: Sealed } }
  | { type: 'PasskeyRemoved'; data: { credentialId: string } }
  | {
      type: 'SignedIn';
      data: {
        method: SignInMethod;
        at: string;
        ip: Sealed | null;
        userAgent: Sealed | null;
        /** Passkey sign-ins: which credential, and its signature counter now. */
        credentialId?: string;
        counter?: number;
      };
    }
  | { type: 'PasswordSet'; data: { hash: Sealed } }
  // `reason` is `audit:<auditId>`: the reason itself (free text that may name people) is sealed
  // in the staff audit trail (src/audit), never written here in clear.
  | { type: 'RoleGranted'; data: { role: StaffRole; by: string; reason: string } }
  | { type: 'RoleRevoked'; data: { role: StaffRole; by: string; reason: string } }
  // The person exercised their right to be forgotten (src/compliance/erasure): every personal
  // field, identity, passkey, password and role is dropped from the state; ids stay.
  | { type: 'UserErased'; data: { erasureId: string; at: string } };

export type UserEventType = UserEvent['type'];

export const USER_EVENT_TYPES: readonly UserEventType[] = [
  'UserRegistered',
  'EmailVerified',
  'DisplayNameChanged',
  'IdentityLinked',
  'PasskeyRegistered',
  'PasskeyRenamed',
  'PasskeyRemoved',
  'SignedIn',
  'PasswordSet',
  'RoleGranted',
  'RoleRevoked',
  'UserErased',
];

export const USER_STREAM_PREFIX = 'user-';
export const userStream = (userId: string) => `${USER_STREAM_PREFIX}${userId}`;
export const userIdOfStream = (streamId: string) => streamId.slice(USER_STREAM_PREFIX.length);
