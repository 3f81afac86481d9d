/**
 * People: signing up and in (by a proven email address or by a provider's identity), and every
 * command on a person's `user-<id>` stream (load → decide → append → users row, through
 * decideAndAppend). Personal fields are sealed with the person's vault key before they reach
 * the decider; addresses and subjects are found by keyed hashes (claims.ts), never stored in
 * clear.
 *
 * Signing up is three idempotent steps, in an order that a crash at any point leaves
 * resumable by the next attempt: claim the address (or identity) for a new id → open the
 * credit account (its id derived from the user id, opening twice is a no-op) → register the
 * person. A registered person therefore always has an account.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { CLOCK, Clock } from '../../platform/clock';
import { EVENT_STORE, EventStore, LOG_START, NewEvent } from '../../platform/event-store/event-store.port';
import { decideAndAppend } from '../../platform/event-store/decide-and-append';
import { SecretBox } from '../../platform/crypto/secret-box';
import { PersonalDataVault } from '../../compliance/personal-data-vault';
import { DomainError } from '../../shared/domain-error';
import { deterministicId } from '../../shared/ids';
import { ExecuteAccountCommand } from '../../ledger/application/execute-account.command';
import { SignInMethod, StaffRole, USER_EVENT_TYPES, USER_STREAM_PREFIX, UserEvent, userIdOfStream, userStream } from '../domain/user.events';
import { UserCommand, UserError, UserState, decideUser, evolveUser, initialUserState } from '../domain/user.decider';
import { claim, ownerOf } from './claims';
import { UserRow, UsersRepository } from './users.repository';

export class EmailTakenError extends DomainError<'email_taken'> {
  override readonly name = 'EmailTakenError';

  constructor() {
    super('email_taken', 'a person with this email address exists already');
  }
}

/** A person as the account API and staff see them: personal fields opened (null once erased). */
export interface UserRecord {
  userId: string;
  accountId: string;
  email: string | null;
  displayName: string | null;
  roles: StaffRole[];
  createdAt: Date;
}

export interface ExternalIdentity {
  /** google, github, or a configured OIDC provider's name. */
  provider: string;
  /** The provider's immutable id of the person (OIDC `sub`, GitHub's numeric id). */
  subject: string;
  email: string | null;
  /** Whether the provider vouches that the person controls `email`. */
  emailVerified: boolean;
  displayName?: string | null;
}

const KNOWN_TYPES = new Set<string>(USER_EVENT_TYPES);
const MAX_ATTEMPTS = 10;

/** Trimmed and lower-cased: the form an address is compared and hashed in. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** The user's account id, derived, so a sign-up that crashed after opening it resumes with the same one. */
export const accountIdOf = (userId: string): string => deterministicId(`user:${userId}:account`);

