import { Module } from '@nestjs/common';
import { EraseCommand } from './cli/erase.command';
import { ERASURE_IMPORTS, ERASURE_PROVIDERS } from './erasure.providers';

/** `tollgate compliance erase`: the erasure service without the HTTP routes. */
@Module({
  imports: ERASURE_IMPORTS,
  providers: [...ERASURE_PROVIDERS, EraseCommand],
})
export class ErasureCliModule {}
