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

@Injectable()
export class ChainScanJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ChainScan');
  private readonly job: ScheduledJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scanner: ChainScanner,
  ) {
    this.job = new ScheduledJob({
      queue: QUEUES.chainScan,
      title: 'the chain scan',
      everyMs: config.CRYPTO_SCAN_INTERVAL_MS,
      closeWaitMs: 0, // every step is durable on its own: a cut run is redone by the next
      run: async () => {
        await this.scanner.scanAll();
      },
    });
  }

  onApplicationBootstrap(): void {
    if (this.config.CHAINS.length === 0) return;
    this.log.log(`scanning ${this.config.CHAINS.map((c) => c.name).join(' and ')} every ${this.config.CRYPTO_SCAN_INTERVAL_MS} ms`);
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
