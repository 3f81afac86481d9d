/**
 * How a process stops on SIGTERM/SIGINT: within SHUTDOWN_TIMEOUT_MS, whatever a store does.
 *
 * Nest's own shutdown hooks closed the stores' users first and the HTTP server last (answers
 * under way lost their pool), and waited as long as anything did: a BullMQ worker or a QUIT
 * to a Redis that is down waits for Redis to return, so a SIGTERM during an outage never
 * ended the process. Here:
 *  1. the API stops accepting connections and lets the requests under way finish, settles
 *     included (in-flight-requests.ts), for most of the budget; what still runs then is cut
 *     (the proxy bills what was delivered) and given a moment to settle;
 *  2. the app closes (each module stops its work, then the event store, Redis and the pool),
 *     for what is left of the budget;
 *  3. the process ends: by its signal when all closed in time, else exit code 1, saying what
 *     was still open. Nothing waits past the bound.
 */
import type { Server } from 'node:http';
import { INestApplicationContext } from '@nestjs/common';
import type { Logger } from '../logging/logger';
import type { InFlightRequests } from '../http/in-flight-requests';

export interface ShutdownOptions {
  timeoutMs: number;
  logger: Logger;
  /** The API's HTTP server and its requests under way; absent for the worker. */
  http?: { server: Server; inFlight: InFlightRequests };
}

/** Part of the budget kept for closing the app after the drain (and for the answers cut). */
const closeReserve = (timeoutMs: number) => Math.min(3_000, Math.floor(timeoutMs / 3));

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

async function stop(app: INestApplicationContext, { timeoutMs, logger, http }: ShutdownOptions, signal: NodeJS.Signals): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const hard = setTimeout(() => {
    logger.warn({ timeoutMs, underWay: http?.inFlight.size ?? 0 }, 'shutdown did not finish within SHUTDOWN_TIMEOUT_MS; exiting now');
    process.exit(1);
  }, timeoutMs);
  logger.info({ signal, timeoutMs, underWay: http?.inFlight.size ?? 0 }, 'stopping');

  if (http) {
    http.server.close(); // no new connections; idle keep-alive ones close now
    const drainUntil = deadline - closeReserve(timeoutMs);
    const finished = await untilIdle(http, drainUntil - Date.now());
    if (!finished) {
      logger.warn({ underWay: http.inFlight.size }, 'answers still under way at the shutdown bound are cut; what was delivered is billed');
      http.server.closeAllConnections();
      await http.inFlight.idle(Math.min(1_000, (deadline - Date.now()) / 2));
    }
    http.server.closeAllConnections();
  }

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

/**
 * Waits for the requests under way; each connection that falls idle meanwhile is closed (a
 * keep-alive connection would otherwise hold the server open until its client lets go).
 */
async function untilIdle(http: NonNullable<ShutdownOptions['http']>, ms: number): Promise<boolean> {
  const sweep = setInterval(() => http.server.closeIdleConnections(), 100);
  try {
    return await http.inFlight.idle(ms);
  } finally {
    clearInterval(sweep);
  }
}
