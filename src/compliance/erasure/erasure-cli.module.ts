import { Module, OnModuleInit } from '@nestjs/common';
import { ReadModelRebuilders } from '../../platform/read-models/read-model-rebuilders';
import { ErasureService } from './application/erasure.service';
import { EraseCommand } from './cli/erase.command';
import { ERASURE_IMPORTS, ERASURE_PROVIDERS } from './erasure.providers';

/** `tollgate compliance erase`: the erasure service without the HTTP routes. */
@Module({
  imports: ERASURE_IMPORTS,
  providers: [...ERASURE_PROVIDERS, EraseCommand],
})
export class ErasureCliModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly erasure: ErasureService,
  ) {}

  /** `tollgate ledger replay` rebuilds the erasures rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'erasures', rebuild: (onProgress) => this.erasure.rebuild(onProgress) });
  }
}
