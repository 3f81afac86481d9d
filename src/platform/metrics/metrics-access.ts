/** Who may read /metrics: anyone when METRICS_TOKEN is unset, else a client sending it as a bearer token. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Compares in constant time: both sides are hashed first, so neither the token's length nor
 * where a guess first differs shows in the time taken.
 */
export function metricsAllowed(token: string | undefined, authorization: string | string[] | undefined): boolean {
  if (!token) return true;
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  const presented = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token));
}
