import { AppConfig } from '../../config/config';
import { describeDatabaseError } from '../database/pg-errors';
import { Logger } from './logger';

/** Logs why a long-running process could not start (one line when the cause is known) and exits 1. */
export function failedToStart(logger: Logger, config: AppConfig, err: unknown): never {
  const known = describeDatabaseError(err, config.DATABASE_URL);
  if (known) logger.fatal(known);
  else logger.fatal({ err }, `failed to start: ${(err as Error)?.message ?? String(err)}`);
  logger.flush();
  process.exit(1);
}
