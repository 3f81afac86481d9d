/**
 * Where finished zips are kept for their 24 hours, so every instance can serve them: in
 * Postgres (data_export_chunks, 1 MiB pieces) unless EXPORT_DIR is set, then as files in that
 * directory (shared storage). Each build attempt writes under its own name
 * (`<id>.<attempt>.zip`, or its chunks' attempt number); the attempt that finishes is the one
 * the row names, and the others are removed.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { PG_POOL } from '../../../platform/database/pg';

export type StorageKind = 'postgres' | 'dir';
const CHUNK_BYTES = 1024 * 1024;

@Injectable()
export class ExportStorage {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Where new exports go now. */
  get kind(): StorageKind {
    return this.config.EXPORT_DIR ? 'dir' : 'postgres';
  }

  /** A sink for one attempt's zip. Written in full only once it has finished (await its 'finish'). */
  async sink(exportId: string, attempt: number): Promise<Writable> {
    if (this.kind === 'dir') {
      await fs.mkdir(this.dir(), { recursive: true });
      return createWriteStream(this.partPath(exportId, attempt), { flags: 'w', mode: 0o600 });
    }
    // A retried attempt number cannot have chunks already (numbers only grow), but a crash
    // between the claim and the first insert leaves nothing either way: start clean.
    await this.pool.query('DELETE FROM data_export_chunks WHERE export_id = $1 AND attempt = $2', [exportId, attempt]);
    return new ChunkSink(this.pool, exportId, attempt);
  }

  /** Makes the attempt's zip the finished file (dir: renames the part; Postgres: already in place). */
  async seal(kind: StorageKind, exportId: string, attempt: number): Promise<void> {
    if (kind === 'dir') await fs.rename(this.partPath(exportId, attempt), this.filePath(exportId, attempt));
  }

  /** The finished zip, streamed. */
  open(kind: StorageKind, exportId: string, attempt: number): Readable {
    if (kind === 'dir') return createReadStream(this.filePath(exportId, attempt));
    return Readable.from(chunks(this.pool, exportId, attempt));
  }

  /** Removes every attempt's bytes but `keep` (all of them without it). */
  async remove(kind: StorageKind, exportId: string, keep: number | null = null): Promise<void> {
    if (kind === 'postgres') {
      await this.pool.query('DELETE FROM data_export_chunks WHERE export_id = $1 AND ($2::int IS NULL OR attempt <> $2)', [exportId, keep]);
      return;
    }
    const names = await fs.readdir(this.dir()).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^([0-9a-f-]{36})\.(\d+)\.zip(\.part)?$/.exec(n);
      if (!m || m[1] !== exportId || (keep !== null && Number(m[2]) === keep && !m[3])) continue;
      await fs.rm(join(this.dir(), n), { force: true });
    }
  }

  /** Removes one attempt's bytes (finished or not). */
  async removeAttempt(kind: StorageKind, exportId: string, attempt: number): Promise<void> {
    if (kind === 'postgres') {
      await this.pool.query('DELETE FROM data_export_chunks WHERE export_id = $1 AND attempt = $2', [exportId, attempt]);
      return;
    }
    await fs.rm(this.partPath(exportId, attempt), { force: true });
    await fs.rm(this.filePath(exportId, attempt), { force: true });
  }

  private dir(): string {
    if (!this.config.EXPORT_DIR) throw new Error('EXPORT_DIR is not set: this export was kept in a directory');
    return this.config.EXPORT_DIR;
  }
  private partPath(id: string, attempt: number): string {
    return join(this.dir(), `${id}.${attempt}.zip.part`);
  }
  private filePath(id: string, attempt: number): string {
    return join(this.dir(), `${id}.${attempt}.zip`);
  }
}

/** Pieces of 1 MiB, each its own INSERT, written as they fill (backpressure: write waits for the insert). */
class ChunkSink extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;

  constructor(
    private readonly pool: Pool,
    private readonly exportId: string,
    private readonly attempt: number,
  ) {
    super({ highWaterMark: CHUNK_BYTES });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < CHUNK_BYTES) return done();
    this.flushFull().then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    (rest.length > 0 ? this.insert(rest) : Promise.resolve()).then(() => done(), done);
  }

  private async flushFull(): Promise<void> {
    let all = Buffer.concat(this.pending);
    while (all.length >= CHUNK_BYTES) {
      await this.insert(all.subarray(0, CHUNK_BYTES));
      all = all.subarray(CHUNK_BYTES);
    }
    this.pending = all.length > 0 ? [Buffer.from(all)] : [];
    this.pendingBytes = all.length;
  }

  private async insert(data: Buffer): Promise<void> {
    await this.pool.query('INSERT INTO data_export_chunks (export_id, attempt, seq, data) VALUES ($1, $2, $3, $4)', [this.exportId, this.attempt, this.seq++, data]);
  }
}

async function* chunks(pool: Pool, exportId: string, attempt: number): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const { rows } = await pool.query<{ data: Buffer }>('SELECT data FROM data_export_chunks WHERE export_id = $1 AND attempt = $2 AND seq = $3', [exportId, attempt, seq]);
    if (rows.length === 0) return;
    yield rows[0].data;
  }
}
