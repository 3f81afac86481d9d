/**
 * The WebAuthn user handle of a person: the 16 bytes of their user id (a uuid). It is what
 * a discoverable credential hands back at sign-in, so the user is found without asking for
 * an email; it carries no personal data, as the spec asks.
 */
import { isUuid } from '../../shared/ids';

export function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  if (!isUuid(userId)) throw new Error(`a user id must be a uuid: ${JSON.stringify(userId)}`);
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

/** The user id a base64url user handle names, or null when it is not 16 bytes. */
export function userIdOfHandle(handle: string): string | null {
  if (!/^[A-Za-z0-9_-]{22}$/.test(handle)) return null;
  const bytes = Buffer.from(handle, 'base64url');
  // 22 characters carry 132 bits: the last 4 must be zero, or two spellings would name one user.
  if (bytes.length !== 16 || bytes.toString('base64url') !== handle) return null;
  const x = bytes.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
