/**
 * The channels table (migrations/004_channels.sql). Keys go in sealed and come out decrypted
 * only through loadForRouting(): listing and managing channels never touches a plaintext key.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL, inTransaction } from '../../platform/database/pg';
import { SecretBox, SecretBoxError } from '../../platform/crypto/secret-box';
import { Channel, ChannelError, ChannelProvider, ChannelRecord, apiKeyPurpose, last4 } from './channel';
import { isUuid } from '../../shared/ids';

const SEED_LOCK_NAMESPACE = 7_300_004; // advisory locks: one per seeded channel name

export interface NewChannel {
  name: string;
  provider: ChannelProvider;
  baseUrl: string;
  apiKey: string;
  models?: string[];
  priority?: number;
  weight?: number;
  maxConnections?: number | null;
  http2?: boolean;
}

/** What `channels update` may change; a field left undefined stays as it is. */
export interface ChannelChanges {
  priority?: number;
  weight?: number;
  /** null: back to UPSTREAM_MAX_CONNECTIONS. */
  maxConnections?: number | null;
  http2?: boolean;
}

export interface EnvChannel {
  name: string;
  provider: ChannelProvider;
  baseUrl: string;
  apiKey: string;
}

export type SeedOutcome = 'created' | 'updated' | 'unchanged';

export interface RoutingLoad {
  channels: Channel[];
  /** Enabled channels whose key does not decrypt (ENCRYPTION_KEY changed?): left out of routing. */
  unreadable: { id: string; name: string; reason: string }[];
}

