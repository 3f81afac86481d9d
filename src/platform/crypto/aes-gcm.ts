/**
 * The one AES-256-GCM primitive of the codebase (the personal-data vault and the secret box
 * both seal with it). A sealed value is text, `v1:<iv>:<tag>:<ciphertext>` in base64, so it
 * fits a text column or an event's JSON. The associated data binds a value to what it belongs
 * to (a person, a row): a value copied elsewhere fails authentication instead of decrypting.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DomainError } from '../../shared/domain-error';

const VERSION = 'v1';
const IV_BYTES = 12; // the GCM standard nonce size
const TAG_BYTES = 16;
export const AES_KEY_BYTES = 32;

export class SealError extends DomainError<'malformed_value' | 'undecryptable'> {
  override readonly name = 'SealError';
}

/**
 * Whether the value has the shape of a sealed value (says nothing of whether it authenticates):
 * `v1:` and exactly three colons in all. Read from the string's colons rather than split: a read
 * model asks this three to four times per proxied request (usage-unsealer.ts), and the split's
 * array was ~1% of the one-process gateway's CPU in its profile.
 */
export function isSealed(value: string): boolean {
  if (!value.startsWith(`${VERSION}:`)) return false;
  const second = value.indexOf(':', VERSION.length + 1);
  if (second < 0) return false;
  const third = value.indexOf(':', second + 1);
  return third >= 0 && value.indexOf(':', third + 1) < 0;
}

/**
 * Nonces are random (96 bits each, as before), but cut from a pool drawn IV_POOL_BYTES at a time:
 * randomBytes(12) per seal was half of what a seal cost (a native job for 12 bytes), and the
 * proxy seals on every request (compliance/retention/usage-seal.ts). Each pool byte is used
 * once and the pool is never rewritten (a spent one is dropped for a fresh one), so no two seals
 * share a nonce any more often than two independent draws would. A nonce is public (it is in
 * the sealed value): keeping the next few in memory reveals nothing.
 */
const IV_POOL_BYTES = IV_BYTES * 256;
let ivPool: Buffer = Buffer.alloc(0);
let ivUsed = 0;

function freshIv(): Buffer {
  if (ivUsed + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivUsed = 0;
  }
  const iv = ivPool.subarray(ivUsed, ivUsed + IV_BYTES);
  ivUsed += IV_BYTES;
  return iv;
}

export function seal(key: Buffer, plaintext: string, associatedData: string): string {
  checkKey(key);
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  // GCM is a stream mode: final() adds no bytes, so update()'s output is the whole ciphertext.
  const ciphertext = cipher.update(plaintext, 'utf8');
  cipher.final();
  const tag = cipher.getAuthTag();
  return `${VERSION}:${iv.toString('base64')}:${tag.toString('base64')}:${ciphertext.toString('base64')}`;
}

/** The plaintext; throws SealError when the value is malformed, altered, or sealed for other data or key. */
export function open(key: Buffer, value: string, associatedData: string): string {
  checkKey(key);
  if (!isSealed(value)) throw new SealError('malformed_value', 'not a sealed value (expected v1:<iv>:<tag>:<ciphertext>)');
  const [, iv, tag, ciphertext] = value.split(':').map((p) => Buffer.from(p, 'base64'));
  // Checked here: node accepts shorter tags, which would weaken authentication.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new SealError('malformed_value', 'not a sealed value (bad iv or tag length)');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError('undecryptable', 'the value does not authenticate (altered, or sealed with another key or for other data)');
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== AES_KEY_BYTES) throw new Error(`an AES-256 key is ${AES_KEY_BYTES} bytes, got ${key.length}`);
}
