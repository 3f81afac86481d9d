import { Command } from 'nest-commander';
import { CommandGroup } from '../../../cli/command-group';
import { AddChannelCommand } from './add-channel.command';
import { DisableChannelCommand, EnableChannelCommand } from './set-channel-enabled.command';
import { ListChannelsCommand } from './list-channels.command';
import { UpdateChannelCommand } from './update-channel.command';

@Command({
  name: 'channels',
  description: 'upstream channels: provider accounts the proxy sends requests to',
  subCommands: [AddChannelCommand, ListChannelsCommand, DisableChannelCommand, EnableChannelCommand, UpdateChannelCommand],
})
export class ChannelsCommand extends CommandGroup {}
