/**
 * `Idempotency-Key` on the account API's creating POSTs (projects, keys, management keys).
 *
 * A row per (scope = account + route, key) in idempotency_keys (migrations/012) claims the key
 * before anything is created; the first request to claim it creates, the others wait for it:
 * - same key, same body (SHA-256 of its canonical JSON), done: the same resource is answered
 *   again, 200 with `idempotent-replayed: true`. A secret is never stored, so a replayed key
 *   creation answers the key without its `secret` (the first answer was the only one to have it);
 * - same key, another body: 422 `idempotency_mismatch`, nothing created;
 * - same key while the first is still under way: wait for it (up to WAIT_MS), then 409
 *   `idempotency_in_progress`. Concurrent duplicates therefore make exactly one resource.
 * A creation that fails releases its claim (the client may retry with the same key). A claim
 * left by a crashed instance is taken over after LEASE; rows older than 24 hours are never
 * answered, and are purged lazily (at most every 10 minutes per instance).
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'pg';
import { DomainError } from '../../shared/domain-error';
import { canonicalJson } from '../event-store/canonical';
import { PG_POOL } from '../database/pg';

export type IdempotencyErrorCode = 'idempotency_mismatch' | 'idempotency_in_progress' | 'invalid_idempotency_key';

/** Answered 422, 409 and 400 (api-error.filter.ts's table). */
export class IdempotencyError extends DomainError<IdempotencyErrorCode> {
  override readonly name = 'IdempotencyError';
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const WAIT_MS = 10_000;
const LEASE = '5 minutes';
const KEPT = '24 hours';
const PURGE_EVERY_MS = 10 * 60_000;

export interface IdempotentCreation<T> {
  /** Creates the resource; its id is kept so that a replay finds it again. */
  create(): Promise<{ id: string; body: T }>;
  /** The resource as a replay answers it (never a secret). */
  replay(id: string): Promise<T>;
}

export interface IdempotentAnswer<T> {
  status: 200 | 201;
  body: T;
  replayed: boolean;
}

@Injectable()
export class IdempotencyKeys {
  private readonly log = new Logger('Idempotency');
  private lastPurge = 0;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The request's Idempotency-Key header: undefined when absent, an error when malformed. */
  static keyOf(request: FastifyRequest): string | undefined {
    const raw = request.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string' || !KEY_PATTERN.test(raw)) {
      throw new IdempotencyError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
    }
    return raw;
  }

  /** Runs a creation once per (scope, key); without a key, just runs it. */
  async run<T>(input: { scope: string; key: string | undefined; request: unknown }, creation: IdempotentCreation<T>): Promise<IdempotentAnswer<T>> {
    if (input.key === undefined) return { status: 201, body: (await creation.create()).body, replayed: false };
    const fingerprint = createHash('sha256').update(canonicalJson(input.request ?? null)).digest('hex');
    this.purgeNow();
    const deadline = Date.now() + WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      if (await this.claim(input.scope, input.key, fingerprint)) return this.createClaimed(input.scope, input.key, creation);
      const row = await this.read(input.scope, input.key);
      if (!row) continue; // released by a failed first request: claim it now
      if (row.fingerprint !== fingerprint) {
        throw new IdempotencyError('idempotency_mismatch', 'this Idempotency-Key was used with a different request');
      }
      if (row.state === 'done' && row.resource_id !== null) {
        return { status: 200, body: await creation.replay(row.resource_id), replayed: true };
      }
      if (Date.now() > deadline) {
        throw new IdempotencyError('idempotency_in_progress', 'a request with this Idempotency-Key is still under way; retry shortly');
      }
      await new Promise((r) => setTimeout(r, Math.min(10 + attempt * 10, 100)));
    }
  }

  /** Deletes rows past 24 hours; returns how many. */
  async purge(): Promise<number> {
    const { rowCount } = await this.pool.query(`DELETE FROM idempotency_keys WHERE created_at < now() - interval '${KEPT}'`);
    return rowCount ?? 0;
  }

  private async claim(scope: string, key: string, fingerprint: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO idempotency_keys (scope, key, fingerprint, state) VALUES ($1, $2, $3, 'in_progress')
       ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', resource_id = NULL, created_at = now()
        WHERE idempotency_keys.created_at < now() - interval '${KEPT}'
           OR (idempotency_keys.state = 'in_progress' AND idempotency_keys.created_at < now() - interval '${LEASE}')`,
      [scope, key, fingerprint],
    );
    return (rowCount ?? 0) > 0;
  }

  private async read(scope: string, key: string): Promise<{ fingerprint: string; state: string; resource_id: string | null } | null> {
    const { rows } = await this.pool.query<{ fingerprint: string; state: string; resource_id: string | null }>(
      `SELECT fingerprint, state, resource_id FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at >= now() - interval '${KEPT}'`,
      [scope, key],
    );
    return rows[0] ?? null;
  }

  private async createClaimed<T>(scope: string, key: string, creation: IdempotentCreation<T>): Promise<IdempotentAnswer<T>> {
    let created: { id: string; body: T };
    try {
      created = await creation.create();
    } catch (err) {
      await this.pool
        .query(`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_progress'`, [scope, key])
        .catch((e: Error) => this.log.warn(`could not release an Idempotency-Key after a failed creation: ${e.message}`));
      throw err;
    }
    await this.pool.query(`UPDATE idempotency_keys SET state = 'done', resource_id = $3 WHERE scope = $1 AND key = $2`, [scope, key, created.id]);
    return { status: 201, body: created.body, replayed: false };
  }

  private purgeNow(): void {
    const now = Date.now();
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    this.purge().catch((err: Error) => this.log.warn(`could not purge old Idempotency-Keys: ${err.message}`));
  }
}

/** Sends an idempotent creation's answer: 201, or 200 with `idempotent-replayed: true`. */
export function sendCreated<T>(reply: FastifyReply, answer: IdempotentAnswer<T>): void {
  if (answer.replayed) void reply.header(REPLAYED_HEADER, 'true');
  void reply.status(answer.status).send(answer.body);
}
