/**
 * The first step of the API's close, however it is closed (SIGTERM through bounded-shutdown.ts,
 * or a plain app.close() as the tests and an embedding do): the requests already under way
 * finish their work before anything they write through stops.
 *
 * Nest's close runs every module's onModuleDestroy, then beforeApplicationShutdown (the event
 * store closes), then closes the HTTP server, then onApplicationShutdown (the pool, Redis, the
 * tracer's last flush). A proxied answer's handler goes on after its last byte (the settle, the
 * request-log row, the trace's root span), and nothing in that sequence waited for it: the
 * modules it writes through stopped under it, and a root span that ended after the tracer's
 * flush was lost. Here, as the close begins:
 *  1. the ledger stops holding settles back for company (LEDGER_SETTLE_JOIN_MS): one waiting
 *     goes now, and none waits after;
 *  2. the server takes no new connections (idle keep-alive ones are closed as they fall idle),
 *     and the handlers under way (in-flight-requests.ts) run to their end, for the shutdown
 *     budget less what closing the stores keeps; what still runs then is cut (the proxy bills
 *     what was delivered) and given a moment to settle.
 * Only then do the modules stop. This hook belongs to the root module, whose onModuleDestroy
 * Nest calls before any other module's (the modules go from the root outwards, the global
 * ones, the stores among them, last).
 */
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { APP_CONFIG, AppConfig } from './config/config';
import { LedgerService } from './ledger/application/ledger.service';
import { inFlightOf } from './platform/http/in-flight-requests';
import { closeReserve } from './platform/lifecycle/bounded-shutdown';

@Injectable()
export class DrainBeforeClose implements OnModuleDestroy {
  private readonly log = new Logger('Shutdown');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly ledger: LedgerService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.ledger.endWaits();
    const adapter = this.adapterHost.httpAdapter;
    const inFlight = adapter && inFlightOf(adapter.getInstance());
    if (!inFlight) return;
    const server = adapter.getHttpServer() as Server;
    const budget = this.config.SHUTDOWN_TIMEOUT_MS;
    const deadline = Date.now() + budget;
    server.close(); // no new connections; idle keep-alive ones close now
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    let finished: boolean;
    try {
      finished = await inFlight.idle(budget - closeReserve(budget));
    } finally {
      clearInterval(sweep);
    }
    if (!finished) {
      this.log.warn(`${inFlight.size} answers still under way at the shutdown bound are cut; what was delivered is billed`);
      server.closeAllConnections();
      await inFlight.idle(Math.min(1_000, (deadline - Date.now()) / 2));
    }
    server.closeAllConnections();
  }
}
