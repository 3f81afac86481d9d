/**
 * The names people give their API keys, management keys and projects: free text that may hold
 * a person's name, so it is personal data. New events carry such a name sealed with the account
 * holder's vault key (PersonalDataVault: this is only the holder lookup and the display rule
 * around it), and the read models keep the sealed value as the event has it. A name is opened
 * only to be shown (account API, CLI, exports): authenticating a key never opens one.
 *
 * A stored name is `{ value, owner }`: owner null means plain text (events from before names
 * were sealed, or an account that no person holds, which no erasure can reach either).
 * Erasure: the holder's key is destroyed, so every sealed name reads ERASED_NAME; the rows are
 * scrubbed to it by the erasure hook registered here, and every later write of those rows (a
 * replay of old plain-text events too) writes the placeholder (erasedAccountSql).
 */
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../platform/database/pg';
import { isUuid } from '../shared/ids';
import { ErasureHooks } from './erasure/erasure-hooks';
import { PersonalDataVault } from './personal-data-vault';

/** What a name reads once its person is erased, everywhere it is shown. */
export const ERASED_NAME = '(erased)';

export interface StoredName {
  value: string;
  /** The person whose vault key sealed `value`; null: `value` is plain text. */
  owner: string | null;
}

/**
 * SQL: true once an erasure of the account has started (the `erasures` row is written first).
 * `param` is the placeholder of the account id, of the type its table gives it (api_keys keeps
 * account ids as text); rows written under it get ERASED_NAME.
 */
export const erasedAccountSql = (param: string, type: 'text' | 'uuid'): string =>
  type === 'uuid' ? `EXISTS (SELECT 1 FROM erasures e WHERE e.account_id = ${param})` : `EXISTS (SELECT 1 FROM erasures e WHERE e.account_id::text = ${param})`;

@Injectable()
export class AccountNames implements OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly vault: PersonalDataVault,
    private readonly hooks: ErasureHooks,
  ) {}

  onModuleInit(): void {
    this.hooks.register({ name: 'key and project names', forget: ({ accountId }) => this.scrub(accountId) });
  }

  /**
   * The person holding the account (the first registered), or null when no person does. Once
   * the account's erasure has started it is the erased person (whose users row goes), so a name
   * given in a request that raced the erasure is sealed with a key about to go, or refused by
   * the vault once it is gone: never written in clear.
   */
  async holderOf(accountId: string): Promise<string | null> {
    if (!isUuid(accountId)) return null;
    const { rows } = await this.pool.query<{ user_id: string }>(
      `SELECT user_id FROM (
         SELECT user_id, 0 AS rank, started_at AS at FROM erasures WHERE account_id = $1
         UNION ALL SELECT user_id, 1, created_at FROM users WHERE account_id = $1
       ) holders ORDER BY rank, at LIMIT 1`,
      [accountId],
    );
    return rows[0]?.user_id ?? null;
  }

  /** The name as an event should carry it: sealed for `owner`, or as is when there is none. */
  async seal(owner: string | null, plaintext: string): Promise<StoredName> {
    return owner === null ? { value: plaintext, owner: null } : { value: await this.vault.encrypt(owner, plaintext), owner };
  }

  /** The name to show: opened, or ERASED_NAME once its person is erased. */
  async open(name: StoredName): Promise<string> {
    return (await this.openMany([name]))[0];
  }

  /** Many names, each person's key read once (a list of a thousand keys is a few queries, not a thousand). */
  async openMany(names: readonly StoredName[]): Promise<string[]> {
    const out = names.map((n) => (n.owner === null ? n.value : ERASED_NAME));
    const byOwner = new Map<string, number[]>();
    names.forEach((n, i) => {
      if (n.owner !== null) byOwner.set(n.owner, [...(byOwner.get(n.owner) ?? []), i]);
    });
    for (const [owner, at] of byOwner) {
      const opened = await this.vault.decryptMany(owner, at.map((i) => names[i].value));
      at.forEach((i, j) => (out[i] = opened[j] ?? ERASED_NAME));
    }
    return out;
  }

  /** The erasure hook: every name row of the account reads the placeholder (idempotent). */
  async scrub(accountId: string): Promise<void> {
    await this.pool.query(`UPDATE api_keys SET name = $2, project = $2, name_owner = NULL WHERE account_id = $1::text`, [accountId, ERASED_NAME]);
    await this.pool.query(`UPDATE projects SET name = $2, name_owner = NULL WHERE account_id = $1::uuid`, [accountId, ERASED_NAME]);
    await this.pool.query(`UPDATE management_keys SET name = $2, name_owner = NULL WHERE account_id = $1::uuid`, [accountId, ERASED_NAME]);
  }
}
