/**
 * Data-subject requests: opened by the person (account API) or by compliance staff for them
 * (staff API, CLI), listed with their due dates, closed with what was done or declined, and
 * restriction of processing applied and lifted. Every staff step is recorded with StaffAudit
 * before it is carried out.
 *
 * Each step is load → decide → append at the version read; a step that loses a race re-reads and
 * decides again (so of two closes at once, one is recorded and the other is told the request is
 * closed). Restriction touches two streams, in an order that a retry always completes:
 * - applying: the request's SubjectRequestRestrictionApplied first, then the ledger's
 *   RestrictAccount (same restriction id, so applying again after a crash in between finishes it);
 * - lifting: the ledger's LiftRestriction first, then SubjectRequestRestrictionLifted (lifting
 *   again after a crash finishes it; the ledger answers a repeated lift as a retry).
 * The account is never left restricted with no request saying so, and a request that says a
 * restriction is lifted has it lifted on the ledger. A restrict and a lift of one request at
 * once (two staff members, two instances) could interleave as: the lift finds the restriction
 * not yet on the ledger (nothing to lift there) and records it lifted, then the restrict puts it
 * on the ledger, stuck with no request saying so. So each side checks after its last step:
 * the restrict re-reads the request after its ledger step and lifts the restriction there if the
 * request no longer has it in force; the lift re-reads the ledger after recording and lifts any
 * of the request's restrictions still in force. Whichever runs last sees the other's writes.
 * A lift also repairs what a crash left (a restriction of this request in force on the ledger
 * that the request does not show): it is lifted, not answered 409.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { UsersService } from '../../../accounts/application/users.service';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { ExecuteAccountCommand } from '../../../ledger/application/execute-account.command';
import { LedgerService } from '../../../ledger/application/ledger.service';
import { LedgerError } from '../../../ledger/domain/errors';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventIdConflictError, EventStore, NewEvent, VersionConflictError } from '../../../platform/event-store/event-store.port';
import { deterministicId } from '../../../shared/ids';
import { PersonalDataVault } from '../../personal-data-vault';
import {
  SUBJECT_REQUEST_PREFIX,
  SubjectRequest,
  SubjectRequestCommand,
  SubjectRequestError,
  SubjectRequestEvent,
  SubjectRequestKind,
  SubjectRequestOutcome,
  decideSubjectRequest,
  evolveSubjectRequest,
  foldSubjectRequest,
  restrictionIdOf,
  subjectRequestStream,
} from '../domain/subject-request';
import { SubjectRequestCursor, SubjectRequestFilter, SubjectRequestRow, SubjectRequestsRepository } from './subject-requests.repository';
import { rebuildRowsFromStreams } from '../../../platform/event-store/rebuild-rows';

export interface NewSubjectRequest {
  userId: string;
  kind: SubjectRequestKind;
  details: string | null;
  /** 'self' for the person; a staff actor (user id or cli:<name>) recording it for them. */
  actor: string;
  /** Staff only: why they record it (the audit trail's reason). */
  reason?: string | null;
}

/** A request as lists show it: a row or a folded stream, plus the flags computed at `now`. */
export type AnyRequest = SubjectRequest | SubjectRequestRow;

const ATTEMPTS = 5;

