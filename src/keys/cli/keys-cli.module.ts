import { Module } from '@nestjs/common';
import { ProjectsModule } from '../../projects/projects.module';
import { KeysCommand } from './keys.command';
import { CreateKeyCommand } from './create-key.command';
import { ListKeysCommand } from './list-keys.command';
import { RevokeKeyCommand } from './revoke-key.command';
import { RegenerateKeyCommand } from './regenerate-key.command';
import { ChangeKeyLimitsCommand } from './change-key-limits.command';

/** `tollgate keys`. */
@Module({
  imports: [ProjectsModule], // which imports KeysModule: `keys create` finds or makes the project by name
  providers: [KeysCommand, CreateKeyCommand, ListKeysCommand, RevokeKeyCommand, RegenerateKeyCommand, ChangeKeyLimitsCommand],
})
export class KeysCliModule {}
