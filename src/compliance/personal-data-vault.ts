/**
 * Crypto-shredding vault: personal data (email, name, IP, wallet address) is encrypted with a
 * key of its own per person before it goes into an event, and erasing the person deletes the
 * key. The log stays append-only and verifiable; the data in it becomes noise.
 *
 * Values look like `v1:<iv>:<tag>:<ciphertext>` (base64, AES-256-GCM). The person id is bound
 * in as associated data, so a value copied into another person's event does not decrypt.
 * Keys are not cached: an erasure must take effect on every instance at once.
 */
import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { AES_KEY_BYTES, isSealed, open, seal } from '../platform/crypto/aes-gcm';
import { PG_POOL, inTransaction } from '../platform/database/pg';
import { DomainError } from '../shared/domain-error';
import { isUuid } from '../shared/ids';

const LOCK_NAMESPACE = 7_300_003; // advisory locks: one per person, for key creation vs erasure

export class VaultError extends DomainError<'person_erased' | 'invalid_person_id' | 'malformed_value' | 'undecryptable'> {
  override readonly name = 'VaultError';
  override readonly showsCode = false;
}

@Injectable()
export class PersonalDataVault {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Encrypts with the person's key, creating it on first use. Refuses once the person is erased. */
  async encrypt(personId: string, plaintext: string): Promise<string> {
    const key = await this.keyFor(personId, true);
    if (!key) throw new VaultError('person_erased', `person ${personId} has been erased`);
    return seal(key, plaintext, personId.toLowerCase());
  }

  /** The plaintext, or null when the person's key was erased (or never existed). */
  async decrypt(personId: string, value: string): Promise<string | null> {
    if (!isSealed(value)) {
      throw new VaultError('malformed_value', 'not a vault value (expected v1:<iv>:<tag>:<ciphertext>)');
    }
    const key = await this.keyFor(personId, false);
    if (!key) return null;
    try {
      return open(key, value, personId.toLowerCase());
    } catch {
      // Not null: a value that fails authentication was altered or belongs to someone else,
      // which is a fault to surface, not an erasure to paper over.
      throw new VaultError('undecryptable', `a personal-data value of person ${personId} does not authenticate`);
    }
  }

  /** Many values of one person with one read of their key (lists of names); nulls once erased. */
  async decryptMany(personId: string, values: readonly string[]): Promise<Array<string | null>> {
    for (const v of values) {
      if (!isSealed(v)) throw new VaultError('malformed_value', 'not a vault value (expected v1:<iv>:<tag>:<ciphertext>)');
    }
    const key = values.length === 0 ? null : await this.keyFor(personId, false);
    if (!key) return values.map(() => null);
    return values.map((v) => {
      try {
        return open(key, v, personId.toLowerCase());
      } catch {
        throw new VaultError('undecryptable', `a personal-data value of person ${personId} does not authenticate`);
      }
    });
  }

  /** Deletes the person's key for good. Idempotent; returns false when there was no key. */
  async erase(personId: string): Promise<boolean> {
    checkId(personId);
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, personId.toLowerCase()]);
      await client.query('INSERT INTO person_erasures (person_id) VALUES ($1) ON CONFLICT DO NOTHING', [personId]);
      const { rowCount } = await client.query('DELETE FROM person_keys WHERE person_id = $1', [personId]);
      return (rowCount ?? 0) > 0;
    });
  }

  async isErased(personId: string): Promise<boolean> {
    checkId(personId);
    const { rowCount } = await this.pool.query('SELECT 1 FROM person_erasures WHERE person_id = $1', [personId]);
    return (rowCount ?? 0) > 0;
  }

  private async keyFor(personId: string, create: boolean): Promise<Buffer | null> {
    checkId(personId);
    const found = await this.pool.query<{ key: Buffer }>('SELECT key FROM person_keys WHERE person_id = $1', [personId]);
    if (found.rows[0]) return found.rows[0].key;
    if (!create) return null;
    // Under the person's lock, so an erasure running at the same moment cannot be undone by a
    // key created just after it.
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, personId.toLowerCase()]);
      const erased = await client.query('SELECT 1 FROM person_erasures WHERE person_id = $1', [personId]);
      if ((erased.rowCount ?? 0) > 0) return null;
      await client.query('INSERT INTO person_keys (person_id, key) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        personId,
        randomBytes(AES_KEY_BYTES),
      ]);
      const { rows } = await client.query<{ key: Buffer }>('SELECT key FROM person_keys WHERE person_id = $1', [personId]);
      return rows[0].key;
    });
  }
}

function checkId(personId: string): void {
  if (!isUuid(personId)) throw new VaultError('invalid_person_id', `a person id must be a uuid: ${JSON.stringify(personId)}`);
}
