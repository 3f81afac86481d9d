/** The chains' reconciler, for `tollgate payments reconcile` (the CLI imports this module). */
import { Module } from '@nestjs/common';
import { ChainClients } from '../application/chain-clients';
import { ChainReconciler } from './chain-reconciler';

@Module({
  providers: [ChainClients, ChainReconciler],
  exports: [ChainReconciler],
})
export class CryptoReconcileModule {}
