/**
 * Erasure, the right to be forgotten (issue 21): `DELETE /api/me`, `POST /staff/users/{id}/erase`
 * and `tollgate compliance erase` all run erase() here. Each step is recorded on the person's
 * `erasure-<userId>` stream once done (domain/erasure.ts), and every step is idempotent, so an
 * erasure interrupted half-way is finished by running it again, and two at once (serialised by
 * a per-person lock) do it once.
 *
 * 1. ErasureStarted (staff and CLI erasures are audited first, reason sealed for the person).
 * 2. Every API key and management key revoked through the keys' own revoke (the revocation is
 *    broadcast: every instance refuses the key on its next request).
 * 3. Unused credit: requests in flight are waited for (bounded), then what is available beyond
 *    what refund requests will return is forfeited (CreditsForfeited: available → forfeited),
 *    and a refund request is filed for every purchase still in its refund window, sealed with
 *    the person's key while it exists; staff approve or decline them as any other.
 * 4. Sessions ended, sign-in links and the low-balance alert deleted, the keyed hash of the
 *    address kept in erased_addresses and of each sign-in identity in erased_identities (no free
 *    requests for a new sign-up with either, even one that brings no address), the person
 *    erased on their stream (UserErased: identities, passkeys, password, roles and the users row
 *    gone), their address and identities released for new sign-ups, and their data key
 *    destroyed: every sealed field in every event and table is noise from then on. Other
 *    parts' own copies (exports, requests, notices) are forgotten by their ErasureHooks first.
 * Amounts and ids stay, so `ledger verify` and the trial balance are unchanged.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { UsersService } from '../../../accounts/application/users.service';
import { release } from '../../../accounts/application/claims';
import { UserError } from '../../../accounts/domain/user.decider';
import { userStream } from '../../../accounts/domain/user.events';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { ManagementKeysService } from '../../../keys/management/management-keys.service';
import { KeysService } from '../../../keys/application/keys.service';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventIdConflictError, EventStore, LOG_START } from '../../../platform/event-store/event-store.port';
import { deterministicId, isUuid } from '../../../shared/ids';
import { PersonalDataVault } from '../../personal-data-vault';
import { ErasureHooks } from '../erasure-hooks';
import {
  Erasure,
  ErasureError,
  ERASURE_STREAM_PREFIX,
  ErasureEvent,
  ErasureStep,
  ErasureVia,
  REAUTH_WINDOW_MS,
  erasureStream,
  foldErasure,
  forfeitIdOf,
  nextStep,
} from '../domain/erasure';
import { ErasureCredit } from './erasure-credit';
import { ErasureRepository } from './erasure.repository';

export interface EraseInput {
  userId: string;
  /** `user:<id>` (self-service), a staff member's user id, or `cli:<name>`. */
  actor: string;
  via: ErasureVia;
  /** Why (staff and CLI; recorded in the audit trail). */
  reason: string | null;
}

export interface EraseOptions {
  /** Called as each step starts (the CLI's progress). */
  onStep?: (step: ErasureStep, index: number) => void;
  /** How long to wait for requests in flight before settling the credit (default 30 s). */
  holdWaitMs?: number;
  /** How long to wait for another erasure of the same person to finish (default 60 s). */
  lockWaitMs?: number;
}

export interface ErasureOutcome {
  erasure: Erasure;
  /** True when the person had been erased before this call: nothing was done now. */
  alreadyErased: boolean;
}

export const ERASURE_STEPS: readonly ErasureStep[] = ['revoke_keys', 'settle_credit', 'complete'];

