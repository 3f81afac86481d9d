/**
 * The links sent by mail (table magic_link_tokens, migration 009). A token is 32 random bytes
 * (base64url) that exists only in the mail; the row keeps its SHA-256. Using a link is one
 * conditional UPDATE, so of any number of concurrent uses exactly one gets the row back.
 * Time is the caller's (the app's clock), not the database's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { SecretBox } from '../../platform/crypto/secret-box';

export type LinkPurpose = 'sign_in' | 'sign_up' | 'reset';

export interface NewLink {
  purpose: LinkPurpose;
  /** The normalised address; sealed with the server key. */
  email: string;
  emailHash: string;
  /** sign_up only: the password's argon2id hash, kept sealed until the address is proven. */
  passwordHash?: string | null;
  now: Date;
  ttlSeconds: number;
}

export interface UsedLink {
  purpose: LinkPurpose;
  email: string;
  emailHash: string;
  passwordHash: string | null;
}

/** base64url of 32 bytes, unpadded. Anything else is not a token of ours and costs no query. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const isTokenShaped = (token: unknown): token is string => typeof token === 'string' && TOKEN.test(token);

const hashOf = (token: string) => createHash('sha256').update(token).digest();

@Injectable()
export class MagicLinkTokensRepository {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly box: SecretBox,
  ) {}

  /** Stores a new link; returns its token (for the mail only). */
  async issue(link: NewLink): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const hash = hashOf(token);
    const hex = hash.toString('hex');
    await this.pool.query(
      `INSERT INTO magic_link_tokens (token_hash, purpose, email_hash, email, password_hash, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        hash,
        link.purpose,
        link.emailHash,
        this.box.seal(link.email, `magic_link:${hex}:email`),
        link.passwordHash ? this.box.seal(link.passwordHash, `magic_link:${hex}:password_hash`) : null,
        link.now,
        new Date(link.now.getTime() + link.ttlSeconds * 1000),
      ],
    );
    return token;
  }

  /** Whether the link could be used now (read only: opening a link changes nothing). */
  async usable(token: string, now: Date, purposes: readonly LinkPurpose[]): Promise<boolean> {
    if (!isTokenShaped(token)) return false;
    const { rowCount } = await this.pool.query(
      'SELECT 1 FROM magic_link_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND purpose = ANY($3)',
      [hashOf(token), now, purposes],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Uses the link: the first caller while it is unused and unexpired gets it, everyone else null. */
  async use(token: string, now: Date, purposes: readonly LinkPurpose[]): Promise<UsedLink | null> {
    if (!isTokenShaped(token)) return null;
    const hash = hashOf(token);
    const { rows } = await this.pool.query<{ purpose: LinkPurpose; email_hash: string; email: string; password_hash: string | null }>(
      `UPDATE magic_link_tokens SET used_at = $2
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND purpose = ANY($3)
        RETURNING purpose, email_hash, email, password_hash`,
      [hash, now, purposes],
    );
    const row = rows[0];
    if (!row) return null;
    const hex = hash.toString('hex');
    return {
      purpose: row.purpose,
      emailHash: row.email_hash,
      email: this.box.open(row.email, `magic_link:${hex}:email`),
      passwordHash: row.password_hash === null ? null : this.box.open(row.password_hash, `magic_link:${hex}:password_hash`),
    };
  }

  /** Forgets a link whose mail could not be sent. */
  async discard(token: string): Promise<void> {
    if (isTokenShaped(token)) await this.pool.query('DELETE FROM magic_link_tokens WHERE token_hash = $1', [hashOf(token)]);
  }

  /** Deletes expired links (used or not): their sealed addresses are kept no longer than needed. */
  async purgeExpired(now: Date): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM magic_link_tokens WHERE expires_at <= $1', [now]);
    return rowCount ?? 0;
  }
}
