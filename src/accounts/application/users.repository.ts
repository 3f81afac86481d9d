/**
 * The `users` read model: one row per person, a pure function of their `user-<id>` stream,
 * written by UsersService right after each append (read-your-writes for sign-in and for the
 * account guard), guarded by the stream version so a row only moves forward.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { StaffRole, isStaffRole } from '../domain/user.events';
import { UserState } from '../domain/user.decider';

export interface UserRow {
  userId: string;
  accountId: string;
  emailHash: string | null;
  /** Vault value. */
  email: string | null;
  /** Vault value. */
  displayName: string | null;
  roles: StaffRole[];
  createdAt: Date;
  version: bigint;
}

interface Row {
  user_id: string;
  account_id: string;
  email_hash: string | null;
  email: string | null;
  display_name: string | null;
  roles: string[];
  created_at: Date;
  version: string;
}

const toRow = (r: Row): UserRow => ({
  userId: r.user_id,
  accountId: r.account_id,
  emailHash: r.email_hash,
  email: r.email,
  displayName: r.display_name,
  roles: r.roles.filter(isStaffRole),
  createdAt: r.created_at,
  version: BigInt(r.version),
});

@Injectable()
export class UsersRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Writes the row of a folded stream at `version`; false when the row is already at that
   * version or beyond (another writer got there first), or the person has no account (people
   * registered before issue 19: see user.events.ts).
   */
  async write(state: UserState, version: bigint, createdAt: Date, opts: { sameVersionToo?: boolean } = {}): Promise<boolean> {
    if (!state.registered || !state.accountId) return false;
    // An erased person has no row: nothing signs in as them, and nothing finds them by address.
    if (state.erased) return this.remove(state.userId);
    const { rowCount } = await this.pool.query(
      `INSERT INTO users (user_id, account_id, email_hash, email, display_name, roles, created_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (user_id) DO UPDATE SET
         account_id = EXCLUDED.account_id, email_hash = EXCLUDED.email_hash, email = EXCLUDED.email,
         display_name = EXCLUDED.display_name, roles = EXCLUDED.roles, version = EXCLUDED.version
       WHERE users.version ${opts.sameVersionToo ? '<=' : '<'} EXCLUDED.version`,
      [
        state.userId,
        state.accountId,
        state.emailHash,
        state.email,
        state.displayName,
        [...state.roles].sort(),
        createdAt,
        version.toString(),
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  async findById(userId: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM users WHERE user_id = $1', [userId]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async findByEmailHash(emailHash: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM users WHERE email_hash = $1', [emailHash]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async findByAccount(accountId: string): Promise<UserRow | null> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM users WHERE account_id = $1 ORDER BY created_at LIMIT 1', [accountId]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async userIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ user_id: string }>('SELECT user_id FROM users');
    return rows.map((r) => r.user_id);
  }

  /**
   * Whether a person with this address or this sign-in identity (keyed hashes; null: none) was
   * erased: such a sign-up gets no free requests again.
   */
  async signUpWasErased(emailHash: string | null, identityHash: string | null): Promise<boolean> {
    if (emailHash === null && identityHash === null) return false;
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM erased_addresses WHERE email_hash = $1
       UNION ALL SELECT 1 FROM erased_identities WHERE identity_hash = $2 LIMIT 1`,
      [emailHash, identityHash],
    );
    return (rowCount ?? 0) > 0;
  }

  async remove(userId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM users WHERE user_id = $1', [userId]);
    return (rowCount ?? 0) > 0;
  }
}
