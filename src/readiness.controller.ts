/**
 * Probes for orchestrators, beside /health (health.controller.ts, unchanged):
 *
 * - GET /health/live: the process runs and its event loop answers. Nothing else is asked, so a
 *   store outage never makes an orchestrator restart healthy processes.
 * - GET /health/ready: this instance can serve: Postgres and Redis answer, every read model is
 *   within READY_MAX_LAG_SECONDS of the log, and a price table is loaded. 503 otherwise, naming
 *   each failed check, so a load balancer stops sending it requests until it recovers.
 *
 * A halted read model does not make an instance unready (it is shared by every instance: all of
 * them would leave the pool at once; /health reports it as degraded). Part of the composition, as
 * it reads the proxy's prices and the read models.
 */
import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from './platform/http/openapi-decorators';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from './config/config';
import { CLOCK, Clock } from './platform/clock';
import { PG_POOL } from './platform/database/pg';
import { EVENT_STORE, EventStore } from './platform/event-store/event-store.port';
import { REDIS } from './platform/redis/redis.module';
import { PriceBook } from './proxy/pricing/price-book.service';
import { allProjections } from '../projections';
import { readModelLags } from '../projections/read-model-lag';

// As /health: a store that does not answer within this is as good as down.
const CHECK_TIMEOUT_MS = 2000;

export interface Readiness {
  status: 'ready' | 'not_ready';
  /** Each check: "ok", or what is wrong with it. */
  checks: { postgres: string; redis: string; readModels: string; prices: string };
  /** The failed checks, one line each (empty when ready). */
  reasons: string[];
}

@ApiExcludeController()
@Controller('health')
export class ReadinessController {
  private readonly projections = allProjections();

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly prices?: PriceBook,
  ) {}

  @Get('live')
  live(): { status: 'live' } {
    return { status: 'live' };
  }

  @Get('ready')
  async ready(): Promise<Readiness> {
    const [postgres, redis, readModels] = await Promise.all([
      check(async () => {
        await this.pool.query('SELECT 1');
      }, 'unreachable'),
      check(async () => {
        await this.redis.ping();
      }, 'unreachable'),
      check(() => this.lagging(), 'cannot be read'),
    ]);
    const prices = this.prices?.latest() ? 'ok' : 'no price table loaded yet';
    const checks = { postgres, redis, readModels, prices };
    const reasons = Object.entries(checks)
      .filter(([, v]) => v !== 'ok')
      .map(([k, v]) => `${k}: ${v}`);
    const body: Readiness = { status: reasons.length ? 'not_ready' : 'ready', checks, reasons };
    if (reasons.length) throw new ServiceUnavailableException(body);
    return body;
  }

  /** Throws naming the read models further behind the log than the bound. */
  private async lagging(): Promise<void> {
    const bound = this.config.READY_MAX_LAG_SECONDS;
    const lags = await readModelLags(this.pool, this.store, this.projections, this.clock.now());
    const behind = lags.filter((l) => l.seconds !== null && l.seconds > bound);
    if (behind.length) throw new Error(`${behind.map((l) => `${l.name} ${Math.round(l.seconds!)} s`).join(', ')} behind the log (bound ${bound} s)`);
  }
}

/** "ok", or why not: `unreachable` for a failure, the error's own message when it says the reason. */
async function check(fn: () => Promise<void>, failure: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([fn(), timeout]);
    return 'ok';
  } catch (err) {
    const message = (err as Error).message;
    if (message === 'timeout') return `no answer within ${CHECK_TIMEOUT_MS} ms`;
    return /behind the log/.test(message) ? message : failure;
  } finally {
    clearTimeout(timer);
  }
}
