import { Module } from '@nestjs/common';
import { UsageDayKeys } from './usage-day-keys';

/** The keys usage metadata is sealed with: the proxy seals with them, the retention pass destroys them. */
@Module({ providers: [UsageDayKeys], exports: [UsageDayKeys] })
export class UsageDayKeysModule {}
