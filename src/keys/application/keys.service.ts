/**
 * Managing API keys: load the key's stream → decide → append with the expected version (a
 * bounded retry on conflict: decideAndAppend) → write the api_keys row from the folded stream
 * (read-your-writes for authentication) → broadcast the change to every API instance and wait
 * for their acks.
 *
 * A crash between the append and the row leaves the row behind its stream; reconcile() finds
 * such rows (stream version ahead of row version) and writes them again. Running a command
 * again also repairs: a revoke of a revoked key appends nothing but still rewrites the row
 * and broadcasts.
 *
 * The secret is made here, returned once by create()/regenerate(), and never stored or logged.
 *
 * A key's name and project name are the account holder's words: KeyCreated carries them sealed
 * with the holder's vault key (AccountNames), the row keeps them sealed, and every record this
 * service answers has them opened (ERASED_NAME once the holder is erased). Authentication reads
 * rows through the repository and never opens a name.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Clock } from '../../platform/clock';
import { EventStore, LOG_START, NewEvent } from '../../platform/event-store/event-store.port';
import { decideAndAppend } from '../../platform/event-store/decide-and-append';
import { accountStream } from '../../ledger/domain/events';
import { ApiKeyCommand, ApiKeyState, DEFAULT_PROJECT, applyLimits, decideKey, evolveKey, evolveKeyAll, initialKeyState } from '../domain/api-key.decider';
import { keyEventIdFor } from '../domain/api-key-event-ids';
import { API_KEY_STREAM_PREFIX, KeyLimits, NO_LIMITS, apiKeyStream, decodeKeyEvent, encodeKeyEvent, keyIdOfStream } from '../domain/api-key.events';
import { describeSecret, generateSecret, isWellFormedSecret } from '../domain/api-key-secret';
import { KeyError } from '../domain/key.errors';
import { ApiKeyRecord, ApiKeysRepository } from './api-keys.repository';
import { BroadcastResult, KeyBroadcaster } from './key-broadcaster';
import { AccountNames } from '../../compliance/account-names';
import { ApiKeyEvent } from '../domain/api-key.events';

export interface CreateKeyInput {
  accountId: string;
  /** The project's name (kept on the key, as before projects existed). */
  project?: string;
  /** The project's id: every key made through the account API or the CLI has one. */
  projectId?: string;
  name?: string;
  /** Limits set in the same call (as `changeLimits` would); a bad one creates nothing. */
  limits?: Partial<KeyLimits>;
  actor: string;
  /**
   * For a key the server itself uses (the dashboard assistant's): its secret is derived from
   * the key id and a server secret, so it can be made again and never has to be stored.
   */
  secretFor?: (keyId: string) => string;
}

/** A key with its secret: the only time the secret exists outside the client. */
export interface IssuedKey {
  key: ApiKeyRecord;
  secret: string;
}

export interface KeyChange {
  key: ApiKeyRecord;
  /** False when the command changed nothing (already revoked, same limits, a retry). */
  changed: boolean;
  broadcast: BroadcastResult;
}

interface Decided {
  state: ApiKeyState;
  version: bigint;
  changed: boolean;
}

const MAX_ATTEMPTS = 10;

export class KeysService {
  private readonly log = new Logger('KeysService');

  private readonly randomBytes: (n: number) => Buffer;

  constructor(
    private readonly store: EventStore,
    private readonly repo: ApiKeysRepository,
    private readonly broadcaster: KeyBroadcaster,
    private readonly clock: Clock,
    private readonly names: AccountNames,
    /** The source of secrets (default crypto's): tests pass their own to know a secret beforehand. */
    options: { randomBytes?: (n: number) => Buffer } = {},
  ) {
    this.randomBytes = options.randomBytes ?? randomBytes;
  }

