/** The worker process: projection runners and background jobs (see WORKER_PROVIDERS). */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { configOrExit } from './config/boot';
import { prepareDatabase } from './platform/database/prepare-database';
import { createLogger, NestPinoLogger } from './platform/logging/logger';
import { failedToStart } from './platform/logging/failed-to-start';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger(config, 'worker');
  try {
    if (config.MIGRATE_ON_START) await prepareDatabase(config.DATABASE_URL);
    const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
      logger: new NestPinoLogger(logger),
      abortOnError: false, // reported below, by failedToStart
    });
    // On SIGTERM/SIGINT Nest stops the providers (each finishes its current batch), closes the
    // event store and the pool, then lets the signal end the process.
    app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
    // The process lives until a signal, even while no provider holds a timer or socket open
    // (an idle worker exiting would make its supervisor restart it in a loop).
    setInterval(() => undefined, 1 << 30);
    logger.info('worker started');
  } catch (err) {
    failedToStart(logger, config, err);
  }
}

void main();