@Injectable()
export class SubjectRequestsService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly commands: CommandBus,
    private readonly users: UsersService,
    private readonly rows: SubjectRequestsRepository,
    private readonly audit: StaffAudit,
    private readonly vault: PersonalDataVault,
    private readonly ledgerState: LedgerService,
  ) {}

  /** The instant due dates and "overdue" are computed at. */
  now(): Date {
    return this.clock.now();
  }

  async open(input: NewSubjectRequest): Promise<SubjectRequest> {
    const user = await this.users.get(input.userId); // user_not_found (404) for an unknown person
    const requestId = randomUUID();
    if (input.actor !== 'self') {
      await this.audit.record({
        actor: input.actor,
        action: 'compliance.requests.open',
        subjectUserId: user.userId,
        reason: input.reason ?? null,
        details: { requestId, kind: input.kind },
      });
    }
    const details = input.details === null ? null : await this.vault.encrypt(user.userId, input.details);
    const command: SubjectRequestCommand = { type: 'Open', data: { requestId, userId: user.userId, accountId: user.accountId, kind: input.kind, details, openedBy: input.actor } };
    return this.append(null, decideSubjectRequest(command, null, this.clock.now()), 'opened');
  }

  async get(requestId: string): Promise<SubjectRequest> {
    const r = foldSubjectRequest(await this.store.readStream(subjectRequestStream(requestId)));
    if (!r) throw notFound();
    return r;
  }

  /** The person's own request; another person's is not found (404), as one that does not exist. */
  async getFor(userId: string, requestId: string): Promise<SubjectRequest> {
    const r = await this.get(requestId);
    if (r.userId !== userId) throw notFound();
    return r;
  }

  list(filter: SubjectRequestFilter, limit: number, cursor: SubjectRequestCursor | null): Promise<SubjectRequestRow[]> {
    return this.rows.list(filter, limit, cursor);
  }

  openCounts(): Promise<{ open: number; overdue: number }> {
    return this.rows.openCounts(this.clock.now());
  }

  /** The person's details and the closing note in clear; null when absent or the person is erased. */
  async opened(r: AnyRequest): Promise<{ details: string | null; note: string | null }> {
    const [details, note] = await Promise.all([
      r.sealedDetails === null ? null : this.vault.decrypt(r.userId, r.sealedDetails),
      r.sealedNote === null ? null : this.vault.decrypt(r.userId, r.sealedNote),
    ]);
    return { details, note };
  }

  async close(requestId: string, d: { outcome: SubjectRequestOutcome; note: string; actor: string }): Promise<SubjectRequest> {
    let r = await this.get(requestId);
    // Refused before anything is recorded when it cannot succeed (closed already, a wrong outcome);
    // `restricted` applies the restriction first when it is not in force yet.
    const willRestrict = d.outcome === 'restricted' && !r.restrictionId;
    decideSubjectRequest({ type: 'Close', data: { outcome: d.outcome, note: '', actor: d.actor } }, willRestrict ? { ...r, restrictionId: 'pending' } : r, this.clock.now());
    await this.audit.record({ actor: d.actor, action: 'compliance.requests.close', subjectUserId: r.userId, reason: d.note, details: { requestId, kind: r.kind, outcome: d.outcome } });
    if (d.outcome === 'restricted' && !r.restrictionId) r = await this.applyRestriction(r, d.actor);
    const note = await this.vault.encrypt(r.userId, d.note);
    return this.step(requestId, { type: 'Close', data: { outcome: d.outcome, note, actor: d.actor } }, 'closed');
  }

  async decline(requestId: string, d: { reason: string; actor: string }): Promise<SubjectRequest> {
    const r = await this.get(requestId);
    decideSubjectRequest({ type: 'Decline', data: { reason: '', actor: d.actor } }, r, this.clock.now());
    await this.audit.record({ actor: d.actor, action: 'compliance.requests.decline', subjectUserId: r.userId, reason: d.reason, details: { requestId, kind: r.kind } });
    const reason = await this.vault.encrypt(r.userId, d.reason);
    return this.step(requestId, { type: 'Decline', data: { reason, actor: d.actor } }, 'closed');
  }

  /** Restricts processing of the person's account. Applying it again is one restriction (and finishes one a crash interrupted). */
  async restrict(requestId: string, d: { reason: string; actor: string }): Promise<SubjectRequest> {
    const r = await this.get(requestId);
    if (!r.restrictionId) decideSubjectRequest({ type: 'ApplyRestriction', data: { actor: d.actor } }, r, this.clock.now()); // 409 when closed
    await this.audit.record({ actor: d.actor, action: 'compliance.requests.restrict', subjectUserId: r.userId, reason: d.reason, details: { requestId, kind: r.kind } });
    return this.applyRestriction(r, d.actor);
  }

  /** Lifts the request's restriction: the proxy serves the account again. 409 restriction_not_active when none is in force. */
  async lift(requestId: string, d: { reason: string; actor: string }): Promise<SubjectRequest> {
    let r = await this.get(requestId);
    if (!r.restrictionId && (await this.strayOnLedger(r)).length === 0) throw notActive(requestId);
    await this.audit.record({ actor: d.actor, action: 'compliance.requests.lift', subjectUserId: r.userId, reason: d.reason, details: { requestId, kind: r.kind } });
    for (let attempt = 0; r.restrictionId; attempt++) {
      if (attempt >= ATTEMPTS) throw busy(requestId);
      const restrictionId = r.restrictionId;
      await this.liftOnLedger(r, restrictionId, d.actor);
      const events = decideSubjectRequest({ type: 'LiftRestriction', data: { actor: d.actor } }, r, this.clock.now());
      const next = await this.tryAppend(r, events, `lifted:${restrictionId}`);
      r = next ?? (await this.get(requestId)); // null: lifted (or restricted again) meanwhile by another call
      if (next) break;
    }
    // After the request says lifted: a restrict racing this one may have reached the ledger late.
    for (const id of await this.strayOnLedger(r)) await this.liftOnLedger(r, id, d.actor);
    return r;
  }

  /**
   * Rewrites every row from its stream (`tollgate ledger replay` runs it). A row whose stream is
   * empty is removed (there is none today: the row is written after the event).
   */
  rebuild(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    return rebuildRowsFromStreams(this.store, SUBJECT_REQUEST_PREFIX, this.rows, foldSubjectRequest, onProgress);
  }

  /** The request's restriction recorded (if it is not yet), then made effective on the ledger. */
  private async applyRestriction(r: SubjectRequest, actor: string): Promise<SubjectRequest> {
    for (let attempt = 0; !r.restrictionId; attempt++) {
      if (attempt >= ATTEMPTS) throw busy(r.requestId);
      const events = decideSubjectRequest({ type: 'ApplyRestriction', data: { actor } }, r, this.clock.now());
      const restrictionId = (events[0] as Extract<SubjectRequestEvent, { type: 'SubjectRequestRestrictionApplied' }>).data.restrictionId;
      r = (await this.tryAppend(r, events, `restricted:${restrictionId}`)) ?? (await this.get(r.requestId));
    }
    const restrictionId = r.restrictionId;
    try {
      await this.ledger(r, { type: 'RestrictAccount', data: { restrictionId, reason: `data-subject request ${r.requestId}: processing restricted` } }, actor);
    } catch (err) {
      // Lifted on the ledger already by a lift that ran meanwhile: nothing to restrict, the check below agrees.
      if (!(err instanceof LedgerError && err.code === 'idempotency_conflict')) throw err;
    }
    // A lift racing this one may have recorded the request lifted before this reached the ledger.
    const now = await this.get(r.requestId);
    if (now.restrictionId !== restrictionId) await this.liftOnLedger(now, restrictionId, actor);
    return now;
  }

  /** Lifts one of the request's restrictions on the ledger; one that is not there (never applied, or lifted) is no error. */
  private async liftOnLedger(r: SubjectRequest, restrictionId: string, actor: string): Promise<void> {
    try {
      await this.ledger(r, { type: 'LiftRestriction', data: { restrictionId, reason: `data-subject request ${r.requestId}: restriction lifted` } }, actor);
    } catch (err) {
      // Recorded on the request but never reached the ledger (a crash, or a restrict still on its way): nothing to lift there.
      if (!(err instanceof LedgerError && err.code === 'restriction_not_active')) throw err;
    }
  }

  /** The request's restrictions in force on the ledger (read afresh) that the request does not show in force. */
  private async strayOnLedger(r: SubjectRequest): Promise<string[]> {
    const { state } = await this.ledgerState.load(r.accountId);
    const ids: string[] = [];
    for (let n = 0; n < r.restrictionsApplied; n++) {
      const id = restrictionIdOf(r.requestId, n);
      if (id !== r.restrictionId && state.restrictions.has(id)) ids.push(id);
    }
    return ids;
  }

  /** A decision at the version read, re-decided on a lost race (the loser sees the winner's state). */
  private async step(requestId: string, command: SubjectRequestCommand, key: string): Promise<SubjectRequest> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const r = await this.get(requestId);
      const events = decideSubjectRequest(command, r, this.clock.now());
      if (events.length === 0) return r;
      const next = await this.tryAppend(r, events, key);
      if (next) return next;
    }
    throw busy(requestId);
  }

  /** Null when another step was appended first. */
  private async tryAppend(r: SubjectRequest, events: SubjectRequestEvent[], key: string): Promise<SubjectRequest | null> {
    try {
      return await this.append(r, events, key);
    } catch (err) {
      // Another step at the same version: a version conflict, or (the same step keyed at the same
      // version, with other data) an event id conflict. Either way the loser re-reads.
      if (err instanceof VersionConflictError || err instanceof EventIdConflictError) return null;
      throw err;
    }
  }

  private async append(r: SubjectRequest | null, events: SubjectRequestEvent[], key: string): Promise<SubjectRequest> {
    const requestId = r?.requestId ?? events[0].data.requestId;
    const at = this.clock.now().toISOString();
    const batch: NewEvent[] = events.map((e, i) => ({
      // The version is part of the key: the same step at the same version is the same event.
      id: deterministicId(`dsr:${requestId}:${r?.version ?? 0n}:${key}#${i}`),
      type: e.type,
      data: { ...e.data },
      metadata: { occurredAt: at, causationId: subjectRequestStream(requestId) },
    }));
    await this.store.append(subjectRequestStream(requestId), batch, { expectedVersion: r ? r.version : 'no_stream' });
    let next = r;
    for (const e of events) next = evolveSubjectRequest(next, e);
    const folded = next as SubjectRequest;
    await this.rows.write(folded);
    return folded;
  }

  private async ledger(r: SubjectRequest, command: { type: 'RestrictAccount' | 'LiftRestriction'; data: { restrictionId: string; reason: string } }, actor: string): Promise<void> {
    await this.commands.execute(new ExecuteAccountCommand(r.accountId, command, { actor, causationId: subjectRequestStream(r.requestId) }));
  }
}

const notFound = () => new SubjectRequestError('subject_request_not_found', 'no such data-subject request');
const notActive = (id: string) => new SubjectRequestError('restriction_not_active', `data-subject request ${id} has no restriction in force`);
const busy = (id: string) => new SubjectRequestError('subject_request_busy', `data-subject request ${id} kept changing under this step; try again`);
