/** The HTTP API process. */
import 'reflect-metadata';
import { configOrExit } from './config/boot';
import { prepareDatabase } from './platform/database/prepare-database';
import { createApiApp } from './create-api-app';
import { inFlightOf } from './platform/http/in-flight-requests';
import { stopWithinBound } from './platform/lifecycle/bounded-shutdown';
import { createLogger } from './platform/logging/logger';
import { failedToStart } from './platform/logging/failed-to-start';

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config, 'api');
  try {
    if (config.MIGRATE_ON_START) await prepareDatabase(config.DATABASE_URL);
    const app = await createApiApp(config, logger);
    await app.listen({ port: config.PORT, host: config.HOST, backlog: config.LISTEN_BACKLOG });
    // Stops accepting, lets answers under way finish and settle (drain-before-close.hook.ts), then
    // exits within SHUTDOWN_TIMEOUT_MS.
    stopWithinBound(app, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger, inFlight: inFlightOf(app.getHttpAdapter().getInstance()) });
    logger.info({ url: await app.getUrl() }, 'tollgate api listening');
  } catch (err) {
    failedToStart(logger, config, err);
  }
}

void main();
