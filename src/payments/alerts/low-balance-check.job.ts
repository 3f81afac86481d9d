/**
 * The periodic low-balance check (LowBalanceAlerts.check), every LOW_BALANCE_CHECK_MS (default
 * 30 s), one run at a time across workers (a BullMQ job scheduler with no payload). The
 * balances read model is made by the read-model runner, possibly after this starts: while it
 * is missing the run says so once and does nothing.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { QUEUES } from '../../platform/queue/queues';
import { ScheduledJob } from '../../platform/queue/scheduled-job';
import { LowBalanceAlerts } from './low-balance-alerts.service';

const UNDEFINED_TABLE = '42P01';

@Injectable()
export class LowBalanceCheckJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('LowBalanceCheck');
  private saidMissing = false;
  private stopping = false;
  private readonly job: ScheduledJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly alerts: LowBalanceAlerts,
  ) {
    this.job = new ScheduledJob({
      queue: QUEUES.lowBalanceAlerts,
      title: 'the low-balance check',
      everyMs: config.LOW_BALANCE_CHECK_MS,
      // The default wait (2 s): a run stops sending once stopping is set, so it ends well within it.
      run: () => this.run(),
    });
  }

  private async run(): Promise<void> {
    try {
      const r = await this.alerts.check(() => this.stopping);
      if (this.saidMissing) this.log.log('the balances read model is there: low-balance alerts are checked again');
      this.saidMissing = false;
      if (r.fell || r.sent || r.failed) this.log.log(`low-balance check: ${r.fell} fell below, ${r.sent} alert(s) sent, ${r.failed} not sent, ${r.rearmed} re-armed`);
    } catch (err) {
      if ((err as { code?: string }).code !== UNDEFINED_TABLE) throw err;
      if (!this.saidMissing) this.log.warn('the balances read model (rm_balances) is not there yet: low-balance alerts wait for it');
      this.saidMissing = true;
    }
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    this.stopping = true;
    return this.job.stop();
  }
}
