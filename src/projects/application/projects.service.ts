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
} from '../domain/project.decider';
import { ProjectError } from '../domain/project.errors';
import { PROJECT_STREAM_PREFIX, decodeProjectEvent, projectIdOfStream, projectStream } from '../domain/project.events';
import { withAccountLock } from './account-lock';
import { ProjectPage, ProjectRecord, ProjectsRepository } from './projects.repository';

const MAX_ATTEMPTS = 10;

interface Decided {
  state: ProjectState;
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
  ) {}

  async create(input: { accountId: string; name: string; actor: string; projectId?: string }): Promise<ProjectRecord> {
    const name = projectName(input.name);
    accountIdOf(input.accountId);
    return withAccountLock(this.pool, input.accountId, async () => {
      const taken = await this.repo.findLiveByName(input.accountId, name);
      if (taken) throw new ProjectError('project_name_taken', `a project named ${JSON.stringify(taken.name)} already exists`);
      return this.createUnlocked(input.accountId, name, input.actor, input.projectId ?? randomUUID());
    });
  }

  /** The account's live project of this name (case aside), created if there is none. */
  async findOrCreate(input: { accountId: string; name: string; actor: string }): Promise<{ project: ProjectRecord; created: boolean }> {
    const name = projectName(input.name);
    accountIdOf(input.accountId);
    const live = await this.repo.findLiveByName(input.accountId, name);
    if (live) return { project: live, created: false };
    return withAccountLock(this.pool, input.accountId, async () => {
      const found = await this.repo.findLiveByName(input.accountId, name);
      if (found) return { project: found, created: false };
      return { project: await this.createUnlocked(input.accountId, name, input.actor, randomUUID()), created: true };
    });
  }

  async rename(input: { accountId: string; projectId: string; name: string; actor: string }): Promise<ProjectRecord> {
    const name = projectName(input.name);
    await this.get(input.accountId, input.projectId);
    return withAccountLock(this.pool, input.accountId, async () => {
      const taken = await this.repo.findLiveByName(input.accountId, name);
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
    return row;
  }

  /** The account's live project (creating keys in it); `project_archived` once archived. */
  async getLive(accountId: string, projectId: string): Promise<ProjectRecord> {
    const row = await this.get(accountId, projectId);
    if (row.archivedAt) throw new ProjectError('project_archived', `project ${projectId} is archived`);
    return row;
  }

  list(accountId: string, page: ProjectPage): Promise<ProjectRecord[]> {
    return this.repo.list(accountId, page);
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
      const { state, version } = await this.load(projectId);
      if (state.exists) {
        rows++;
        if (await this.repo.upsert(state, version, true)) repaired++;
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
      decide: ({ state, version }) => {
        const now = this.clock.now();
        const events = decideProject(command, state, { now });
        if (events.length === 0) return { answer: { state, version } };
        const key = projectEventKey(command, version);
        const append: NewEvent[] = events.map((e, i) => ({
          id: deterministicId(`${key}#${i}`),
          type: e.type,
          data: { ...e.data },
          metadata: { occurredAt: now.toISOString(), command: command.type, actor },
        }));
        return { append, appended: (result) => ({ state: evolveProjectAll(events, state), version: result.nextVersion }) };
      },
      alreadyAppended: () => this.load(projectId),
      gaveUp: (err) => new ProjectError('version_conflict', `project ${projectId} kept changing under us; gave up after ${err.attempts} attempts`),
    });
  }

  private async writeRow(done: Decided): Promise<ProjectRecord> {
    await this.repo.upsert(done.state, done.version);
    const row = await this.repo.findById(done.state.projectId);
    if (!row) throw new Error(`projects row of ${done.state.projectId} is missing right after its upsert`);
    return row;
  }

  private async load(projectId: string): Promise<Decided> {
    let state = initialProjectState();
    let version = 0n;
    for (;;) {
      const page = await this.store.readStream(projectStream(projectId), { afterVersion: version, limit: 1000 });
      for (const e of page) {
        state = evolveProject(state, decodeProjectEvent(e.type, e.data));
        version = e.streamVersion;
      }
      if (page.length < 1000) return { state, version };
    }
  }
}