  async create(input: CreateKeyInput): Promise<IssuedKey> {
    if (typeof input.accountId !== 'string' || input.accountId.trim() === '') {
      throw new KeyError('invalid_command', 'an account must be given');
    }
    if (input.limits) applyLimits(NO_LIMITS, input.limits); // refused before anything is written
    await this.requireAccount(input.accountId);
    const keyId = randomUUID();
    const secret = input.secretFor ? input.secretFor(keyId) : generateSecret(this.randomBytes);
    if (!isWellFormedSecret(secret)) throw new KeyError('invalid_command', 'a derived secret must have the shape of a key');
    const command: ApiKeyCommand = {
      type: 'CreateKey',
      data: {
        keyId,
        accountId: input.accountId,
        project: input.project ?? DEFAULT_PROJECT,
        ...(input.projectId !== undefined ? { projectId: input.projectId } : {}),
        name: input.name ?? '',
        ...describeSecret(secret),
      },
    };
    let done = await this.execute(keyId, command, input.actor);
    if (input.limits && Object.keys(input.limits).length > 0) {
      const limits: ApiKeyCommand = { type: 'ChangeKeyLimits', data: { keyId, changeId: `${keyId}:initial`, limits: input.limits } };
      done = await this.execute(keyId, limits, input.actor);
    }
    const key = await this.writeRow(done);
    // No instance has the new key cached, but one may remember its hash as unknown: the
    // broadcast makes every listening instance forget unknown keys before the secret is out.
    await this.broadcastNew(keyId);
    return { key, secret };
  }

  async revoke(input: { keyId: string; reason?: string; actor: string }): Promise<KeyChange> {
    const command: ApiKeyCommand = { type: 'RevokeKey', data: { keyId: input.keyId, reason: input.reason ?? 'revoked' } };
    return this.change(input.keyId, command, input.actor);
  }

  /** A new secret for the same key id, account and limits; the old secret stops working at once. */
  async regenerate(input: { keyId: string; actor: string }): Promise<IssuedKey & { broadcast: BroadcastResult }> {
    const secret = generateSecret(this.randomBytes);
    const { key, broadcast } = await this.change(input.keyId, { type: 'RegenerateKey', data: { keyId: input.keyId, ...describeSecret(secret) } }, input.actor);
    return { key, secret, broadcast };
  }

  /** `limits` is a patch: fields left out keep their value, null removes a limit. */
  async changeLimits(input: { keyId: string; limits: Partial<KeyLimits>; changeId?: string; actor: string }): Promise<KeyChange> {
    const command: ApiKeyCommand = {
      type: 'ChangeKeyLimits',
      data: { keyId: input.keyId, changeId: input.changeId ?? randomUUID(), limits: input.limits },
    };
    return this.change(input.keyId, command, input.actor);
  }

  /** Gives a key made before projects existed its project (the start step, ProjectBackfill). */
  async moveToProject(input: { keyId: string; projectId: string; actor: string }): Promise<ApiKeyRecord> {
    const done = await this.execute(input.keyId, { type: 'MoveKeyToProject', data: { keyId: input.keyId, projectId: input.projectId } }, input.actor);
    // No broadcast: an instance's cached principal carries no project id, so nothing it holds is stale.
    return this.writeRow(done);
  }

  /** An account's keys, oldest first, after repairing any row behind its stream. */
  async list(accountId: string): Promise<ApiKeyRecord[]> {
    await this.requireAccount(accountId);
    await this.reconcile();
    return this.opened(await this.repo.listByAccount(accountId));
  }

  async get(keyId: string): Promise<ApiKeyRecord | null> {
    const row = await this.repo.findById(keyId);
    return row && (await this.opened([row]))[0];
  }

  /** Records with their names opened for display (ERASED_NAME once the holder is erased). */
  async opened(records: readonly ApiKeyRecord[]): Promise<ApiKeyRecord[]> {
    const stored = records.flatMap((r) => [
      { value: r.name, owner: r.nameOwner },
      { value: r.project, owner: r.nameOwner },
    ]);
    const plain = await this.names.openMany(stored);
    return records.map((r, i) => ({ ...r, name: plain[2 * i], project: plain[2 * i + 1], nameOwner: null }));
  }

