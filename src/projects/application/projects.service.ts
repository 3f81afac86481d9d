/**
 * Managing projects: load the project's stream → decide → append with the expected version
 * (decideAndAppend) → write the projects row from the folded stream (read-your-writes). Names
 * are unique among an account's live projects (case aside): create and rename check it under
 * the account's lock (account-lock.ts). Archiving a project revokes its keys, after the
 * archive is durable; running it again finishes a revocation a crash cut short, and so does
 * the start step (ProjectBackfill).
 *
 * Every read takes the caller's account: another account's project is `project_not_found`,
 * exactly as a project that does not exist (no existence oracle).
 *
 * Names are the account holder's words: events and rows hold them sealed for the holder
 * (AccountNames); loading a stream opens them for the decider, appending seals them, and every
 * record answered here has its name opened (ERASED_NAME once the holder is erased). So the
 * uniqueness check opens the account's live names (a handful) instead of asking an index.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Clock } from '../../platform/clock';
import { EventStore, LOG_START, NewEvent } from '../../platform/event-store/event-store.port';
import { decideAndAppend } from '../../platform/event-store/decide-and-append';
import { deterministicId, isUuid } from '../../shared/ids';
import { KeysService } from '../../keys/application/keys.service';
import { ApiKeysRepository } from '../../keys/application/api-keys.repository';
import {
  ProjectCommand,
  ProjectState,
  decideProject,
  evolveProject,
  evolveProjectAll,
  initialProjectState,
  projectEventKey,
  projectName,
  sameName,
} from '../domain/project.decider';
import { ProjectError } from '../domain/project.errors';
import { PROJECT_STREAM_PREFIX, ProjectEvent, decodeProjectEvent, projectIdOfStream, projectStream } from '../domain/project.events';
import { AccountNames, StoredName } from '../../compliance/account-names';
import { withAccountLock } from './account-lock';
import { ProjectPage, ProjectRecord, ProjectsRepository } from './projects.repository';

const MAX_ATTEMPTS = 10;

interface Decided {
  /** Names opened: what the decider sees. */
  state: ProjectState;
  /** The name as the events store it: what the row keeps. */
  stored: StoredName;
  version: bigint;
}

/** Accounts are uuids (the projects table says so); anything else is refused before any SQL. */
function accountIdOf(accountId: string): void {
  if (!isUuid(accountId)) throw new ProjectError('invalid_command', `account ids are uuids, got ${JSON.stringify(accountId)}`);
}

export class ProjectsService {
  constructor(
    private readonly store: EventStore,
    private readonly pool: Pool,
    private readonly repo: ProjectsRepository,
    private readonly keys: KeysService,
    private readonly keyRows: ApiKeysRepository,
    private readonly clock: Clock,
    private readonly names: AccountNames,
  ) {}

  async create(input: { accountId: string; name: string; actor: string; projectId?: string }): Promise<ProjectRecord> {
    const name = projectName(input.name);
    accountIdOf(input.accountId);
    return withAccountLock(this.pool, input.accountId, async () => {
      const taken = await this.liveByName(input.accountId, name);
      if (taken) throw new ProjectError('project_name_taken', `a project named ${JSON.stringify(taken.name)} already exists`);
      return this.createUnlocked(input.accountId, name, input.actor, input.projectId ?? randomUUID());
    });
  }

  /** The account's live project of this name (case aside), created if there is none. */
  async findOrCreate(input: { accountId: string; name: string; actor: string }): Promise<{ project: ProjectRecord; created: boolean }> {
    const name = projectName(input.name);
    accountIdOf(input.accountId);
    const live = await this.liveByName(input.accountId, name);
    if (live) return { project: live, created: false };
    return withAccountLock(this.pool, input.accountId, async () => {
      const found = await this.liveByName(input.accountId, name);
      if (found) return { project: found, created: false };
      return { project: await this.createUnlocked(input.accountId, name, input.actor, randomUUID()), created: true };
    });
  }

