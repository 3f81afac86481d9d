import { Module } from '@nestjs/common';
import { PasswordsModule } from '../passwords/passwords.module';
import { MagicLinkModule } from './magic-link.module';

/** The API's sign-in-by-mail routes: magic links, and passwords (which answer 404 unless AUTH_PASSWORDS). */
@Module({ imports: [MagicLinkModule, PasswordsModule] })
export class SignInByMailModule {}
