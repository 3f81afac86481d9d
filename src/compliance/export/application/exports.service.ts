/**
 * Data exports (issue 21, portability): a person's data as one zip, asked for by the person
 * (POST /api/me/export) or by staff (POST /staff/users/{id}/export), built by a worker (BullMQ,
 * job id = export id), served to its owner for 24 hours, then deleted; or written straight to a
 * file by `tollgate compliance export`.
 *
 * Rules: one export under way per person (a partial unique index: of two requests at once one
 * wins, the other is 409 export_in_progress). Each build attempt claims the row (attempt + 1)
 * and finishes only if it is still the current attempt, so a worker killed mid-export and the
 * retry that follows leave exactly one finished zip. The whole export reads one snapshot
 * (export-snapshot.ts), and personal fields are opened with the vault for it.
 */
import { randomUUID } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { UserError } from '../../../accounts/domain/user.decider';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { CLOCK, Clock } from '../../../platform/clock';
import { PG_POOL } from '../../../platform/database/pg';
import { EVENT_STORE, EventStore } from '../../../platform/event-store/event-store.port';
import { PersonalDataVault } from '../../personal-data-vault';
import { ExportError } from '../domain/export.errors';
import { ExportContext, ExportSectionRegistry, ExportSubject } from './export-section';
import { ExportSnapshot } from './export-snapshot';
import { ExportStorage } from './export-storage';
import { ExportProgress, ZipResult, writeExportZip } from './export-zip';
import { ExportQueue } from './export-queue';
import { ExportRow, ExportsRepository } from './exports.repository';

/** A finished export is kept (and served) this long. */
export const EXPORT_TTL_MS = 24 * 60 * 60_000;
const PURGE_BATCH = 100;
const STREAM_PAGE = 500;
/** A queued or building export older than this whose job is gone is given up (failed). */
const GIVE_UP_MS = 6 * 60 * 60_000;

export interface Requester {
  /** The person's own user id, a staff user id, or cli:<user>. */
  actor: string;
}

