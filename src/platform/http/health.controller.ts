import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../database/pg';

// A load balancer's probe must get an answer in time; a database that does not answer within
// this is as good as down, whatever the TCP timeout would say.
const CHECK_TIMEOUT_MS = 2000;

/** For load balancers and compose healthchecks: 200 only when this instance can reach Postgres. */
@Controller()
export class HealthController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get('health')
  async health(): Promise<{ status: 'ok' }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.pool.query('SELECT 1'), timeout]);
    } catch {
      throw new ServiceUnavailableException({ status: 'unavailable', postgres: 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ok' };
  }
}
