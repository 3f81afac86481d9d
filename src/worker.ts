/** The worker process: projection runners and background jobs (each context's worker module, see worker.module.ts). */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { configOrExit } from './config/boot';
import { prepareDatabase } from './platform/database/prepare-database';
import { createLogger, NestPinoLogger } from './platform/logging/logger';
import { failedToStart } from './platform/logging/failed-to-start';
import { WorkerModule } from './worker.module';
import { stopWithinBound } from './platform/lifecycle/bounded-shutdown';

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config, 'worker');
  try {
    if (config.MIGRATE_ON_START) await prepareDatabase(config.DATABASE_URL);
    const app = await NestFactory.createApplicationContext(await WorkerModule.forRoot(config), {
      logger: new NestPinoLogger(logger),
      abortOnError: false, // reported below, by failedToStart
    });
    // On SIGTERM/SIGINT the providers stop (each finishes its current batch), the event store
    // and the pool close, then the signal ends the process: within SHUTDOWN_TIMEOUT_MS, even
    // when a store does not answer (bounded-shutdown.ts).
    stopWithinBound(app, { timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
    // The process lives until a signal, even while no provider holds a timer or socket open
    // (an idle worker exiting would make its supervisor restart it in a loop).
    setInterval(() => undefined, 1 << 30);
    logger.info('worker started');
  } catch (err) {
    failedToStart(logger, config, err);
  }
}

void main();
