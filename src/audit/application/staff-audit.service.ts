/**
 * StaffAudit: the one way any context records what staff did or looked at. Call record()
 * before the action's answer leaves (for a read: after loading, before answering; for a
 * write: before carrying it out, so nothing staff do escapes the trail; a write that then
 * fails leaves its attempt recorded). If the record cannot be written, the caller fails too.
 *
 * record() appends the event (see domain/audit.events.ts for streams and sealing) and then
 * writes its staff_audit row; list() first repairs rows a crash left missing (catchUp).
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, Clock } from '../../platform/clock';
import { EVENT_STORE, EventStore, LOG_START } from '../../platform/event-store/event-store.port';
import { PersonalDataVault, VaultError } from '../../compliance/personal-data-vault';
import { isUuid } from '../../shared/ids';
import { AuditError } from '../domain/audit.errors';
import {
  AUDIT_STREAM_PREFIX,
  AuditDetails,
  AuditEntryInput,
  StaffActionRecordedData,
  auditStream,
  isAuditEvent,
  staffActionRecorded,
  unscopedReasonKey,
  validateAuditEntry,
} from '../domain/audit.events';
import { AuditFilter, AuditPlace, AuditRow, StaffAuditRepository } from './staff-audit.repository';

/** An entry as staff tools show it: the reason opened (null when there was none or it was erased). */
export interface AuditEntry {
  auditId: string;
  at: Date;
  actor: string;
  action: string;
  subjectUserId: string | null;
  reason: string | null;
  /** True when a reason was given but its key has been destroyed (the person was erased). */
  reasonErased: boolean;
  details: AuditDetails;
}

export interface RecordInput extends AuditEntryInput {
  /** Chosen by a caller that may retry: a second record() with the same id records nothing new. */
  auditId?: string;
}

const PAGE = 1000;