  async rename(input: { accountId: string; projectId: string; name: string; actor: string }): Promise<ProjectRecord> {
    const name = projectName(input.name);
    await this.get(input.accountId, input.projectId);
    return withAccountLock(this.pool, input.accountId, async () => {
      const taken = await this.liveByName(input.accountId, name);
      if (taken && taken.projectId !== input.projectId) {
        throw new ProjectError('project_name_taken', `a project named ${JSON.stringify(taken.name)} already exists`);
      }
      return this.writeRow(await this.execute(input.projectId, { type: 'RenameProject', data: { projectId: input.projectId, name } }, input.actor));
    });
  }

  /** Archives the project and revokes every key of it; safe to run again. */
  async archive(input: { accountId: string; projectId: string; actor: string }): Promise<{ project: ProjectRecord; revokedKeys: number }> {
    await this.get(input.accountId, input.projectId);
    const project = await this.writeRow(await this.execute(input.projectId, { type: 'ArchiveProject', data: { projectId: input.projectId } }, input.actor));
    const revokedKeys = await this.revokeKeysOf(input.projectId, input.actor);
    return { project, revokedKeys };
  }

  /** The account's project; `project_not_found` for another account's, as for none. */
  async get(accountId: string, projectId: string): Promise<ProjectRecord> {
    const row = isUuid(projectId) ? await this.repo.findById(projectId) : null;
    if (!row || row.accountId !== accountId) throw new ProjectError('project_not_found', `no project ${projectId}`);
    return (await this.opened([row]))[0];
  }

  /** The account's live project (creating keys in it); `project_archived` once archived. */
  async getLive(accountId: string, projectId: string): Promise<ProjectRecord> {
    const row = await this.get(accountId, projectId);
    if (row.archivedAt) throw new ProjectError('project_archived', `project ${projectId} is archived`);
    return row;
  }

  async list(accountId: string, page: ProjectPage): Promise<ProjectRecord[]> {
    return this.opened(await this.repo.list(accountId, page));
  }

  /** Records with their names opened for display (ERASED_NAME once the holder is erased). */
  async opened(records: readonly ProjectRecord[]): Promise<ProjectRecord[]> {
    const plain = await this.names.openMany(records.map((r) => ({ value: r.name, owner: r.nameOwner })));
    return records.map((r, i) => ({ ...r, name: plain[i], nameOwner: null }));
  }

  /** The account's live project of this name, whatever its case (opened). */
  private async liveByName(accountId: string, name: string): Promise<ProjectRecord | null> {
    return (await this.opened(await this.repo.live(accountId))).find((p) => sameName(p.name, name)) ?? null;
  }

  /** Revokes the active keys of archived projects (a crash between archive and revocation). */
  async finishArchives(actor: string): Promise<number> {
    let revoked = 0;
    for (const projectId of await this.repo.archivedWithActiveKeys()) revoked += await this.revokeKeysOf(projectId, actor);
    return revoked;
  }

