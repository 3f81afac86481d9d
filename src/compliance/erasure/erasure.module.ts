/**
 * Erasure (right to be forgotten) on the API: `DELETE /api/me` and `POST /staff/users/{id}/erase`.
 * Refund requests are filed through the refunds service (its providers, without its routes).
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
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
export class ErasureModule {}
