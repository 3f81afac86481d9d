/**
 * The account's key named `assistant`, through which the dashboard assistant calls the gateway
 * (so its requests are billed and listed like any other, under that name).
 *
 * Its secret is never stored, in clear or otherwise, beyond the SHA-256 every key keeps: it is
 * derived from the key id with a keyed hash under ENCRYPTION_KEY (SecretBox.lookupHash, its own
 * purpose), so any API instance can make it again when it needs it, and it only ever travels to
 * this process's own proxy over the loopback interface. A key named `assistant` whose hash is
 * not the derived one (the person regenerated it, made one of their own with that name, or
 * ENCRYPTION_KEY changed) is left alone and another is made; a revoked one is replaced.
 *
 * Made on first use. Concurrent first questions of one account make one key: the check and the
 * creation run under a Postgres advisory lock of the account (any instance), and the check is
 * repeated once the lock is held.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { CLOCK, Clock } from '../../platform/clock';
import { SecretBox } from '../../platform/crypto/secret-box';
import { PG_POOL } from '../../platform/database/pg';
import { ApiKeysRepository, ApiKeyRecord } from '../../keys/application/api-keys.repository';
import { KeysService } from '../../keys/application/keys.service';
import { SECRET_BODY_LENGTH, SECRET_PREFIX, generateSecret, hashSecret } from '../../keys/domain/api-key-secret';
import { withAccountLock } from '../../projects/application/account-lock';
import { ProjectsService } from '../../projects/application/projects.service';

export const ASSISTANT_KEY_NAME = 'assistant';
const ASSISTANT_LOCK_NAMESPACE = 7_300_022; // advisory locks: one per account, for its assistant key
const PURPOSE = 'assistant key secret';

export interface AssistantKey {
  keyId: string;
  /** Only in memory, only for calls to this process's own proxy. */
  secret: string;
}

@Injectable()
export class AssistantKeyService {
  constructor(
    private readonly keys: KeysService,
    private readonly keyRows: ApiKeysRepository,
    private readonly projects: ProjectsService,
    private readonly box: SecretBox,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async keyOf(accountId: string, actor: string): Promise<AssistantKey> {
    const found = await this.usable(accountId);
    if (found) return found;
    // Outside our lock: findOrCreate takes the projects' lock of the account itself.
    const { project } = await this.projects.findOrCreate({ accountId, name: ASSISTANT_KEY_NAME, actor });
    return withAccountLock(
      this.pool,
      accountId,
      async () => {
        const again = await this.usable(accountId);
        if (again) return again;
        const { key, secret } = await this.keys.create({
          accountId,
          project: project.name,
          projectId: project.projectId,
          name: ASSISTANT_KEY_NAME,
          actor,
          secretFor: (keyId) => this.secretOf(keyId),
        });
        return { keyId: key.keyId, secret };
      },
      ASSISTANT_LOCK_NAMESPACE,
    );
  }

  /** The derived secret: `tg-` and 40 base62 characters drawn from an HMAC stream, as generateSecret draws random ones. */
  secretOf(keyId: string): string {
    let block = 0;
    const bytes = (n: number): Buffer => {
      const parts: Buffer[] = [];
      let have = 0;
      while (have < n) {
        const part = Buffer.from(this.box.lookupHash(PURPOSE, `${keyId}:${block++}`), 'hex');
        parts.push(part);
        have += part.length;
      }
      return Buffer.concat(parts).subarray(0, n);
    };
    const secret = generateSecret(bytes, SECRET_PREFIX);
    if (secret.length !== SECRET_PREFIX.length + SECRET_BODY_LENGTH) throw new Error('derived secret of the wrong length');
    return secret;
  }

  private async usable(accountId: string): Promise<AssistantKey | null> {
    const now = this.clock.now().getTime();
    // Known by its hash, not its name: names are sealed in the rows (they are the person's free
    // text), and only a key this service made can have the hash of the secret derived from its id.
    const live = (k: ApiKeyRecord) => k.status === 'active' && (!k.expiresAt || k.expiresAt.getTime() > now);
    for (const k of (await this.keyRows.listByAccount(accountId)).filter(live)) {
      const secret = this.secretOf(k.keyId);
      if (hashSecret(secret) === k.hash) return { keyId: k.keyId, secret };
    }
    return null;
  }
}
