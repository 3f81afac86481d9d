/**
 * Sign-in links by mail (issue 19).
 *
 * Requesting a link never looks the address up: the same link signs a known person in and
 * signs a new one up (when it is used), so a known and an unknown address take the very same
 * path, the same queries, the same mail, the same answer, and no timing or error tells them
 * apart. Even a mail server failure is answered alike for both (503). What does differ is only
 * visible to whoever reads that mailbox. The person and their account are made when the link is
 * used, never when it is asked for.
 *
 * The rate limits come first, counted for every request whatever the address: 429 before
 * anything is stored or sent. In production without SMTP_URL the request is refused before
 * that (503 mail_not_configured): no link could ever arrive.
 *
 * A restriction of processing does not stop a link: the person asked for it, and signing in is
 * their way to their export, erasure and requests (ledger/domain/processing-restriction.ts).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { SecretBox } from '../../platform/crypto/secret-box';
import { ApiError } from '../../platform/http/api-error';
import { MailError, Mailer } from '../../platform/mail/mailer';
import { DomainError } from '../../shared/domain-error';
import { UserRecord, UsersService, normaliseEmail } from '../../accounts/application/users.service';
import { LimitsStoreDown, MagicLinkLimiter } from './magic-link-limiter';
import { LinkPurpose, MagicLinkTokensRepository } from './magic-link-tokens.repository';
import { storePasswordHash } from '../passwords/password-hash';
import { VERIFY_PATH, signInMail, signUpMail } from './magic-link-pages';

export class MagicLinkError extends DomainError<'invalid_token'> {
  override readonly name = 'MagicLinkError';
}

export const invalidToken = () => new MagicLinkError('invalid_token', 'the link has expired, was already used, or is not a link of ours');

const STORE_RETRY_AFTER_SECONDS = 2;
const MAIL_RETRY_AFTER_SECONDS = 30;

@Injectable()
export class MagicLinkService {
  private readonly log = new Logger('MagicLink');
  private saidStoreDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly links: MagicLinkTokensRepository,
    private readonly limiter: MagicLinkLimiter,
    private readonly mailer: Mailer,
    private readonly users: UsersService,
    private readonly box: SecretBox,
  ) {}

  /** Mails a sign-in link to the address; the same outcome whether or not anyone has it. */
  async request(email: string, clientAddress: string): Promise<void> {
    const address = normaliseEmail(email);
    await this.admit(address, clientAddress);
    await this.send(address, 'sign_in');
  }

  /**
   * Stores a link and mails it. A sign-up link (passwords) carries the new password's hash,
   * set on the person when the link is used.
   */
  async send(address: string, purpose: 'sign_in' | 'sign_up', passwordHash: string | null = null): Promise<void> {
    const now = this.clock.now();
    const token = await this.links.issue({ purpose, email: address, emailHash: this.users.emailHash(address), passwordHash, now, ttlSeconds: this.config.MAGIC_LINK_TTL_SECONDS });
    const link = `${this.config.PUBLIC_URL}${VERIFY_PATH}?token=${token}`;
    const mail = purpose === 'sign_up' ? signUpMail(link, this.config.MAGIC_LINK_TTL_SECONDS) : signInMail(link, this.config.MAGIC_LINK_TTL_SECONDS);
    try {
      await this.mailer.send({ to: address, ...mail });
    } catch (err) {
      await this.links.discard(token);
      if (err instanceof MailError && err.code === 'mail_failed') {
        this.log.warn(`a ${purpose === 'sign_up' ? 'sign-up' : 'sign-in'} link could not be mailed: ${err.message}`);
        throw new ApiError('unavailable', 'the link could not be mailed right now; try again in a minute', { retryAfterSeconds: MAIL_RETRY_AFTER_SECONDS });
      }
      throw err;
    }
  }

  /**
   * Uses a link (once): the person it was mailed to, registered now if new. A sign-up link
   * (only while passwords are on) also sets the password it carries.
   */
  async use(token: string): Promise<{ user: UserRecord; created: boolean }> {
    const used = await this.links.use(token, this.clock.now(), this.purposes());
    if (!used) throw invalidToken();
    const signedUp = await this.users.signUpOrInByEmail(used.email, used.purpose === 'sign_up' ? 'password' : 'magic_link');
    if (used.passwordHash) await storePasswordHash(this.users, signedUp.user.userId, used.passwordHash);
    return signedUp;
  }

  /** Whether a link could be used now; changes nothing. */
  usable(token: string): Promise<boolean> {
    return this.links.usable(token, this.clock.now(), this.purposes());
  }

  private purposes(): LinkPurpose[] {
    return this.config.AUTH_PASSWORDS ? ['sign_in', 'sign_up'] : ['sign_in'];
  }

  /**
   * The hourly limits, per address and per client address, counted for every attempt whatever
   * the address. `mail` counts links mailed (sign-in and sign-up share it); `login` password attempts.
   * In production without SMTP_URL mail is refused first: no link could ever arrive.
   */
  async admit(address: string, clientAddress: string, bucket: 'mail' | 'login' = 'mail'): Promise<void> {
    if (bucket === 'mail' && this.mailer.transport === 'none') {
      throw new ApiError('mail_not_configured', 'this gateway cannot send mail (SMTP_URL is unset), so links by mail are off');
    }
    const names = bucket === 'mail' ? ['address', 'client'] : ['login-address', 'login-client'];
    let admission;
    try {
      admission = await this.limiter.admit([
        { id: `${names[0]}:${this.box.lookupHash('magic-link address', address)}`, limit: this.config.MAGIC_LINK_PER_ADDRESS_PER_HOUR },
        { id: `${names[1]}:${this.box.lookupHash('magic-link client', clientAddress)}`, limit: this.config.MAGIC_LINK_PER_CLIENT_PER_HOUR },
      ]);
    } catch (err) {
      if (!(err instanceof LimitsStoreDown)) throw err;
      // Said once per outage, not once per request.
      if (!this.saidStoreDown) this.log.warn(`links by mail and password log-ins are refused while the rate-limit store is away: ${err.message}`);
      this.saidStoreDown = true;
      throw new ApiError('unavailable', 'sign-in links cannot be sent right now; try again shortly', { retryAfterSeconds: STORE_RETRY_AFTER_SECONDS });
    }
    if (this.saidStoreDown) this.log.warn('links by mail and password log-ins are served again: the rate-limit store answers');
    this.saidStoreDown = false;
    if (!admission.ok) {
      const what = admission.id.startsWith(names[0]) ? 'this address' : 'your network address';
      throw new ApiError('rate_limited', `too many ${bucket === 'mail' ? 'links' : 'attempts'} for ${what} this hour; try again later`, { retryAfterSeconds: admission.retryAfterSeconds });
    }
  }
}
