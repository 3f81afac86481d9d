/**
 * Wakes the notice senders (queue 'incident-notices') when staff queue notices, so the fan-out
 * starts at once rather than at the next sweep. Only a wake-up: the rows in incident_notices are
 * the work, so a wake-up lost (Redis down) costs at most one sweep period, never a notice.
 */
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { JobData, QUEUES, closeWithin, makeQueue } from '../../../platform/queue/queues';

const WAKE_TIMEOUT_MS = 2_000;

@Injectable()
export class NoticesQueue implements OnModuleDestroy {
  private readonly log = new Logger('IncidentNotices');
  private queue: Queue<JobData['incident-notices']> | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'REDIS_URL' | 'REDIS_KEY_PREFIX' | 'INCIDENT_NOTICE_SWEEP_SECONDS'>) {}

  /** True when the wake-up is in Redis; false when it could not be (the sweep will find the notices). */
  async wake(incidentId: string): Promise<boolean> {
    if (!this.queue) {
      this.queue = makeQueue(QUEUES.incidentNotices, this.config.REDIS_URL, this.config.REDIS_KEY_PREFIX);
      this.queue.on('error', () => undefined); // said once per wake-up below, not per reconnect
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), WAKE_TIMEOUT_MS)));
    const added = this.queue
      .add('run', { incidentId }, { removeOnComplete: true, removeOnFail: 100, attempts: 1 })
      .then(() => 'added' as const, () => 'failed' as const);
    const outcome = await Promise.race([added, late]).finally(() => clearTimeout(timer));
    if (outcome !== 'added') {
      this.log.warn(`could not wake the notice senders through Redis (${outcome}); the worker's sweep sends them within ${this.config.INCIDENT_NOTICE_SWEEP_SECONDS} s of Redis answering`);
    }
    return outcome === 'added';
  }

  async onModuleDestroy(): Promise<void> {
    if (this.queue) await closeWithin(this.queue, 1_000);
  }
}
