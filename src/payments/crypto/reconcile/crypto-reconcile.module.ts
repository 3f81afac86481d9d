/** The chains' reconciler, for `tollgate payments reconcile` (registered with the CLI's Reconcilers). */
import { Inject, Module, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { Reconcilers, ReconcilersModule } from '../../reconcile/reconciler-registry';
import { ChainClients } from '../application/chain-clients';
import { ChainReconciler } from './chain-reconciler';

@Module({
  imports: [ReconcilersModule],
  providers: [ChainClients, ChainReconciler],
  exports: [ChainReconciler],
})
export class CryptoReconcileModule implements OnModuleInit {
  constructor(
    private readonly reconcilers: Reconcilers,
    private readonly chains: ChainReconciler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Only when a chain is configured: otherwise there is nothing on chain to compare. */
  onModuleInit(): void {
    if (this.config.CHAINS.length > 0) this.reconcilers.register(this.chains);
  }
}
