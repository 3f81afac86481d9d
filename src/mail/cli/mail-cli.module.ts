import { Module } from '@nestjs/common';
import { MailCommand } from './mail.command';
import { MailOutboxCommand } from './mail-outbox.command';

/** `tollgate mail`. */
@Module({ providers: [MailCommand, MailOutboxCommand] })
export class MailCliModule {}