@Injectable()
export class ErasureService {
  private readonly log = new Logger('Erasure');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly repo: ErasureRepository,
    private readonly users: UsersService,
    private readonly keys: KeysService,
    private readonly managementKeys: ManagementKeysService,
    private readonly credit: ErasureCredit,
    private readonly vault: PersonalDataVault,
    private readonly audit: StaffAudit,
    private readonly hooks: ErasureHooks,
  ) {}

  /** The person with this address, for `--email`; user_not_found (saying when, if they were erased) otherwise. */
  async userIdByEmail(email: string): Promise<string> {
    const user = await this.users.findByEmail(email);
    if (user) return user.userId;
    const erasedAt = await this.repo.addressErasedAt(this.users.emailHash(email));
    throw new UserError(
      'user_not_found',
      erasedAt ? `no person has this address now: the person who had it was erased on ${erasedAt.toISOString()}` : 'no person has this address',
    );
  }

  /** Whether a session signed in recently enough to erase its person (sessions are never extended). */
  async checkRecentSignIn(sessionId: string | null): Promise<void> {
    const at = sessionId ? await this.repo.sessionSignedInAt(sessionId) : null;
    if (!at || this.clock.now().getTime() - at.getTime() > REAUTH_WINDOW_MS) {
      throw new ErasureError(
        'reauthentication_required',
        `erasing your account needs a sign-in within the last ${REAUTH_WINDOW_MS / 60_000} minutes: sign in again, then retry`,
      );
    }
  }

  /** The person's erasure as its stream tells it, or null. */
  async get(userId: string): Promise<Erasure | null> {
    return foldErasure(await this.store.readStream(erasureStream(userId)));
  }

  /** `ledger replay`: every erasures row written again from its stream. */
  async rebuild(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    const ids = new Set<string>();
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: 5000, streamPrefixes: [ERASURE_STREAM_PREFIX] });
      if (page.length === 0) break;
      for (const ev of page) ids.add(ev.streamId.slice(ERASURE_STREAM_PREFIX.length));
      after = page[page.length - 1].position;
    }
    let rows = 0;
    let repaired = 0;
    for (const userId of ids) {
      const e = await this.get(userId);
      if (!e) continue;
      const before = await this.repo.find(userId);
      await this.repo.write(e);
      rows++;
      if (!before || before.status !== (e.completedAt ? 'completed' : 'started')) repaired++;
      onProgress?.(rows);
    }
    return { rows, repaired };
  }

  async erase(input: EraseInput, opts: EraseOptions = {}): Promise<ErasureOutcome> {
    if (!isUuid(input.userId)) throw new UserError('user_not_found', `no person ${input.userId}`);
    const userId = input.userId.toLowerCase();
    return this.repo.exclusively(userId, opts.lockWaitMs ?? 60_000, async () => {
      let e = await this.get(userId);
      if (e?.completedAt) return { erasure: e, alreadyErased: true };
      if (!e) e = await this.start({ ...input, userId });
      for (let step = nextStep(e); step !== 'done'; step = nextStep(e)) {
        opts.onStep?.(step, ERASURE_STEPS.indexOf(step));
        e = await this.run(step, e, input.actor, opts);
        await this.repo.write(e);
      }
      this.log.log(`person ${userId} erased (erasure ${e.erasureId})`);
      return { erasure: e, alreadyErased: false };
    });
  }

  private async start(input: EraseInput): Promise<Erasure> {
    const { state } = await this.users.load(input.userId);
    if (!state.registered || state.erased || !state.accountId) throw new UserError('user_not_found', `no person ${input.userId}`);
    // Staff erasures are audited before anything is done (the reason sealed for the person: it
    // is gone with them, as free text about a person should be).
    const auditId =
      input.via === 'self'
        ? null
        : (await this.audit.record({ actor: input.actor, action: 'users.erase', subjectUserId: input.userId, reason: input.reason, details: { via: input.via } })).auditId;
    const e = await this.append(input.userId, 0n, {
      type: 'ErasureStarted',
      data: {
        erasureId: deterministicId(`erasure:${input.userId}`),
        userId: input.userId,
        accountId: state.accountId,
        actor: input.actor,
        via: input.via,
        at: this.clock.now().toISOString(),
        auditId,
      },
    });
    await this.repo.write(e);
    return e;
  }

  private async run(step: ErasureStep, e: Erasure, actor: string, opts: EraseOptions): Promise<Erasure> {
    const version = await this.store.streamVersion(erasureStream(e.userId));
    const at = this.clock.now().toISOString();
    switch (step) {
      case 'revoke_keys': {
        const revoked = await this.revokeKeys(e, actor);
        return this.append(e.userId, version, { type: 'KeysRevoked', data: { ...revoked, at } });
      }
      case 'settle_credit': {
        const credit = await this.credit.settle(e, actor, opts.holdWaitMs ?? 30_000);
        return this.append(e.userId, version, {
          type: 'CreditSettled',
          data: { forfeited: credit.forfeited.toString(), forfeitId: credit.forfeited > 0n ? forfeitIdOf(e) : null, refundRequests: credit.refundRequests, at },
        });
      }
      case 'complete': {
        const sessionsEnded = await this.forget(e, actor);
        return this.append(e.userId, version, { type: 'ErasureCompleted', data: { at, sessionsEnded } });
      }
      case 'done':
        return e;
    }
  }

  private async revokeKeys(e: Erasure, actor: string): Promise<{ apiKeys: string[]; managementKeys: string[] }> {
    const apiKeys = await this.repo.apiKeyIds(e.accountId);
    for (const keyId of apiKeys) await this.keys.revoke({ keyId, reason: 'the account holder was erased', actor });
    const managementKeys = await this.repo.managementKeyIds(e.accountId);
    for (const keyId of managementKeys) await this.managementKeys.revoke({ accountId: e.accountId, keyId, actor });
    return { apiKeys, managementKeys };
  }

  /** Step 4: everything of the person that is not an amount or an id. */
  private async forget(e: Erasure, actor: string): Promise<number> {
    const now = this.clock.now();
    const claims = await this.claimsOf(e.userId);
    for (const emailHash of claims.emails) {
      await this.repo.recordErasedAddress(emailHash, now);
      await this.repo.deleteSignInLinks(emailHash);
    }
    // Before the identities are released below: a sign-up through one of them finds it recorded.
    for (const subjectHash of claims.identities) await this.repo.recordErasedIdentity(subjectHash, now);
    await this.repo.deleteLowBalanceAlert(e.accountId);
    let sessions = await this.repo.endSessions(e.userId);
    await this.users.execute(e.userId, { type: 'EraseUser', data: { erasureId: e.erasureId, at: now.toISOString() } }, actor);
    // A sign-in that raced the erasure: its session goes too (and no row lets it in anyway).
    sessions += await this.repo.endSessions(e.userId);
    const meta = { occurredAt: now.toISOString(), actor, causationId: erasureStream(e.userId) };
    for (const emailHash of claims.emails) await release(this.store, 'email', emailHash, e.userId, meta);
    for (const subjectHash of claims.identities) await release(this.store, 'identity', subjectHash, e.userId, meta);
    await this.hooks.forgetEverywhere({ userId: e.userId, accountId: e.accountId });
    await this.vault.erase(e.userId);
    return sessions;
  }

  /**
   * The keyed hashes the person claimed, from their stream's events themselves (the folded state
   * forgets them at UserErased, and a run interrupted after it must still release them).
   */
  private async claimsOf(userId: string): Promise<{ emails: string[]; identities: string[] }> {
    const emails = new Set<string>();
    const identities = new Set<string>();
    for (const ev of await this.store.readStream(userStream(userId))) {
      if (ev.type === 'UserRegistered' && typeof ev.data.emailHash === 'string') emails.add(ev.data.emailHash);
      if (ev.type === 'IdentityLinked' && typeof ev.data.subjectHash === 'string') identities.add(ev.data.subjectHash);
    }
    return { emails: [...emails], identities: [...identities] };
  }

  private async append(userId: string, version: bigint, event: ErasureEvent): Promise<Erasure> {
    const stream = erasureStream(userId);
    try {
      await this.store.append(
        stream,
        [{ id: deterministicId(`${stream}:${event.type}`), type: event.type, data: { ...event.data }, metadata: { occurredAt: this.clock.now().toISOString() } }],
        { expectedVersion: version },
      );
    } catch (err) {
      // The step was recorded already (by a run that died before its answer): it stands.
      if (!(err instanceof EventIdConflictError)) throw err;
    }
    const e = await this.get(userId);
    if (!e) throw new ErasureError('erasure_incomplete', `the erasure of ${userId} was not recorded`);
    return e;
  }
}