@Injectable()
export class ExportsService {
  private readonly log = new Logger('DataExport');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: ExportsRepository,
    private readonly storage: ExportStorage,
    private readonly sections: ExportSectionRegistry,
    private readonly queue: ExportQueue,
    private readonly vault: PersonalDataVault,
  ) {}

  /** Queues an export of the person's data. user_not_found (404) for no such person; export_in_progress (409). */
  async request(userId: string, by: Requester): Promise<ExportRow> {
    const subject = await this.subjectOf(userId);
    const row = await this.repo.insert({ exportId: randomUUID(), ...subject, requestedBy: by.actor, createdAt: this.clock.now() });
    try {
      await this.queue.add(row.exportId);
    } catch (err) {
      // Not queued: the person must not be left with an export that never comes (and blocks the next).
      await this.repo.fail(row.exportId, 'the job could not be queued', this.clock.now());
      throw err;
    }
    return row;
  }

  /** An export as its owner sees it; another person's is export_not_found. `ownerId` null: staff, any export. */
  async get(exportId: string, ownerId: string | null): Promise<ExportRow> {
    const row = await this.repo.get(exportId);
    if (!row || (ownerId !== null && row.userId !== ownerId)) throw new ExportError('export_not_found', 'no such export', { exportId });
    return row;
  }

  listOf(userId: string): Promise<ExportRow[]> {
    return this.repo.listOf(userId, 20);
  }

  /** Whether a row is past its 24 hours (expired rows, and ready ones the purge has not reached yet). */
  isExpired(row: ExportRow): boolean {
    return row.status === 'expired' || (row.status === 'ready' && row.expiresAt !== null && row.expiresAt.getTime() <= this.clock.now().getTime());
  }

  /** The finished zip, streamed; export_expired (410) after its 24 hours. */
  download(row: ExportRow): Readable {
    if (this.isExpired(row)) throw new ExportError('export_expired', 'this export has expired (exports are kept 24 hours); ask for a new one', { exportId: row.exportId });
    if (row.status === 'failed') throw new ExportError('export_failed', `this export failed (${row.error ?? 'no reason recorded'}); ask for a new one`, { exportId: row.exportId });
    if (row.status !== 'ready' || !row.storage) throw new Error(`export ${row.exportId} is not ready`);
    return this.storage.open(row.storage, row.exportId, row.attempt);
  }

  /**
   * One build attempt of a queued export (the worker's job). Returns false when there was
   * nothing to build (already finished, failed or expired: a replayed job does nothing).
   */
  async build(exportId: string): Promise<boolean> {
    const kind = this.storage.kind;
    const claimed = await this.repo.claim(exportId, this.clock.now(), kind);
    if (!claimed) return false;
    const { attempt } = claimed;
    let result: ZipResult;
    try {
      const sink = await this.storage.sink(exportId, attempt);
      result = await this.writeZip(claimed, sink, exportId, (p) => this.repo.progress(exportId, attempt, p.rowsDone, p.rowsTotal));
      await this.storage.seal(kind, exportId, attempt);
    } catch (err) {
      await this.storage.removeAttempt(kind, exportId, attempt).catch(() => undefined);
      throw err;
    }
    const at = this.clock.now();
    const rows = result.manifest.files.reduce((n, f) => n + f.rows, 0);
    const won = await this.repo.finish(exportId, attempt, { sizeBytes: result.sizeBytes, sha256: result.sha256, rows, at, expiresAt: new Date(at.getTime() + EXPORT_TTL_MS) });
    // Won: the other attempts' bytes go. Lost (another attempt took over meanwhile): ours go.
    if (won) await this.storage.remove(kind, exportId, attempt).catch(() => undefined);
    else await this.storage.removeAttempt(kind, exportId, attempt).catch(() => undefined);
    if (won) this.log.log(`export ${exportId} ready: ${rows} rows, ${result.sizeBytes} bytes (attempt ${attempt})`);
    return won;
  }

  /** The last attempt failed: the export is over, the person may ask again. */
  async giveUp(exportId: string, reason: string): Promise<void> {
    if (await this.repo.fail(exportId, reason, this.clock.now())) {
      this.log.warn(`export ${exportId} failed: ${reason}`);
      const row = await this.repo.get(exportId);
      if (row?.storage) await this.storage.remove(row.storage, exportId, null).catch(() => undefined);
    }
  }

  /**
   * Deletes every export of a person now (their zips hold personal data in clear): for erasure.
   * Builds under way are stopped from finishing (their rows are failed first). Returns how many.
   */
  async deleteAllOf(userId: string): Promise<number> {
    const rows = await this.repo.listOf(userId, 1000);
    let deleted = 0;
    for (const r of rows) {
      if (r.status === 'queued' || r.status === 'building') await this.repo.fail(r.exportId, 'deleted with the person', this.clock.now());
      if (r.storage) await this.storage.remove(r.storage, r.exportId, null);
      if (r.status === 'ready') await this.repo.markExpired(r.exportId, this.clock.now());
      else await this.repo.markDeleted(r.exportId, this.clock.now());
      deleted++;
    }
    return deleted;
  }

  /** The zip of a person's data written to a sink now (the CLI), without a row or the worker. */
  async writeTo(userId: string, sink: Writable, onProgress?: (p: ExportProgress) => void): Promise<ZipResult> {
    const subject = await this.subjectOf(userId);
    return this.writeZip(subject, sink, null, onProgress);
  }

  /**
   * The purge (a scheduled job): exports past their 24 hours deleted and marked expired; bytes of
   * failed ones deleted; a queued or building export whose job Redis lost queued again (or, when
   * old or given up by BullMQ, failed). Returns how many were deleted.
   */
  async purge(): Promise<{ expired: number; requeued: number; failed: number }> {
    const out = { expired: 0, requeued: 0, failed: 0 };
    for (;;) {
      const rows = await this.repo.expiredReady(this.clock.now(), PURGE_BATCH);
      for (const r of rows) {
        if (r.storage) await this.storage.remove(r.storage, r.exportId, null);
        await this.repo.markExpired(r.exportId, this.clock.now());
        out.expired++;
      }
      if (rows.length < PURGE_BATCH) break;
    }
    for (const r of await this.repo.unfinished(PURGE_BATCH)) {
      if (r.status === 'failed') {
        if (r.storage) await this.storage.remove(r.storage, r.exportId, null);
        await this.repo.markDeleted(r.exportId, this.clock.now());
        continue;
      }
      const state = await this.queue.stateOf(r.exportId);
      if (state === 'other') continue;
      const old = this.clock.now().getTime() - r.createdAt.getTime() > GIVE_UP_MS;
      if (state === 'failed' || old) {
        await this.giveUp(r.exportId, state === 'failed' ? 'every build attempt failed' : 'its job was lost');
        out.failed++;
      } else {
        await this.queue.add(r.exportId);
        this.log.warn(`export ${r.exportId} had no job (Redis lost it?); queued again`);
        out.requeued++;
      }
    }
    return out;
  }

  /** The person and their account; user_not_found (404) when there is no such person. */
  async subjectOf(userId: string): Promise<ExportSubject> {
    // The users read model, not UsersService: the worker builds exports without the accounts
    // context (and what it brings along: its Redis clients, the command bus).
    const { rows } = await this.pool.query<{ user_id: string; account_id: string }>('SELECT user_id, account_id FROM users WHERE user_id = $1', [userId]);
    if (!rows[0]) throw new UserError('user_not_found', 'no such user');
    return { userId: rows[0].user_id, accountId: rows[0].account_id };
  }

  private async writeZip(subject: ExportSubject, sink: Writable, exportId: string | null, onProgress?: (p: ExportProgress) => Promise<void> | void): Promise<ZipResult> {
    const snapshot = await ExportSnapshot.open(this.pool);
    try {
      const ctx: ExportContext = {
        subject: { userId: subject.userId, accountId: subject.accountId },
        db: snapshot,
        open: async (sealed, sealedFor) => (sealed ? this.vault.decrypt(sealedFor ?? subject.userId, sealed) : null),
        readStream: (streamId) => this.readStream(streamId),
        now: this.clock.now(),
        usageRetentionDays: this.config.USAGE_RETENTION_DAYS,
      };
      return await writeExportZip({ exportId, sections: this.sections.all(), ctx, sink, onProgress });
    } finally {
      await snapshot.close();
    }
  }

  private async *readStream(streamId: string): AsyncGenerator<{ type: string; data: Record<string, unknown>; recordedAt: Date }> {
    for (let after = 0n; ; ) {
      const page = await this.store.readStream(streamId, { afterVersion: after, limit: STREAM_PAGE });
      for (const e of page) yield { type: e.type, data: e.data, recordedAt: e.recordedAt };
      if (page.length < STREAM_PAGE) return;
      after = page[page.length - 1].streamVersion;
    }
  }
}
