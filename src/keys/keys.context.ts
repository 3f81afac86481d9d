import { ContextModules } from '../shared/context-modules';
import { KeysModule } from './keys.module';
import { KeysCliModule } from './cli/keys-cli.module';

export const KEYS_CONTEXT: ContextModules = { name: 'keys', api: KeysModule, cli: KeysCliModule };
