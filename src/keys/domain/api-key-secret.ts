/**
 * The format of an API key's secret, and what is kept of it.
 *
 *   tg-<40 base62 characters>          e.g. tg-4fQx…   (43 characters in all)
 *   regex for secret scanners:  \btg-[0-9A-Za-z]{40}\b
 *
 * The fixed `tg-` prefix and exact length let secret scanners (GitHub push protection,
 * gitleaks, trufflehog) recognise a leaked key. 40 base62 characters carry 238 bits, drawn
 * without modulo bias. Only the SHA-256 of the whole secret is stored (a fast hash is right
 * here: the secret is random, not a password, so there is nothing to brute-force), plus a
 * display prefix (`tg-` and the first 4 characters) and the last 4, which identify a key to
 * its owner and leave 32 unknown characters (190 bits).
 *
 * Management keys (src/keys/management) are made by the same generator with their own prefix,
 * `tg-mgmt-`: a different shape, so the proxy never mistakes one for an API key.
 *
 * Pure: the caller passes the source of random bytes (crypto.randomBytes in production).
 */
import { createHash } from 'node:crypto';

export const SECRET_PREFIX = 'tg-';
export const SECRET_BODY_LENGTH = 40;
export const SECRET_PATTERN = /^tg-[0-9A-Za-z]{40}$/;
/** For scanners and docs: finds the secret anywhere in a text. */
export const SECRET_SCAN_PATTERN = /\btg-[0-9A-Za-z]{40}\b/g;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
// The largest multiple of 62 that fits a byte: bytes at or above it are dropped, so every
// character is equally likely.
const UNBIASED_BELOW = 248;

export function generateSecret(randomBytes: (n: number) => Buffer, prefix: string = SECRET_PREFIX): string {
  let body = '';
  while (body.length < SECRET_BODY_LENGTH) {
    for (const b of randomBytes(48)) {
      if (b < UNBIASED_BELOW) body += ALPHABET[b % 62];
      if (body.length === SECRET_BODY_LENGTH) break;
    }
  }
  return prefix + body;
}

export const isWellFormedSecret = (s: string): boolean => SECRET_PATTERN.test(s);

/** SHA-256 of the whole secret, lower-case hex: the only form of it that is ever stored. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export interface SecretDisplay {
  hash: string;
  prefix: string; // the secret's prefix ('tg-') + the first 4 characters of the body
  last4: string;
}

export function describeSecret(secret: string, prefix: string = SECRET_PREFIX): SecretDisplay {
  return {
    hash: hashSecret(secret),
    prefix: secret.slice(0, prefix.length + 4),
    last4: secret.slice(-4),
  };
}

/** How a key is shown to people: `tg-abc1…wxyz`. */
export const displayKey = (prefix: string, last4: string): string => `${prefix}…${last4}`;
