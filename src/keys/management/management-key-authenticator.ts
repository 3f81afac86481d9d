/**
 * Resolves `Authorization: Bearer tg-mgmt-…` for the account API (the foundation's port
 * MANAGEMENT_KEY_AUTHENTICATOR): SHA-256 of the secret, one lookup by hash on every request and
 * no cache, so a revocation holds from the very next request on every instance. last_used_at
 * is written at most once a minute per key, never awaited, never failing the request.
 */
import { Clock } from '../../platform/clock';
import { LastUseRecorder } from '../application/last-use-recorder';
import { hashSecret } from '../domain/api-key-secret';
import { isWellFormedManagementSecret } from './management-key';
import { ManagementKeysRepository } from './management-keys.repository';

export interface AuthenticatedManagementKey {
  keyId: string;
  accountId: string;
  userId: string;
}

export class ManagementKeyAuthenticator {
  private readonly uses: LastUseRecorder;

  constructor(
    private readonly repo: ManagementKeysRepository,
    clock: Clock,
  ) {
    this.uses = new LastUseRecorder(repo, clock, 'management key', 10_000);
  }

  async authenticate(secret: string): Promise<AuthenticatedManagementKey | null> {
    if (typeof secret !== 'string' || !isWellFormedManagementSecret(secret)) return null;
    const row = await this.repo.findByHash(hashSecret(secret));
    if (!row || row.revokedAt !== null) return null;
    this.uses.used(row.keyId);
    return { keyId: row.keyId, accountId: row.accountId, userId: row.userId };
  }
}