  /** A stored name opened (the project name of a key made before projects existed). */
  openName(name: { value: string; owner: string | null }): Promise<string> {
    return this.names.open(name);
  }

  /**
   * Rewrites every api_keys row that is behind its stream (or missing) and broadcasts those
   * keys, so instances drop what they cached from the stale row. Returns how many it repaired.
   */
  async reconcile(): Promise<number> {
    let repaired = 0;
    const seen = new Set<string>();
    for (;;) {
      const behind = (await this.repo.keysBehindTheirStream()).filter((k) => !seen.has(k));
      if (behind.length === 0) return repaired;
      for (const keyId of behind) {
        seen.add(keyId);
        const { state, version } = await this.load(keyId);
        if (!state.exists) continue; // a stream without KeyCreated: nothing a row could say
        if (await this.repo.upsert(state, version)) {
          repaired++;
          this.log.warn(`api_keys row of key ${keyId} was behind its stream; rewritten at version ${version}`);
          await this.broadcaster.broadcast(keyId);
        }
      }
    }
  }

  /**
   * `ledger replay` for api_keys: every row written again from its key's stream (as reconcile
   * does for rows behind theirs, but also a row damaged at its own version), rows no key stream
   * backs removed. Row by row, never emptying the table, so a live key authenticates throughout;
   * each row that changed is broadcast, so instances drop what they cached from it.
   */
  async rebuildReadModel(onProgress?: (keys: number) => void): Promise<{ keys: number; rewritten: number; removed: number }> {
    const keyIds = new Set(await this.repo.keyIds());
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: 5000, streamPrefixes: [API_KEY_STREAM_PREFIX] });
      if (page.length === 0) break;
      for (const e of page) keyIds.add(keyIdOfStream(e.streamId));
      after = page[page.length - 1].position;
    }
    const result = { keys: 0, rewritten: 0, removed: 0 };
    let done = 0;
    for (const keyId of keyIds) {
      const r = await this.rewriteRow(keyId);
      if (r !== 'removed') result.keys++;
      if (r) {
        result[r]++;
        await this.broadcaster.broadcast(keyId).catch((err: Error) => this.log.warn(`api_keys row of key ${keyId} ${r}, but the API instances could not be told: ${err.message}`));
      }
      onProgress?.(++done);
    }
    // The log is read only up to what every earlier transaction has committed: a key created
    // a moment ago may be missing from it, and a row missing too. Reconcile finds those.
    const repaired = await this.reconcile();
    result.keys += repaired;
    result.rewritten += repaired;
    return result;
  }

  /** Writes a key's row from its stream, or removes a row that no key backs; undefined when the row already said that. */
  private async rewriteRow(keyId: string): Promise<'rewritten' | 'removed' | undefined> {
    const { state, version } = await this.load(keyId);
    if (state.exists) {
      if (await this.repo.rewrite(state, version)) return 'rewritten';
      const row = await this.repo.findById(keyId);
      // Ahead of what we read: a command wrote since (its row is right), or the row claims a
      // version the stream never reached (it is not, and goes unless it changed meanwhile).
      if (!row || row.version <= version || row.version <= (await this.store.streamVersion(apiKeyStream(keyId)))) return undefined;
      return (await this.repo.replace(state, version, row.version)) ? 'rewritten' : undefined;
    }
    // No key: no stream, or one without KeyCreated.
    const row = await this.repo.findById(keyId);
    if (!row) return undefined;
    // Asked after the row was read: a key created since has its stream by now (its row comes after it).
    if (version === 0n && (await this.store.streamVersion(apiKeyStream(keyId))) > 0n) return undefined;
    return (await this.repo.remove(keyId, row.version)) ? 'removed' : undefined;
  }

  /**
   * Best effort: the key exists and its secret must reach the caller even when Redis is down.
   * Without the broadcast, an instance that remembered this secret's hash as unknown refuses
   * it until that entry expires (a minute); only a secret presented before it was issued can be.
   */
  private async broadcastNew(keyId: string): Promise<void> {
    try {
      await this.broadcaster.broadcast(keyId);
    } catch (err) {
      this.log.warn(`key ${keyId} was created, but the API instances could not be told: ${(err as Error).message}`);
    }
  }

  private async change(keyId: string, command: ApiKeyCommand, actor: string): Promise<KeyChange> {
    const done = await this.execute(keyId, command, actor);
    const key = await this.writeRow(done);
    // Even when nothing changed: the earlier run of this command may have died before its broadcast.
    const broadcast = await this.broadcaster.broadcast(keyId);
    return { key, changed: done.changed, broadcast };
  }

  private execute(keyId: string, command: ApiKeyCommand, actor: string): Promise<Decided> {
    return decideAndAppend<ApiKeyState, Decided>({
      store: this.store,
      stream: apiKeyStream(keyId),
      maxAttempts: MAX_ATTEMPTS,
      load: () => this.load(keyId),
      decide: async ({ state, version }) => {
        const now = this.clock.now();
        const decided = decideKey(command, state, { now });
        if (decided.length === 0) return { answer: { state, version, changed: false } };
        const events = await Promise.all(decided.map((e) => this.sealNames(e)));
        const append: NewEvent[] = events.map((e, i) => ({
          id: keyEventIdFor(command, i),
          ...encodeKeyEvent(e),
          metadata: { occurredAt: now.toISOString(), command: command.type, actor },
        }));
        return { append, appended: (result) => ({ state: evolveKeyAll(events, state), version: result.nextVersion, changed: true }) };
      },
      alreadyAppended: async () => ({ ...(await this.load(keyId)), changed: false }),
      onIdConflict: () => new KeyError('idempotency_conflict', 'this change id was already used for a different change'),
      gaveUp: (err) => new KeyError('version_conflict', `key ${keyId} kept changing under us; gave up after ${err.attempts} attempts`),
    });
  }

  private async writeRow(done: Decided): Promise<ApiKeyRecord> {
    await this.repo.upsert(done.state, done.version);
    const row = await this.repo.findById(done.state.keyId);
    if (!row) throw new Error(`api_keys row of key ${done.state.keyId} is missing right after its upsert`);
    return (await this.opened([row]))[0];
  }

  /** KeyCreated as it is stored: name and project sealed for the account holder, when a person holds the account. */
  private async sealNames(e: ApiKeyEvent): Promise<ApiKeyEvent> {
    if (e.type !== 'KeyCreated') return e;
    const owner = await this.names.holderOf(e.data.accountId);
    if (owner === null) return e;
    const [name, project] = [await this.names.seal(owner, e.data.name), await this.names.seal(owner, e.data.project)];
    return { type: 'KeyCreated', data: { ...e.data, name: name.value, project: project.value, nameOwner: owner } };
  }

  private async load(keyId: string): Promise<{ state: ApiKeyState; version: bigint }> {
    let state = initialKeyState();
    let version = 0n;
    for (;;) {
      const page = await this.store.readStream(apiKeyStream(keyId), { afterVersion: version, limit: 1000 });
      for (const e of page) {
        state = evolveKey(state, decodeKeyEvent(e.type, e.data));
        version = e.streamVersion;
      }
      if (page.length < 1000) return { state, version };
    }
  }

  /** `account_not_found` unless the account is open. */
  async requireAccount(accountId: string): Promise<void> {
    // An account exists once its ledger stream has its AccountOpened event.
    if ((await this.store.streamVersion(accountStream(accountId))) === 0n) {
      throw new KeyError('account_not_found', `no account ${accountId}`);
    }
  }
}
