/**
 * The one-time step the API runs at start: keys made before projects were streams carry only a
 * project name. For each such key, the account's live project of that name (case aside) is
 * found or created, and `KeyMovedToProject` is appended to the key's stream: history is only
 * added to, never edited, so every hash chain still verifies and `ledger replay` rebuilds the
 * same api_keys rows. Then it finishes any archive whose keys a crash left unrevoked.
 *
 * Idempotent (a key that has its project is not picked again; the move's event id is derived
 * from the key and project), and two instances starting together take turns on an advisory
 * lock: the second finds nothing left to do.
 */
import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { isUuid } from '../../shared/ids';
import { ApiKeysRepository } from '../../keys/application/api-keys.repository';
import { KeysService } from '../../keys/application/keys.service';
import { ProjectsService } from './projects.service';

export const BACKFILL_LOCK_KEY = 7_300_011; // advisory lock: the start step of projects
const ACTOR = 'system:project-backfill';
const BATCH = 500;

export interface BackfillResult {
  keysMoved: number;
  projectsCreated: number;
  /** Keys left without a project: their account id is not a uuid, or its holder was erased (no project can be made for it). */
  skipped: number;
  keysRevoked: number;
}

export class ProjectBackfill {
  private readonly log = new Logger('Projects');

  constructor(
    private readonly pool: Pool,
    private readonly projects: ProjectsService,
    private readonly keys: KeysService,
    private readonly keyRows: ApiKeysRepository,
  ) {}

  async run(): Promise<BackfillResult> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('SELECT pg_advisory_lock($1)', [BACKFILL_LOCK_KEY]);
      try {
        return await this.runLocked();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [BACKFILL_LOCK_KEY]).catch(() => (broken = true));
      }
    } finally {
      client.release(broken);
    }
  }

  private async runLocked(): Promise<BackfillResult> {
    const result: BackfillResult = { keysMoved: 0, projectsCreated: 0, skipped: 0, keysRevoked: 0 };
    await this.keys.reconcile(); // rows behind their streams first: a key's row must say whether it has a project
    const skipped = new Set<string>();
    for (;;) {
      const batch = (await this.keyRows.keysWithoutProject(BATCH + skipped.size)).filter((k) => !skipped.has(k.keyId));
      if (batch.length === 0) break;
      for (const k of batch) {
        if (!isUuid(k.accountId)) {
          skipped.add(k.keyId);
          this.log.warn(`key ${k.keyId} stays without a project: its account id ${JSON.stringify(k.accountId)} is not a uuid`);
          continue;
        }
        const name = await this.keys.openName(k.project);
        const found = await this.projects.findOrCreate({ accountId: k.accountId, name, actor: ACTOR }).catch((err: unknown) => {
          // The account's holder was erased: no project name can be sealed for them any more (and the key is revoked).
          if ((err as { code?: unknown }).code === 'person_erased') return null;
          throw err;
        });
        if (!found) {
          skipped.add(k.keyId);
          this.log.warn(`key ${k.keyId} stays without a project: the holder of account ${k.accountId} was erased`);
          continue;
        }
        const { project, created } = found;
        if (created) result.projectsCreated++;
        await this.keys.moveToProject({ keyId: k.keyId, projectId: project.projectId, actor: ACTOR });
        result.keysMoved++;
      }
    }
    result.skipped = skipped.size;
    result.keysRevoked = await this.projects.finishArchives(ACTOR);
    if (result.keysMoved > 0) this.log.log(`moved ${result.keysMoved} keys into ${result.projectsCreated} new projects`);
    if (result.keysRevoked > 0) this.log.warn(`revoked ${result.keysRevoked} keys of archived projects that a stop had left active`);
    return result;
  }
}