@Injectable()
export class StaffAudit {
  private readonly log = new Logger('StaffAudit');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly vault: PersonalDataVault,
    private readonly repo: StaffAuditRepository,
  ) {}

  async record(input: RecordInput): Promise<AuditEntry> {
    const entry = validateAuditEntry(input);
    if (input.auditId !== undefined && !isUuid(input.auditId)) {
      throw new AuditError('invalid_audit_entry', 'audit entry: auditId must be a uuid', { field: 'auditId' });
    }
    const auditId = input.auditId?.toLowerCase() ?? randomUUID();
    if (input.auditId !== undefined) {
      // A retry: the first attempt's event stands (its time and sealed reason differ from ours).
      const prior = await this.store.getEvent(auditId);
      if (prior && isAuditEvent(prior.type, prior.data)) {
        await this.repo.insert(prior.data, prior);
        return this.open(prior.data);
      }
    }
    const at = this.clock.now();
    const sealedReason = entry.reason === null ? null : await this.seal(entry.reason, entry.subjectUserId, at);
    const event = staffActionRecorded(entry, { auditId, at, sealedReason });
    const stream = auditStream(entry.subjectUserId, at);
    // Entries are facts, not decisions on a state: any version will do, and concurrent
    // records about one person simply follow one another.
    const appended = await this.store.append(stream, [{ id: auditId, type: event.type, data: { ...event.data }, metadata: { occurredAt: event.data.at, actor: entry.actor } }], {
      expectedVersion: 'any',
    });
    await this.repo.insert(event.data, { streamId: stream, streamVersion: appended.nextVersion });
    return { ...this.view(event.data), reason: entry.reason };
  }

  /** Entries matching the filter, oldest first (see StaffAuditRepository.list). */
  async list(filter: AuditFilter): Promise<AuditEntry[]> {
    await this.catchUp();
    const rows = await this.repo.list(filter);
    return Promise.all(rows.map((r) => this.openRow(r)));
  }

  /** Every entry about a person, from their audit stream (the record itself, not the read model). */
  async aboutSubject(subjectUserId: string): Promise<AuditEntry[]> {
    if (!isUuid(subjectUserId)) throw new AuditError('invalid_audit_entry', 'a subject must be a user id', { field: 'subjectUserId' });
    const entries: AuditEntry[] = [];
    const stream = auditStream(subjectUserId, this.clock.now());
    for (let after = 0n; ; ) {
      const page = await this.store.readStream(stream, { afterVersion: after, limit: PAGE });
      for (const e of page) if (isAuditEvent(e.type, e.data)) entries.push(await this.open(e.data));
      if (page.length < PAGE) return entries;
      after = page[page.length - 1].streamVersion;
    }
  }

  /**
   * Writes the rows a crash left missing (an event appended, its row not yet written). Cheap
   * when nothing is missing: two counts. Returns how many rows it wrote.
   */
  async catchUp(): Promise<number> {
    const [events, rows] = await Promise.all([this.store.countEvents(AUDIT_STREAM_PREFIX), this.repo.count()]);
    if (rows >= events) return 0;
    let written = 0;
    await this.eachEvent(async (data, place) => {
      if (await this.repo.insert(data, place)) written++;
    });
    if (written > 0) this.log.warn(`staff_audit was missing ${written} rows of the audit log; written now`);
    return written;
  }

  /**
   * `ledger replay` for staff_audit: every row written again from the log, rows no event backs
   * removed. Row by row: listing keeps working throughout.
   */
  async rebuild(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    const seen = new Set<string>();
    const result = { rows: 0, repaired: 0 };
    await this.eachEvent(async (data, place) => {
      seen.add(data.auditId);
      if (await this.repo.rewrite(data, place)) result.repaired++;
      result.rows++;
      onProgress?.(result.rows);
    });
    for (let after: string | null = null; ; ) {
      const ids = await this.repo.idsAfter(after, PAGE);
      for (const id of ids) {
        // The log is read up to what every earlier transaction committed: an entry recorded a
        // moment ago may not be in it yet, and its row must stay.
        if (seen.has(id) || (await this.store.getEvent(id))) continue;
        if (await this.repo.remove(id)) result.repaired++;
      }
      if (ids.length < PAGE) break;
      after = ids[ids.length - 1];
    }
    // Rows of entries recorded while the log was being read.
    result.rows += await this.catchUp();
    return result;
  }

  private async eachEvent(fn: (data: StaffActionRecordedData, place: AuditPlace) => Promise<void>): Promise<void> {
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: PAGE, streamPrefixes: [AUDIT_STREAM_PREFIX] });
      if (page.length === 0) return;
      for (const e of page) if (isAuditEvent(e.type, e.data)) await fn(e.data, e);
      after = page[page.length - 1].position;
    }
  }

  /** Sealed with the subject's key; with the month's key when there is no subject, or the subject was erased. */
  private async seal(reason: string, subjectUserId: string | null, at: Date): Promise<{ value: string; sealedFor: string }> {
    if (subjectUserId) {
      try {
        return { value: await this.vault.encrypt(subjectUserId, reason), sealedFor: subjectUserId };
      } catch (err) {
        if (!(err instanceof VaultError && err.code === 'person_erased')) throw err;
      }
    }
    const sealedFor = unscopedReasonKey(at);
    return { value: await this.vault.encrypt(sealedFor, reason), sealedFor };
  }

  private view(d: StaffActionRecordedData): AuditEntry {
    return {
      auditId: d.auditId,
      at: new Date(d.at),
      actor: d.actor,
      action: d.action,
      subjectUserId: d.subjectUserId,
      reason: null,
      reasonErased: false,
      details: d.details,
    };
  }

  private async open(d: StaffActionRecordedData): Promise<AuditEntry> {
    return this.withReason(this.view(d), d.reason, d.reasonSealedFor);
  }

  private async openRow(r: AuditRow): Promise<AuditEntry> {
    const entry: AuditEntry = {
      auditId: r.auditId,
      at: r.occurredAt,
      actor: r.actor,
      action: r.action,
      subjectUserId: r.subjectUserId,
      reason: null,
      reasonErased: false,
      details: r.details,
    };
    return this.withReason(entry, r.reason, r.reasonSealedFor);
  }

  private async withReason(entry: AuditEntry, sealed: string | null, sealedFor: string | null): Promise<AuditEntry> {
    if (sealed === null || sealedFor === null) return entry;
    const reason = await this.vault.decrypt(sealedFor, sealed);
    return { ...entry, reason, reasonErased: reason === null };
  }
}
