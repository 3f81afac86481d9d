/**
 * Erasure (right to be forgotten) on the API: `DELETE /api/me` and `POST /staff/users/{id}/erase`.
 * Refund requests are filed through the refunds service (its providers, without its routes).
 */
import { Module, OnModuleInit } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import { ReadModelRebuilders } from '../../platform/read-models/read-model-rebuilders';
import { ErasureService } from './application/erasure.service';
import { ERASURE_IMPORTS, ERASURE_PROVIDERS } from './erasure.providers';
import { EraseMeController } from './http/erase-me.controller';
import { StaffEraseController } from './http/staff-erase.controller';

@Module({
  imports: [...ERASURE_IMPORTS, AuthModule],
  controllers: [EraseMeController, StaffEraseController],
  providers: ERASURE_PROVIDERS,
  exports: [ErasureService],
})
export class ErasureModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly erasure: ErasureService,
  ) {}

  /** `ledger replay` rebuilds the erasures rows from their streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'erasures', rebuild: (onProgress) => this.erasure.rebuild(onProgress) });
  }
}
