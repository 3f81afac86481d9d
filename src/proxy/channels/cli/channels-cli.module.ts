import { Module } from '@nestjs/common';
import { ChannelStoreModule } from '../channels.module';
import { ChannelsCommand } from './channels.command';
import { AddChannelCommand } from './add-channel.command';
import { ListChannelsCommand } from './list-channels.command';
import { UpdateChannelCommand } from './update-channel.command';
import { DisableChannelCommand, EnableChannelCommand } from './set-channel-enabled.command';

/** `tollgate channels`: needs the channel table and the change notice, not the router. */
@Module({
  imports: [ChannelStoreModule],
  providers: [ChannelsCommand, AddChannelCommand, ListChannelsCommand, DisableChannelCommand, EnableChannelCommand, UpdateChannelCommand],
})
export class ChannelsCliModule {}
