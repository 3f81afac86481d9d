/**
 * Creating, listing and revoking management keys: load → decide → append (decideAndAppend) →
 * the row from the folded stream. The secret is made here and returned once by create().
 * Another account's key is `management_key_not_found`, as one that does not exist.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Clock } from '../../platform/clock';
import { EventStore, NewEvent } from '../../platform/event-store/event-store.port';
import { decideAndAppend } from '../../platform/event-store/decide-and-append';
import { deterministicId, isUuid } from '../../shared/ids';
import {
  ManagementKeyCommand,
  ManagementKeyEvent,
  ManagementKeyError,
  ManagementKeyState,
  decideManagementKey,
  decodeManagementKeyEvent,
  describeManagementSecret,
  evolveManagementKey,
  generateManagementSecret,
  initialManagementKeyState,
  managementKeyStream,
} from './management-key';
import { ManagementKeyRecord, ManagementKeysRepository } from './management-keys.repository';
import { AccountNames } from '../../compliance/account-names';

interface Decided {
  state: ManagementKeyState;
  version: bigint;
}

export class ManagementKeysService {
  constructor(
    private readonly store: EventStore,
    private readonly repo: ManagementKeysRepository,
    private readonly clock: Clock,
    private readonly names: AccountNames,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {}

  async create(input: { accountId: string; userId: string; name: string; actor: string }): Promise<{ key: ManagementKeyRecord; secret: string }> {
    const keyId = randomUUID();
    const secret = generateManagementSecret(this.random);
    const command: ManagementKeyCommand = {
      type: 'CreateManagementKey',
      data: { keyId, accountId: input.accountId, userId: input.userId, name: input.name, ...describeManagementSecret(secret) },
    };
    return { key: await this.writeRow(await this.execute(keyId, command, input.actor)), secret };
  }

  /** Revoked at once: the authenticator reads the row on every request, no cache. */
  async revoke(input: { accountId: string; keyId: string; actor: string }): Promise<ManagementKeyRecord> {
    await this.get(input.accountId, input.keyId);
    return this.writeRow(await this.execute(input.keyId, { type: 'RevokeManagementKey', data: { keyId: input.keyId } }, input.actor));
  }

  async get(accountId: string, keyId: string): Promise<ManagementKeyRecord> {
    const row = isUuid(keyId) ? await this.repo.findById(keyId) : null;
    if (!row || row.accountId !== accountId) throw new ManagementKeyError('management_key_not_found', `no management key ${keyId}`);
    return (await this.opened([row]))[0];
  }

  async list(accountId: string, limit: number, after: { createdAt: Date; keyId: string } | null): Promise<ManagementKeyRecord[]> {
    return this.opened(await this.repo.list(accountId, limit, after));
  }

  /** Records with their names opened for display (ERASED_NAME once the holder is erased). */
  private async opened(records: readonly ManagementKeyRecord[]): Promise<ManagementKeyRecord[]> {
    const plain = await this.names.openMany(records.map((r) => ({ value: r.name, owner: r.nameOwner })));
    return records.map((r, i) => ({ ...r, name: plain[i], nameOwner: null }));
  }

  /** ManagementKeyCreated as it is stored: the name sealed for the account holder. */
  private async sealName(e: ManagementKeyEvent): Promise<ManagementKeyEvent> {
    if (e.type !== 'ManagementKeyCreated') return e;
    const owner = await this.names.holderOf(e.data.accountId);
    if (owner === null) return e;
    return { type: e.type, data: { ...e.data, name: (await this.names.seal(owner, e.data.name)).value, nameOwner: owner } };
  }

  private execute(keyId: string, command: ManagementKeyCommand, actor: string): Promise<Decided> {
    return decideAndAppend<ManagementKeyState, Decided>({
      store: this.store,
      stream: managementKeyStream(keyId),
      maxAttempts: 10,
      load: () => this.load(keyId),
      decide: async ({ state, version }) => {
        const now = this.clock.now();
        const decided = decideManagementKey(command, state, { now });
        if (decided.length === 0) return { answer: { state, version } };
        const events = await Promise.all(decided.map((e) => this.sealName(e)));
        const name = command.type === 'CreateManagementKey' ? 'created' : 'revoked';
        const append: NewEvent[] = events.map((e, i) => ({
          id: deterministicId(`mgmtkey:${keyId}:${name}#${i}`),
          type: e.type,
          data: { ...e.data },
          metadata: { occurredAt: now.toISOString(), command: command.type, actor },
        }));
        return { append, appended: (r) => ({ state: events.reduce(evolveManagementKey, state), version: r.nextVersion }) };
      },
      alreadyAppended: () => this.load(keyId),
      gaveUp: (err) => new ManagementKeyError('version_conflict', `management key ${keyId} kept changing; gave up after ${err.attempts} attempts`),
    });
  }

  private async writeRow(done: Decided): Promise<ManagementKeyRecord> {
    await this.repo.upsert(done.state, done.version);
    const row = await this.repo.findById(done.state.keyId);
    if (!row) throw new Error(`management_keys row of ${done.state.keyId} is missing right after its upsert`);
    return (await this.opened([row]))[0];
  }

  private async load(keyId: string): Promise<Decided> {
    let state = initialManagementKeyState();
    let version = 0n;
    for (const e of await this.store.readStream(managementKeyStream(keyId))) {
      state = evolveManagementKey(state, decodeManagementKeyEvent(e.type, e.data));
      version = e.streamVersion;
    }
    return { state, version };
  }
}
