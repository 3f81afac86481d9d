/**
 * Receipts not sent when their purchase was credited (mail down, a crash in between) are sent
 * here, every minute, each at most MAX_RECEIPT_ATTEMPTS times (payment_receipts.last_error says why not).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { QUEUES } from '../../platform/queue/queues';
import { ScheduledJob } from '../../platform/queue/scheduled-job';
import { ReceiptsService } from './receipts.service';

export const RECEIPT_RETRY_EVERY_MS = 60_000;

@Injectable()
export class ReceiptRetryJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ReceiptRetry');
  private readonly job = new ScheduledJob({
    queue: QUEUES.receiptRetry,
    title: 'the retry of unsent receipts',
    everyMs: RECEIPT_RETRY_EVERY_MS,
    // Each receipt is its own transaction, so a cut run loses nothing; but a run stopped at 0 ms
    // left BullMQ retrying to finish it on a closed connection (seen with the chain scan job).
    closeWaitMs: 5_000,
    run: async () => {
      const sent = await this.receipts.sendPending();
      if (sent) this.log.log(`sent ${sent} receipt(s) that had waited`);
    },
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly receipts: ReceiptsService,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
