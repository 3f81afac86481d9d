/**
 * The session cookie's value and what is kept of it. 32 random bytes, base64url (43
 * characters), in cookie `tg_session`; only its SHA-256 is stored, so a dump of the sessions
 * table signs nobody in. The device is a coarse label of the user agent ("Firefox on Linux"),
 * enough to tell one's sessions apart and too coarse to fingerprint anyone.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'tg_session';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const newSessionToken = (): string => randomBytes(32).toString('base64url');
export const isWellFormedSessionToken = (s: unknown): s is string => typeof s === 'string' && TOKEN.test(s);
export const hashSessionToken = (token: string): Buffer => createHash('sha256').update(token).digest();

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\//, 'Opera'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrom(e|ium)\/|\bCriOS\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^node|undici|axios|python-requests|Go-http-client/i, 'a script'],
];
const SYSTEMS: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

export function deviceLabel(userAgent: string | undefined): string {
  if (!userAgent) return 'an unknown device';
  const ua = userAgent.slice(0, 512);
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? (system ? `a browser on ${system}` : 'an unknown device');
}
