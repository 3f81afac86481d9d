import { Module } from '@nestjs/common';
import { RetentionCommand, RetentionRunCommand, RetentionStatusCommand } from './usage-retention.command';
import { UsageRetentionModule } from './usage-retention.module';

/** `tollgate compliance retention status|run`. */
@Module({ imports: [UsageRetentionModule], providers: [RetentionCommand, RetentionStatusCommand, RetentionRunCommand] })
export class UsageRetentionCliModule {}
