/**
 * Structured JSON logs (pino) for the API and worker. What a log line may contain is a
 * privacy matter: ids, figures, durations, never a request or response body.
 */
import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { AppConfig } from '../../config/config';

export type { Logger };

export function createLogger(config: Pick<AppConfig, 'LOG_LEVEL'>, process: 'api' | 'worker'): Logger {
  return pino({ level: config.LOG_LEVEL, base: { process } });
}

type Level = 'trace' | 'debug' | 'warn' | 'error' | 'fatal';

/**
 * Nest's own messages through pino. Nest's chatty "log" level (module and route listings)
 * goes to debug, so a start at the default level is one line: ours, with the URL.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    // Nest passes (message, context) or, for errors, (message, stack, context).
    const rest = [...params];
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    if (message instanceof Error) {
      this.logger[level]({ context, err: message }, message.message);
      return;
    }
    const stack = typeof rest[0] === 'string' ? rest[0] : undefined;
    this.logger[level]({ context, stack }, typeof message === 'string' ? message : JSON.stringify(message));
  }
}
