import { Module, OnModuleInit } from '@nestjs/common';
import { ComplianceModule } from '../compliance/compliance.module';
import { LedgerModule } from '../ledger/ledger.module';
import { SecretBoxModule } from '../platform/crypto/secret-box';
import { ReadModelRebuilders, ReadModelRebuildersModule } from '../platform/read-models/read-model-rebuilders';
import { UsersRepository } from './application/users.repository';
import { UsersService } from './application/users.service';

/**
 * People (`user-<id>` streams, the users read model) and their accounts. The money of an
 * account lives in the ledger context; sign-in and sessions in the auth context.
 */
@Module({
  imports: [ComplianceModule, LedgerModule, SecretBoxModule, ReadModelRebuildersModule],
  providers: [UsersRepository, UsersService],
  exports: [UsersService, UsersRepository],
})
export class AccountsModule implements OnModuleInit {
  constructor(
    private readonly rebuilders: ReadModelRebuilders,
    private readonly users: UsersService,
  ) {}

  /** `ledger replay` rebuilds the users rows from the person streams too. */
  onModuleInit(): void {
    this.rebuilders.register({ name: 'users', rebuild: (onProgress) => this.users.rebuildReadModel(onProgress) });
  }
}
