/**
 * Gauges of state every instance shares, read at scrape time (platform/metrics): holds open and
 * the credit they hold, each read model's lag, BullMQ jobs by queue and state, and data-subject
 * requests past their due date. Part of the composition (beside app.module.ts), as it reads
 * several contexts' tables; every process that serves metrics registers them, and they say the
 * same on every instance (aggregate with max, not sum).
 */
import { Inject, Injectable, Module } from '@nestjs/common';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from './config/config';
import { CLOCK, Clock } from './platform/clock';
import { PG_POOL } from './platform/database/pg';
import { EVENT_STORE, EventStore } from './platform/event-store/event-store.port';
import { MetricsRegistry } from './platform/metrics/metrics-registry';
import { queueDepths } from './platform/queue/queue-depths';
import { REDIS, RedisModule } from './platform/redis/redis.module';
import { OpenHoldsRepository } from './ledger/application/open-holds.repository';
import { SubjectRequestsRepository } from './compliance/requests/application/subject-requests.repository';
import { allProjections } from '../projections';
import { readModelLags } from '../projections/read-model-lag';

@Injectable()
class OperatorGauges {
  constructor(
    metrics: MetricsRegistry,
    @Inject(PG_POOL) pool: Pool,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(REDIS) redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CLOCK) clock: Clock,
  ) {
    const holds = new OpenHoldsRepository(pool);
    metrics.gauge('tollgate_holds_open', 'Holds placed and not yet settled, voided or expired (open-holds read model)', [], async (set) => {
      const t = await holds.totals();
      if (t) set({}, t.open);
    });
    // A metric, not a balance: Prometheus keeps doubles; the sum is exact up to 2^53 µcr (9 billion credits).
    metrics.gauge('tollgate_credit_held_microcredits', 'Credit held by open holds, in micro-credits (open-holds read model)', [], async (set) => {
      const t = await holds.totals();
      if (t) set({}, Number(t.heldMicros));
    });
    const projections = allProjections();
    metrics.gauge('tollgate_read_model_lag_seconds', "Each read model's lag behind the event log: age of the oldest event it has not applied (halted models absent)", ['read_model'], async (set) => {
      for (const lag of await readModelLags(pool, store, projections, clock.now())) {
        if (lag.seconds !== null) set({ read_model: lag.name }, lag.seconds);
      }
    });
    metrics.gauge('tollgate_read_model_halted', 'Read models halted at an event they cannot apply (1) or following the log (0)', ['read_model'], async (set) => {
      for (const lag of await readModelLags(pool, store, projections, clock.now())) set({ read_model: lag.name }, lag.halted ? 1 : 0);
    });
    metrics.gauge('tollgate_queue_jobs', 'BullMQ jobs by queue and state (waiting, active, delayed, failed)', ['queue', 'state'], async (set) => {
      for (const d of await queueDepths(redis, config.REDIS_KEY_PREFIX)) set({ queue: d.queue, state: d.state }, d.jobs);
    });
    const requests = new SubjectRequestsRepository(pool);
    metrics.gauge('tollgate_subject_requests_overdue', 'Open data-subject requests past their due date', [], async (set) => {
      set({}, (await requests.openCounts(clock.now())).overdue);
    });
  }
}

@Module({ imports: [RedisModule], providers: [OperatorGauges] })
export class OperatorGaugesModule {}
