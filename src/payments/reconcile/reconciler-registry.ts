import { Global, Injectable, Module } from '@nestjs/common';
import { Reconciler } from './difference';

/**
 * The reconcilers the loaded modules offer (Stripe's, the chains'): each registers itself when
 * its module starts, so `tollgate payments reconcile` runs whichever payment methods are built in.
 */
@Injectable()
export class Reconcilers {
  private readonly list: Reconciler[] = [];

  register(r: Reconciler): void {
    if (!this.list.some((x) => x.source === r.source)) this.list.push(r);
  }

  all(): readonly Reconciler[] {
    return this.list;
  }
}

@Global()
@Module({ providers: [Reconcilers], exports: [Reconcilers] })
export class ReconcilersModule {}
