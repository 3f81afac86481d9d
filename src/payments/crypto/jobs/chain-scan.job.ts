/**
 * The chain scan, every CRYPTO_SCAN_INTERVAL_MS (default 5 s), one run at a time across worker
 * processes (BullMQ job scheduler; each chain also under its own advisory lock). A chain whose
 * RPC fails is logged by name and scanned again at the next tick; the other chains go on.
 * Nothing is scheduled when no chain is configured.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { QUEUES } from '../../../platform/queue/queues';
import { ScheduledJob } from '../../../platform/queue/scheduled-job';
import { ChainScanner } from '../application/chain-scanner';

const CLOSE_WAIT_MS = 5_000;

@Injectable()
export class ChainScanJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ChainScan');
  private readonly job: ScheduledJob;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scanner: ChainScanner,
  ) {
    this.job = new ScheduledJob({
      queue: QUEUES.chainScan,
      title: 'the chain scan',
      everyMs: config.CRYPTO_SCAN_INTERVAL_MS,
      // Stopping waits for a run under way, which ends at its next range (shouldStop): a worker
      // closed under a running job keeps retrying to complete it on its closed connection
      // (BullMQ 5.81, a busy loop that hung shutdown when this was 0).
      closeWaitMs: CLOSE_WAIT_MS,
      run: async () => {
        await this.scanner.scanAll({ shouldStop: () => this.stopping });
      },
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.CHAINS.length === 0) return;
    this.log.log(`scanning ${this.config.CHAINS.map((c) => c.name).join(' and ')} every ${this.config.CRYPTO_SCAN_INTERVAL_MS} ms`);
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    this.stopping = true;
    return this.job.stop();
  }
}
