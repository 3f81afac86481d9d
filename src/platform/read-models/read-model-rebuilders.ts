/**
 * Read models kept outside the projection runner (api_keys, written by its own context as
 * commands run) that `tollgate ledger replay` rebuilds too. Each context registers its own
 * when its module starts, so the replay command knows none of them by name.
 */
import { Global, Injectable, Module } from '@nestjs/common';

export interface ReadModelRebuilder {
  /** The read model's name, as the replay reports it. */
  readonly name: string;
  /**
   * Writes every row again from the event streams, without a moment where a row that should be
   * there is missing (the system keeps running). Reports progress as rows done.
   */
  rebuild(onProgress: (done: number) => void): Promise<RebuiltReadModel>;
}

export interface RebuiltReadModel {
  /** Rows written from their streams. */
  rows: number;
  /** Of the rows there were, those that differed from their streams (rewritten or removed). */
  repaired: number;
}

@Injectable()
export class ReadModelRebuilders {
  private readonly rebuilders = new Map<string, ReadModelRebuilder>();

  register(r: ReadModelRebuilder): void {
    this.rebuilders.set(r.name, r);
  }

  all(): ReadModelRebuilder[] {
    return [...this.rebuilders.values()];
  }
}

/** Global, so a context imports it to register and the replay command finds the same registry. */
@Global()
@Module({ providers: [ReadModelRebuilders], exports: [ReadModelRebuilders] })
export class ReadModelRebuildersModule {}