interface Row {
  id: string;
  name: string;
  provider: ChannelProvider;
  base_url: string;
  api_key_last4: string | null;
  models: string[];
  priority: number;
  weight: number;
  max_connections: number | null;
  http2: boolean;
  enabled: boolean;
  source: 'env' | 'cli';
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, name, provider, base_url, api_key_last4, models, priority, weight, max_connections, http2, enabled, source, created_at, updated_at`;

@Injectable()
export class ChannelRepository {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly secrets: SecretBox,
  ) {}

  async add(input: NewChannel): Promise<ChannelRecord> {
    const id = randomUUID();
    try {
      const { rows } = await this.pool.query<Row>(
        `INSERT INTO channels (id, name, provider, base_url, api_key_ciphertext, api_key_last4, models, priority, weight, max_connections, http2, enabled, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, 'cli')
         RETURNING ${COLUMNS}`,
        [
          id,
          input.name,
          input.provider,
          input.baseUrl,
          this.secrets.seal(input.apiKey, apiKeyPurpose(id)),
          last4(input.apiKey),
          input.models ?? [],
          input.priority ?? 0,
          input.weight ?? 1,
          input.maxConnections ?? null,
          input.http2 ?? false,
        ],
      );
      return toRecord(rows[0]);
    } catch (err) {
      if ((err as { code?: string; constraint?: string }).code === '23505') {
        throw new ChannelError('channel_name_taken', `a channel named ${input.name} already exists`);
      }
      throw err;
    }
  }

  /** Every channel, enabled or not, in routing order (priority, highest first). */
  async list(): Promise<ChannelRecord[]> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM channels ORDER BY priority DESC, name`);
    return rows.map(toRecord);
  }

  /** By id (when `ref` is a uuid) or by name. */
  async find(ref: string): Promise<ChannelRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM channels WHERE ${whereRef(ref)}`, [ref]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Enables or disables; `changed` is false when it already was so. */
  async setEnabled(ref: string, enabled: boolean): Promise<{ record: ChannelRecord; changed: boolean }> {
    const { rows } = await this.pool.query<Row>(
      `UPDATE channels SET enabled = $2, updated_at = now()
        WHERE ${whereRef(ref)} AND enabled IS DISTINCT FROM $2
        RETURNING ${COLUMNS}`,
      [ref, enabled],
    );
    if (rows[0]) return { record: toRecord(rows[0]), changed: true };
    const record = await this.find(ref);
    if (!record) throw new ChannelError('channel_not_found', `no channel ${ref}`);
    return { record, changed: false };
  }

  /**
   * Changes the given settings; `changed` is false when every one already had that value (then
   * nothing is written and nobody need be told).
   */
  async update(ref: string, changes: ChannelChanges): Promise<{ record: ChannelRecord; changed: boolean }> {
    const sets: string[] = [];
    const differs: string[] = [];
    const values: unknown[] = [ref];
    const set = (column: string, value: unknown) => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
      differs.push(`${column} IS DISTINCT FROM $${values.length}`);
    };
    if (changes.priority !== undefined) set('priority', changes.priority);
    if (changes.weight !== undefined) set('weight', changes.weight);
    if (changes.maxConnections !== undefined) set('max_connections', changes.maxConnections);
    if (changes.http2 !== undefined) set('http2', changes.http2);
    if (sets.length > 0) {
      const { rows } = await this.pool.query<Row>(
        `UPDATE channels SET ${sets.join(', ')}, updated_at = now() WHERE ${whereRef(ref)} AND (${differs.join(' OR ')}) RETURNING ${COLUMNS}`,
        values,
      );
      if (rows[0]) return { record: toRecord(rows[0]), changed: true };
    }
    const record = await this.find(ref);
    if (!record) throw new ChannelError('channel_not_found', `no channel ${ref}`);
    return { record, changed: false };
  }

  /** The enabled channels with their keys decrypted, for the in-memory directory only. */
  async loadForRouting(): Promise<RoutingLoad> {
    const { rows } = await this.pool.query<Row & { api_key_ciphertext: string }>(
      `SELECT ${COLUMNS}, api_key_ciphertext FROM channels WHERE enabled ORDER BY priority DESC, name`,
    );
    const load: RoutingLoad = { channels: [], unreadable: [] };
    for (const r of rows) {
      try {
        const apiKey = this.secrets.open(r.api_key_ciphertext, apiKeyPurpose(r.id));
        load.channels.push({
          id: r.id,
          name: r.name,
          provider: r.provider,
          baseUrl: r.base_url,
          apiKey,
          models: r.models,
          priority: r.priority,
          weight: r.weight,
          maxConnections: r.max_connections,
          http2: r.http2,
        });
      } catch (err) {
        if (!(err instanceof SecretBoxError)) throw err;
        load.unreadable.push({ id: r.id, name: r.name, reason: err.code });
      }
    }
    return load;
  }

  /**
   * Creates or refreshes a channel from the environment. Only what the environment says is
   * written (provider, base URL, key); priority, weight, models and an operator's `disable`
   * stay. Nothing is written when nothing differs, so a restart changes nothing.
   */
  async seedFromEnv(spec: EnvChannel): Promise<SeedOutcome> {
    return inTransaction(this.pool, async (client) => {
      // Two instances starting at once take turns; the second finds the row unchanged.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SEED_LOCK_NAMESPACE, spec.name]);
      const { rows } = await client.query<{ id: string; provider: string; base_url: string; api_key_ciphertext: string; source: string }>(
        'SELECT id, provider, base_url, api_key_ciphertext, source FROM channels WHERE name = $1',
        [spec.name],
      );
      const existing = rows[0];
      if (!existing) {
        const id = randomUUID();
        await client.query(
          `INSERT INTO channels (id, name, provider, base_url, api_key_ciphertext, api_key_last4, source)
           VALUES ($1, $2, $3, $4, $5, $6, 'env')`,
          [id, spec.name, spec.provider, spec.baseUrl, this.secrets.seal(spec.apiKey, apiKeyPurpose(id)), last4(spec.apiKey)],
        );
        return 'created';
      }
      if (
        existing.provider === spec.provider &&
        existing.base_url === spec.baseUrl &&
        existing.source === 'env' &&
        this.keyEquals(existing.id, existing.api_key_ciphertext, spec.apiKey)
      ) {
        return 'unchanged';
      }
      await client.query(
        `UPDATE channels
            SET provider = $2, base_url = $3, api_key_ciphertext = $4, api_key_last4 = $5, source = 'env', updated_at = now()
          WHERE id = $1`,
        [existing.id, spec.provider, spec.baseUrl, this.secrets.seal(spec.apiKey, apiKeyPurpose(existing.id)), last4(spec.apiKey)],
      );
      return 'updated';
    });
  }

  private keyEquals(id: string, ciphertext: string, apiKey: string): boolean {
    try {
      return this.secrets.open(ciphertext, apiKeyPurpose(id)) === apiKey;
    } catch (err) {
      if (err instanceof SecretBoxError) return false; // sealed under an older ENCRYPTION_KEY: reseal
      throw err;
    }
  }
}

function whereRef(ref: string): string {
  return isUuid(ref) ? 'id = $1::uuid' : 'name = $1';
}

function toRecord(r: Row): ChannelRecord {
  return {
    id: r.id,
    name: r.name,
    provider: r.provider,
    baseUrl: r.base_url,
    apiKeyLast4: r.api_key_last4,
    models: r.models,
    priority: r.priority,
    weight: r.weight,
    maxConnections: r.max_connections,
    http2: r.http2,
    enabled: r.enabled,
    source: r.source,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
