import { ContextModules } from '../shared/context-modules';
import { ProxyModule } from './proxy.module';
import { ChannelsCliModule } from './channels/cli/channels-cli.module';

export const PROXY_CONTEXT: ContextModules = { name: 'proxy', api: ProxyModule, cli: ChannelsCliModule };