  /** `ledger replay` for projects: every row written again from its stream. */
  async rebuildReadModel(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    const ids = new Set(await this.repo.projectIds());
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: 5000, streamPrefixes: [PROJECT_STREAM_PREFIX] });
      if (page.length === 0) break;
      for (const e of page) ids.add(projectIdOfStream(e.streamId));
      after = page[page.length - 1].position;
    }
    let rows = 0;
    let repaired = 0;
    for (const projectId of ids) {
      const { state, stored, version } = await this.load(projectId);
      if (state.exists) {
        rows++;
        if (await this.repo.upsert(state, stored, version, true)) repaired++;
      }
      onProgress?.(rows);
    }
    return { rows, repaired };
  }

  private async createUnlocked(accountId: string, name: string, actor: string, projectId: string): Promise<ProjectRecord> {
    const command: ProjectCommand = { type: 'CreateProject', data: { projectId, accountId, name } };
    return this.writeRow(await this.execute(projectId, command, actor));
  }

  private async revokeKeysOf(projectId: string, actor: string): Promise<number> {
    let revoked = 0;
    for (const keyId of await this.keyRows.activeKeyIdsOfProject(projectId)) {
      const r = await this.keys.revoke({ keyId, reason: `project ${projectId} archived`, actor });
      if (r.changed) revoked++;
    }
    return revoked;
  }

  private execute(projectId: string, command: ProjectCommand, actor: string): Promise<Decided> {
    return decideAndAppend<ProjectState, Decided>({
      store: this.store,
      stream: projectStream(projectId),
      maxAttempts: MAX_ATTEMPTS,
      load: () => this.load(projectId),
      decide: async (loaded) => {
        // What load() returned (decideAndAppend passes it through): it carries the stored name too.
        const { state, stored, version } = loaded as Decided;
        const now = this.clock.now();
        const events = decideProject(command, state, { now });
        if (events.length === 0) return { answer: { state, stored, version } };
        const key = projectEventKey(command, version);
        const owner = await this.names.holderOf(events[0].type === 'ProjectCreated' ? events[0].data.accountId : state.accountId);
        const sealed = await Promise.all(events.map((e) => this.sealName(e, owner)));
        const append: NewEvent[] = sealed.map((e, i) => ({
          id: deterministicId(`${key}#${i}`),
          type: e.type,
          data: { ...e.data },
          metadata: { occurredAt: now.toISOString(), command: command.type, actor },
        }));
        const last = sealed.reduce((name, e) => storedNameOf(e) ?? name, stored);
        return { append, appended: (result) => ({ state: evolveProjectAll(events, state), stored: last, version: result.nextVersion }) };
      },
      alreadyAppended: () => this.load(projectId),
      // The same command at the same version appended before (a retry): its seal differs from
      // ours, so the store sees another payload. Loading again shows it done (the decider's no-op).
      onIdConflict: 'retry',
      gaveUp: (err) => new ProjectError('version_conflict', `project ${projectId} kept changing under us; gave up after ${err.attempts} attempts`),
    });
  }

  private async writeRow(done: Decided): Promise<ProjectRecord> {
    await this.repo.upsert(done.state, done.stored, done.version);
    const row = await this.repo.findById(done.state.projectId);
    if (!row) throw new Error(`projects row of ${done.state.projectId} is missing right after its upsert`);
    return (await this.opened([row]))[0];
  }

  /** A name-carrying event as it is stored: the name sealed for the account holder, when a person holds the account. */
  private async sealName(e: ProjectEvent, owner: string | null): Promise<ProjectEvent> {
    if (owner === null || e.type === 'ProjectArchived') return e;
    const name = (await this.names.seal(owner, e.data.name)).value;
    if (e.type === 'ProjectCreated') return { type: e.type, data: { ...e.data, name, nameOwner: owner } };
    return { type: e.type, data: { ...e.data, name, nameOwner: owner } };
  }

  /** The stream folded with its names opened for the decider, and the last name as stored. */
  private async load(projectId: string): Promise<Decided> {
    let state = initialProjectState();
    let stored: StoredName = { value: '', owner: null };
    let version = 0n;
    for (;;) {
      const page = await this.store.readStream(projectStream(projectId), { afterVersion: version, limit: 1000 });
      for (const e of page) {
        const event = decodeProjectEvent(e.type, e.data);
        const name = storedNameOf(event);
        if (name) stored = name;
        const opened: ProjectEvent =
          name && event.type !== 'ProjectArchived' ? ({ type: event.type, data: { ...event.data, name: await this.names.open(name) } } as ProjectEvent) : event;
        state = evolveProject(state, opened);
        version = e.streamVersion;
      }
      if (page.length < 1000) return { state, stored, version };
    }
  }
}

/** The name an event sets, as stored; null for an event that sets none. */
function storedNameOf(e: ProjectEvent): StoredName | null {
  if (e.type === 'ProjectArchived') return null;
  return { value: e.data.name, owner: e.data.nameOwner ?? null };
}
