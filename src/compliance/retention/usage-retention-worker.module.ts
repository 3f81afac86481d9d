import { Module } from '@nestjs/common';
import { UsageRetentionJob } from './usage-retention.job';
import { UsageRetentionModule } from './usage-retention.module';

/** The retention pass on its schedule (worker processes). */
@Module({ imports: [UsageRetentionModule], providers: [UsageRetentionJob] })
export class UsageRetentionWorkerModule {}
