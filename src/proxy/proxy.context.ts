import { ContextModules } from '../shared/context-modules';

export const PROXY_CONTEXT: ContextModules = {
  name: 'proxy',
  api: async () => (await import('./proxy.module')).ProxyModule,
  cli: async () => (await import('./channels/cli/channels-cli.module')).ChannelsCliModule,
};
