/** The mailer, for any context that sends mail (sign-in links, receipts). Needs APP_CONFIG and CLOCK (global). */
import { Module } from '@nestjs/common';
import { Mailer } from './mailer';

@Module({ providers: [Mailer], exports: [Mailer] })
export class MailModule {}