@Injectable()
export class UsersService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly repo: UsersRepository,
    private readonly vault: PersonalDataVault,
    private readonly secrets: SecretBox,
    private readonly commands: CommandBus,
  ) {}

  emailHash(email: string): string {
    return this.secrets.lookupHash('email', normaliseEmail(email));
  }

  identityHash(provider: string, subject: string): string {
    return this.secrets.lookupHash('identity', `${provider}:${subject}`);
  }

  sealFor(userId: string, plaintext: string): Promise<string> {
    return this.vault.encrypt(userId, plaintext);
  }

  openFor(userId: string, sealed: string): Promise<string | null> {
    return this.vault.decrypt(userId, sealed);
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = await this.repo.findByEmailHash(this.emailHash(email));
    return row ? this.record(row) : null;
  }

  /** The account's person (its first user), or null for an account nobody signs in to (made by the CLI). */
  async findByAccount(accountId: string): Promise<UserRecord | null> {
    const row = await this.repo.findByAccount(accountId);
    return row ? this.record(row) : null;
  }

  async get(userId: string): Promise<UserRecord> {
    const row = await this.repo.findById(userId);
    if (!row) throw new UserError('user_not_found', 'no such user');
    return this.record(row);
  }

  /**
   * The person whose address this is has proven it (a magic link used, a verified password
   * sign-up): signs them in, registering them and opening their account first if they are new.
   */
  async signUpOrInByEmail(email: string, method: SignInMethod): Promise<{ user: UserRecord; created: boolean }> {
    const address = normaliseEmail(email);
    const hash = this.emailHash(address);
    const known = await this.repo.findByEmailHash(hash);
    if (known) {
      await this.verifyEmail(known.userId);
      return { user: await this.record(known), created: false };
    }
    const owner = await claim(this.store, 'email', hash, randomUUID(), this.metadata(`user:${method}`));
    const created = await this.register(owner, { email: address, emailHash: hash, method });
    if (!created) await this.verifyEmail(owner);
    return { user: await this.get(owner), created };
  }

  /**
   * Signs in through a provider. The identity (provider + subject) decides who it is; a new
   * identity joins the person holding its email only when the provider vouches for the
   * address, and otherwise makes a new person (with the address only when vouched for and
   * nobody holds it).
   */
  async signInWithIdentity(identity: ExternalIdentity): Promise<{ user: UserRecord; created: boolean; linked: boolean }> {
    const subjectHash = this.identityHash(identity.provider, identity.subject);
    const address = identity.email ? normaliseEmail(identity.email) : null;
    const emailHash = address && identity.emailVerified ? this.emailHash(address) : null;
    const meta = this.metadata(`user:oauth:${identity.provider}`);

    let owner = await ownerOf(this.store, 'identity', subjectHash);
    let linked = false;
    if (owner === null) {
      const holder = emailHash ? await ownerOf(this.store, 'email', emailHash) : null;
      owner = await claim(this.store, 'identity', subjectHash, holder ?? randomUUID(), meta);
      linked = holder !== null && owner === holder;
    }
    const state = (await this.load(owner)).state;
    let created = false;
    if (!state.registered) {
      // A new person: the address comes along only when vouched for and still free (a race
      // with another sign-up of that address leaves this person without one, never with theirs).
      const emailOwner = emailHash ? await claim(this.store, 'email', emailHash, owner, meta) : null;
      const ownsEmail = emailOwner === owner;
      created = await this.register(owner, {
        email: ownsEmail ? address : null,
        emailHash: ownsEmail ? emailHash : null,
        identityHash: subjectHash,
        method: 'oauth',
      });
    }
    await this.execute(
      owner,
      {
        type: 'LinkIdentity',
        data: {
          provider: identity.provider,
          subjectHash,
          subject: await this.sealFor(owner, identity.subject),
          linkedAt: this.clock.now().toISOString(),
        },
      },
      meta.actor,
    );
    if (created && identity.displayName) {
      const name = identity.displayName.trim().slice(0, 100);
      if (name) await this.execute(owner, { type: 'ChangeDisplayName', data: { displayName: await this.sealFor(owner, name) } }, meta.actor);
    }
    return { user: await this.get(owner), created, linked };
  }

  /**
   * `tollgate accounts create`: an operator registers a person (address not proven) and opens
   * their account with `freeRequests`. A known address is refused (email_taken).
   */
  async registerByOperator(email: string, actor: string, freeRequests?: number): Promise<UserRecord> {
    const address = normaliseEmail(email);
    const hash = this.emailHash(address);
    const userId = randomUUID();
    const owner = await claim(this.store, 'email', hash, userId, this.metadata(actor));
    if (owner !== userId) throw new EmailTakenError();
    await this.register(userId, { email: address, emailHash: hash, method: 'cli', freeRequests, actor });
    return this.get(userId);
  }

  async load(userId: string): Promise<{ state: UserState; version: bigint }> {
    const recorded = await this.store.readStream(userStream(userId));
    let state = initialUserState();
    for (const e of recorded) state = evolveUser(state, decodeUserEvent(e.type, e.data));
    return { state, version: BigInt(recorded.length) };
  }

  /** Runs one command on a person's stream and writes their row; the state after it. */
  async execute(userId: string, command: UserCommand, actor: string): Promise<UserState> {
    return (await this.run(userId, command, actor)).state;
  }

  /** execute, also saying whether this call appended (false: a no-op, or another caller's equal write). */
  private async run(userId: string, command: UserCommand, actor: string): Promise<{ state: UserState; appended: boolean }> {
    const stream = userStream(userId);
    return decideAndAppend<UserState, { state: UserState; appended: boolean }>({
      store: this.store,
      stream,
      maxAttempts: MAX_ATTEMPTS,
      // Two first sign-ins of one person race to register them: the loser's event has the same
      // id and another payload (a fresh seal); it loads again and finds them registered.
      onIdConflict: 'retry',
      load: () => this.load(userId),
      decide: async (loaded) => {
        const events = decideUser(command, loaded.state);
        if (events.length === 0) {
          await this.writeRow(loaded.state, loaded.version);
          return { answer: { state: loaded.state, appended: false } };
        }
        const meta = this.metadata(actor);
        const append: NewEvent[] = events.map((e) => ({
          id: e.type === 'UserRegistered' ? deterministicId(`user:${userId}:registered`) : randomUUID(),
          type: e.type,
          data: { ...e.data },
          metadata: meta,
        }));
        return {
          append,
          appended: async (result) => {
            const state = events.reduce(evolveUser, loaded.state);
            await this.writeRow(state, result.nextVersion);
            return { state, appended: !result.idempotent };
          },
        };
      },
    });
  }

  /** Writes every person's row again from their stream (`ledger replay`). */
  async rebuildReadModel(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    const ids = new Set(await this.repo.userIds());
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: 5000, streamPrefixes: [USER_STREAM_PREFIX] });
      if (page.length === 0) break;
      for (const e of page) ids.add(userIdOfStream(e.streamId));
      after = page[page.length - 1].position;
    }
    let rows = 0;
    let repaired = 0;
    let done = 0;
    for (const userId of ids) {
      const { state, version } = await this.load(userId);
      const before = await this.repo.findById(userId);
      if (state.registered && state.accountId && !state.erased) {
        await this.repo.write(state, version, before?.createdAt ?? (await this.registeredAt(userId)), { sameVersionToo: true });
        rows++;
        const after = await this.repo.findById(userId);
        if (!before || !sameRow(before, after)) repaired++;
      } else if (before && (await this.repo.remove(userId))) {
        repaired++;
      }
      onProgress?.(++done);
    }
    return { rows, repaired };
  }

  private async register(
    userId: string,
    p: { email: string | null; emailHash: string | null; identityHash?: string; method: SignInMethod; freeRequests?: number; actor?: string },
  ): Promise<boolean> {
    const { state } = await this.load(userId);
    if (state.registered) return false;
    const accountId = accountIdOf(userId);
    const actor = p.actor ?? `user:${p.method}`;
    // An address or a sign-in identity whose person was erased signs up as someone new, without
    // the free requests again (an identity that brings no vouched address is caught by its own hash).
    const freeRequests = p.freeRequests ?? ((await this.repo.signUpWasErased(p.emailHash, p.identityHash ?? null)) ? 0 : undefined);
    await this.commands.execute(
      new ExecuteAccountCommand(accountId, { type: 'OpenAccount', data: { accountId, ownerId: userId, freeRequests } }, { actor }),
    );
    const email = p.email === null ? null : await this.sealFor(userId, p.email);
    const { appended } = await this.run(
      userId,
      { type: 'RegisterUser', data: { userId, accountId, email, emailHash: p.emailHash, method: p.method } },
      actor,
    );
    return appended;
  }

  private async verifyEmail(userId: string): Promise<void> {
    const { state } = await this.load(userId);
    if (!state.emailVerified) await this.execute(userId, { type: 'VerifyEmail', data: { at: this.clock.now().toISOString() } }, 'user');
  }

  /** created_at is set by the first write only (an update keeps it). */
  private async writeRow(state: UserState, version: bigint): Promise<void> {
    await this.repo.write(state, version, this.clock.now());
  }

  private async registeredAt(userId: string): Promise<Date> {
    const [first] = await this.store.readStream(userStream(userId), { limit: 1 });
    return first ? first.recordedAt : this.clock.now();
  }

  private async record(row: UserRow): Promise<UserRecord> {
    return {
      userId: row.userId,
      accountId: row.accountId,
      email: row.email === null ? null : await this.openFor(row.userId, row.email),
      displayName: row.displayName === null ? null : await this.openFor(row.userId, row.displayName),
      roles: row.roles,
      createdAt: row.createdAt,
    };
  }

  private metadata(actor: string): { occurredAt: string; actor: string } {
    return { occurredAt: this.clock.now().toISOString(), actor };
  }
}

const sameRow = (a: UserRow, b: UserRow | null): boolean =>
  b !== null && JSON.stringify({ ...a, version: String(a.version) }) === JSON.stringify({ ...b, version: String(b.version) });

/** Stored → typed. An unknown type is an error, not a silent skip. */
export function decodeUserEvent(type: string, data: Record<string, unknown>): UserEvent {
  if (!KNOWN_TYPES.has(type)) throw new UserError('invalid_command', `unknown user event type ${type}`);
  return { type, data } as UserEvent;
}
