/**
 * How a process stops on SIGTERM/SIGINT: within SHUTDOWN_TIMEOUT_MS, whatever a store does.
 *
 * Nest's own shutdown hooks closed the stores' users first and the HTTP server last (answers
 * under way lost their pool), and waited as long as anything did: a BullMQ worker or a QUIT
 * to a Redis that is down waits for Redis to return, so a SIGTERM during an outage never
 * ended the process. Here:
 *  1. the app closes. The API's close begins by letting the requests under way finish, settles
 *     included, for most of the budget, and cuts what still runs then (the proxy bills what was
 *     delivered): src/drain-before-close.hook.ts, the same for a plain app.close(). Then each
 *     module stops its work, then the event store, Redis and the pool close, for what is left;
 *  2. the process ends: by its signal when all closed in time, else exit code 1, saying what
 *     was still open. Nothing waits past the bound.
 */
import { INestApplicationContext } from '@nestjs/common';
import type { Logger } from '../logging/logger';
import type { InFlightRequests } from '../http/in-flight-requests';

export interface ShutdownOptions {
  timeoutMs: number;
  logger: Logger;
  /** The API's requests under way (counted in the log lines); absent for the worker. */
  inFlight?: InFlightRequests;
}

/** Part of the budget kept for closing the app after the API's drain (and for the answers cut). */
export const closeReserve = (timeoutMs: number) => Math.min(3_000, Math.floor(timeoutMs / 3));

export function stopWithinBound(app: INestApplicationContext, opts: ShutdownOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return; // a second signal does not restart (or shorten) the shutdown
    stopping = true;
    void stop(app, opts, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function stop(app: INestApplicationContext, { timeoutMs, logger, inFlight }: ShutdownOptions, signal: NodeJS.Signals): Promise<void> {
  const hard = setTimeout(() => {
    logger.warn({ timeoutMs, underWay: inFlight?.size ?? 0 }, 'shutdown did not finish within SHUTDOWN_TIMEOUT_MS; exiting now');
    process.exit(1);
  }, timeoutMs);
  logger.info({ signal, timeoutMs, underWay: inFlight?.size ?? 0 }, 'stopping');
  try {
    await app.close();
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'closing the app failed');
  }
  clearTimeout(hard);
  logger.info('stopped');
  process.removeAllListeners(signal);
  process.kill(process.pid, signal); // ends as the signal would have (what a supervisor expects)
}
