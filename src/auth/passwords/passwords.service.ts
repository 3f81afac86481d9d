/**
 * Email + password, only when an operator sets AUTH_PASSWORDS=true (DESIGN.md: no password is
 * needed for any other way in). Hashes are argon2id (@node-rs/argon2, its defaults: OWASP's
 * 19 MiB, 2 passes), sealed with the person's vault key in their `PasswordSet` event.
 *
 * - Sign-up never creates anyone: it mails a link (the sign-in link's table, purpose sign_up)
 *   that carries the new hash, sealed with the server key; using the link proves the address,
 *   makes or finds the person, and sets the password. Known and unknown addresses take the same
 *   path and get the same answer (for a known one, the link is a password reset by mail).
 * - Log-in: the same answer, and about the same time, for an unknown address, an address
 *   without a password and a wrong password: each checks a hash (a dummy one when there is none).
 * - Both count against the sign-in links' hourly limits per address and per client address.
 */
import { Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { ApiError } from '../../platform/http/api-error';
import { UserRecord, UsersService, normaliseEmail } from '../../accounts/application/users.service';
import { MagicLinkService } from '../magic-link/magic-link.service';
import { storePasswordHash } from './password-hash';

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

const hashPassword = (password: string) => argon2Hash(password, { algorithm: Algorithm.Argon2id });

@Injectable()
export class PasswordsService {
  private dummy: Promise<string> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly magicLinks: MagicLinkService,
  ) {}

  get enabled(): boolean {
    return this.config.AUTH_PASSWORDS;
  }

  /** Mails a link that, used, proves the address and sets this password. */
  async signUp(email: string, password: string, clientAddress: string): Promise<void> {
    const address = normaliseEmail(email);
    await this.magicLinks.admit(address, clientAddress);
    await this.magicLinks.send(address, 'sign_up', await hashPassword(password));
  }

  /** The person, when the address has this password; else `unauthenticated`, alike for every cause. */
  async logIn(email: string, password: string, clientAddress: string): Promise<UserRecord> {
    const address = normaliseEmail(email);
    await this.magicLinks.admit(address, clientAddress, 'login');
    const user = await this.users.findByEmail(address);
    const sealed = user ? (await this.users.load(user.userId)).state.passwordHash : null;
    const stored = user && sealed ? await this.users.openFor(user.userId, sealed) : null;
    const matches = await argon2Verify(stored ?? (await this.dummyHash()), password).catch(() => false);
    if (!user || !stored || !matches) throw new ApiError('unauthenticated', 'the email address or the password is wrong');
    return user;
  }

  /** Sets a new password for a signed-in person. */
  async change(userId: string, password: string): Promise<void> {
    await storePasswordHash(this.users, userId, await hashPassword(password));
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummy;
  }
}
