import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { ChangeKeyLimitsCommand } from './change-key-limits.command';
import { CreateKeyCommand } from './create-key.command';
import { ListKeysCommand } from './list-keys.command';
import { RegenerateKeyCommand } from './regenerate-key.command';
import { RevokeKeyCommand } from './revoke-key.command';

@Command({
  name: 'keys',
  description: 'API keys: create, list, revoke, regenerate, limits',
  subCommands: [CreateKeyCommand, ListKeysCommand, RevokeKeyCommand, RegenerateKeyCommand, ChangeKeyLimitsCommand],
})
export class KeysCommand extends CommandGroup {}
