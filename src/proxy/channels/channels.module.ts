/**
 * Upstream channels. Two modules, because processes need different parts:
 * - ChannelStoreModule: the table and the change notice (the CLI manages channels with it);
 * - ChannelsModule: that, plus the in-memory directory and the router (the API routes with
 *   them). The API also adds CHANNEL_SEEDER_PROVIDERS to seed env channels at start.
 * Time comes from CLOCK, provided globally by EventStoreModule.
 */
import { Module } from '@nestjs/common';
import { SecretBoxModule } from '../../platform/crypto/secret-box';
import { RedisModule } from '../../platform/redis/redis.module';
import { ChannelChangeNotifier } from './channel-change-notifier';
import { ChannelDirectory } from './channel-directory';
import { ChannelRouter } from './channel-router';
import { ChannelRepository } from './channel.repository';

@Module({
  imports: [SecretBoxModule, RedisModule],
  providers: [ChannelRepository, ChannelChangeNotifier],
  exports: [ChannelRepository, ChannelChangeNotifier],
})
export class ChannelStoreModule {}

@Module({
  imports: [ChannelStoreModule],
  providers: [ChannelDirectory, ChannelRouter],
  exports: [ChannelStoreModule, ChannelDirectory, ChannelRouter],
})
export class ChannelsModule {}
