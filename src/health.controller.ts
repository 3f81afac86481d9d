import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from './platform/database/pg';
import { allProjections } from '../projections';
import { HaltedReadModel, haltedReadModels } from '../projections/halted';

// A load balancer's probe must get an answer in time; a database that does not answer within
// this is as good as down, whatever the TCP timeout would say.
const CHECK_TIMEOUT_MS = 2000;

export type Health =
  | { status: 'ok' }
  | { status: 'degraded'; haltedReadModels: Array<{ name: string; eventId: string; error: string; haltedAt: string }> };

/**
 * For load balancers and compose healthchecks: 200 only when this instance can reach Postgres.
 * Part of the API's composition (beside app.module.ts), not of platform/: it reads the read
 * models' halts, and platform/ imports no context.
 *
 * A halted read model (one that stopped at an event it cannot apply) is reported as 200 with
 * status "degraded" and the list, not as 503: the proxy still serves, and every instance shares
 * the same read models, so a 503 would make the load balancer take every instance out at once,
 * turning a reporting fault into a full outage. Monitoring matches on the status field.
 */
@Controller()
export class HealthController {
  private readonly projections = allProjections();

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get('health')
  async health(): Promise<Health> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
    });
    let halted: HaltedReadModel[];
    try {
      // The halted models are read from their checkpoint rows: also the proof Postgres answers.
      halted = await Promise.race([haltedReadModels(this.pool, this.projections), timeout]);
    } catch {
      throw new ServiceUnavailableException({ status: 'unavailable', postgres: 'unreachable' });
    } finally {
      clearTimeout(timer);
    }
    if (halted.length === 0) return { status: 'ok' };
    return {
      status: 'degraded',
      haltedReadModels: halted.map((h) => ({ name: h.name, eventId: h.eventId, error: h.error, haltedAt: h.haltedAt.toISOString() })),
    };
  }
}
