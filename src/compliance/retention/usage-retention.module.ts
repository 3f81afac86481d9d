import { Module } from '@nestjs/common';
import { UsageDayKeysModule } from './usage-day-keys.module';
import { UsageRetentionService } from './usage-retention.service';

/**
 * The retention pass. Other parts that keep things for a while (exports) import this module and
 * register a RetentionHook with UsageRetentionService in their onModuleInit.
 */
@Module({
  imports: [UsageDayKeysModule],
  providers: [UsageRetentionService],
  exports: [UsageRetentionService, UsageDayKeysModule],
})
export class UsageRetentionModule {}
