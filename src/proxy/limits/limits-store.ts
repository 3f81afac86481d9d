/**
 * Rate limits and spending caps live in Redis; when it cannot answer, a request is refused
 * (fail closed: admitting it would let a key pass its limits or cap unseen) with a 503 the
 * client's SDK retries, in its own API's shape. Never a hang, never a 500.
 */
import Redis from 'ioredis';
import { ProxyError } from '../http/proxy-error';

/** What a client is told to wait: Redis usually returns (or fails over) within seconds. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** The client is not told Redis's own error (an internal address, a timeout figure): only that it is away. */
export function limitsStoreDown(): ProxyError {
  return new ProxyError('unavailable', 'the gateway cannot reach its rate-limit store right now; try again shortly', {
    retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
  });
}

/**
 * Refuses at once while the connection is down (commands would fail anyway: no offline queue).
 * A connection still being made (a process's first requests, a reconnect under way) is waited
 * for, as long as one command may take (the connection's commandTimeout), then refused.
 */
export async function whenConnected(redis: Redis): Promise<void> {
  const status = redis.status;
  if (status === 'ready') return;
  if (status !== 'wait' && status !== 'connecting' && status !== 'connect') throw limitsStoreDown();
  const waitMs = redis.options.commandTimeout ?? 500;
  await new Promise<void>((resolve, reject) => {
    const settle = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('close', onClose);
      if (ok) resolve();
      else reject(limitsStoreDown());
    };
    const onReady = () => settle(true);
    const onClose = () => settle(false);
    const timer = setTimeout(onClose, waitMs);
    redis.once('ready', onReady);
    redis.once('close', onClose);
  });
}

/** Runs a Redis call for a request; a failure (down, timed out) becomes the 503 above. */
export async function onLimitsStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof ProxyError ? err : limitsStoreDown();
  }
}
