/**
 * Secrets at rest (upstream API keys of channels, and whatever else must be stored yet never
 * readable from a dump of the database): sealed with AES-256-GCM under ENCRYPTION_KEY.
 *
 * Every value names its purpose as associated data (say `channel:<id>:api_key`), so a
 * ciphertext copied into another row or column does not decrypt. Outside production a fixed
 * development key stands in for ENCRYPTION_KEY, so a fresh checkout just works; the process
 * says so once at start, because such secrets are only obscured, not protected.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { DomainError } from '../../shared/domain-error';
import { SealError, open, seal } from './aes-gcm';

/** Public on purpose: anything sealed with it is readable by anyone with this source code. */
export const DEVELOPMENT_KEY = createHash('sha256').update('tollgate-development-key').digest();

export class SecretBoxError extends DomainError<'malformed_secret' | 'undecryptable_secret'> {
  override readonly name = 'SecretBoxError';
}

@Injectable()
export class SecretBox implements OnApplicationBootstrap {
  private readonly log = new Logger('SecretBox');
  private readonly key: Buffer;
  private readonly lookupKeys = new Map<string, Buffer>();
  readonly usesDevelopmentKey: boolean;

  constructor(@Inject(APP_CONFIG) config: Pick<AppConfig, 'ENCRYPTION_KEY'>) {
    this.usesDevelopmentKey = !config.ENCRYPTION_KEY;
    // config.ts has checked it decodes to exactly 32 bytes.
    this.key = config.ENCRYPTION_KEY ? Buffer.from(config.ENCRYPTION_KEY, 'base64') : DEVELOPMENT_KEY;
  }

  onApplicationBootstrap(): void {
    if (this.usesDevelopmentKey) {
      this.log.warn(
        'secrets (upstream API keys) are encrypted with the public development key: set ENCRYPTION_KEY ' +
          '(32 random bytes, base64, e.g. `openssl rand -base64 32`) before storing real ones',
      );
    }
  }

  /**
   * A keyed hash (HMAC-SHA256, hex) for looking a value up without storing it: the email of a
   * person, a provider's subject. Its key is derived from ENCRYPTION_KEY per purpose (HKDF), so
   * a dump of the database cannot be matched against a list of addresses without the key, and
   * hashes of one purpose say nothing about another. Changing ENCRYPTION_KEY changes every hash.
   */
  lookupHash(purpose: string, value: string): string {
    let key = this.lookupKeys.get(purpose);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `tollgate lookup hash: ${purpose}`, 32));
      this.lookupKeys.set(purpose, key);
    }
    return createHmac('sha256', key).update(value).digest('hex');
  }

  /** `purpose` names what the secret is and which row it belongs to, e.g. `channel:<id>:api_key`. */
  seal(plaintext: string, purpose: string): string {
    return seal(this.key, plaintext, purpose);
  }

  open(value: string, purpose: string): string {
    try {
      return open(this.key, value, purpose);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      if (err.code === 'malformed_value') throw new SecretBoxError('malformed_secret', `${purpose}: ${err.message}`);
      throw new SecretBoxError(
        'undecryptable_secret',
        `${purpose} does not decrypt: it was sealed with another ENCRYPTION_KEY, or altered`,
      );
    }
  }
}

/** Import this (not the class) so the process has one SecretBox, and one start-up warning. */
@Module({ providers: [SecretBox], exports: [SecretBox] })
export class SecretBoxModule {}
