/**
 * In the API process only: start listening for key broadcasts before the first request, and
 * repair api_keys rows left behind their streams by a crash (KeysService.reconcile). The CLI
 * and the worker import KeysModule too, but have no HTTP server and skip this, so a command
 * such as `tollgate --help` never touches Postgres or subscribes to Redis for it.
 */
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiKeyAuthenticator } from './api-key-authenticator';
import { KeysService } from './keys.service';

@Injectable()
export class KeysApiStartup implements OnApplicationBootstrap {
  private readonly log = new Logger('Keys');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly keys: KeysService,
    private readonly authenticator: ApiKeyAuthenticator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.adapterHost.httpAdapter) return;
    this.authenticator.start();
    try {
      const repaired = await this.keys.reconcile();
      if (repaired > 0) this.log.warn(`repaired ${repaired} api_keys rows that were behind their streams`);
    } catch (err) {
      // Rows are repaired, but an instance that cached the old state was not told: say so and
      // keep serving (this instance reads through until its subscription is confirmed).
      this.log.error(`reconciling api_keys failed: ${(err as Error).message}`);
    }
  }
}
