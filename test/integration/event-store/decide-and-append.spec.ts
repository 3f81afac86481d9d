/**
 * The generic load → decide → append handler against the real Postgres store: a writer that
 * gets in between our load and our append costs one more round, a stream that never stops
 * changing is given up on (naming the stream and the attempts), and a command run again finds
 * its events stored and appends nothing.
 */
import { randomUUID } from 'node:crypto';
import { NewEvent } from '../../../src/platform/event-store/event-store.port';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { DecideAndAppend, StreamContendedError, decideAndAppend } from '../../../src/platform/event-store/decide-and-append';
import { FreshDb, freshDb } from '../../support/fresh-db';

let db: FreshDb;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await freshDb(4);
  store = new PostgresEventStore(db.pool, { pollMs: 20 });
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

const counted = (id: string, n: number): NewEvent => ({ id, type: 'Counted', data: { n }, metadata: {} });

/** A counter stream: the state is how many events it has; each command appends the next one. */
function counter(stream: string, commandId: string, onLoad: (version: bigint) => Promise<void> = async () => undefined) {
  const loads: bigint[] = [];
  const run: DecideAndAppend<number, { version: bigint; idempotent: boolean }> = {
    store,
    stream,
    maxAttempts: 3,
    load: async () => {
      const version = await store.streamVersion(stream);
      loads.push(version);
      await onLoad(version); // a rival may write here, after our read and before our append
      return { state: Number(version), version };
    },
    decide: ({ state }) => ({
      append: [counted(commandId, state + 1)],
      appended: (r) => ({ version: r.nextVersion, idempotent: r.idempotent }),
    }),
  };
  return { run, loads };
}

describe('decideAndAppend', () => {
  it('loads and decides again after a version conflict, then appends', async () => {
    const stream = `test-${randomUUID()}`;
    const { run, loads } = counter(stream, randomUUID(), async (version) => {
      if (loads.length === 1) await store.append(stream, [counted(randomUUID(), Number(version) + 1)], { expectedVersion: version });
    });
    await expect(decideAndAppend(run)).resolves.toEqual({ version: 2n, idempotent: false });
    expect(loads).toEqual([0n, 1n]);
    const events = await store.readStream(stream);
    expect(events.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('gives up after maxAttempts with an error naming the stream and the attempts', async () => {
    const stream = `test-${randomUUID()}`;
    const { run, loads } = counter(stream, randomUUID(), async (version) => {
      await store.append(stream, [counted(randomUUID(), Number(version) + 1)], { expectedVersion: version });
    });
    const err = await decideAndAppend(run).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamContendedError);
    expect((err as StreamContendedError).stream).toBe(stream);
    expect((err as StreamContendedError).attempts).toBe(3);
    expect((err as StreamContendedError).code).toBe('version_conflict');
    expect((err as Error).message).toContain(`stream ${stream} kept changing under us; gave up after 3 attempts`);
    expect(loads).toHaveLength(3);
  });

  it("answers with the caller's own error when it gives up", async () => {
    const stream = `test-${randomUUID()}`;
    const { run } = counter(stream, randomUUID(), async (version) => {
      await store.append(stream, [counted(randomUUID(), Number(version) + 1)], { expectedVersion: version });
    });
    const mine = new Error('mine');
    await expect(decideAndAppend({ ...run, gaveUp: (e) => (e.attempts === 3 ? mine : e) })).rejects.toBe(mine);
  });

  it('a command run again finds its events stored: nothing is appended, and it says so', async () => {
    const stream = `test-${randomUUID()}`;
    const commandId = randomUUID();
    await expect(decideAndAppend(counter(stream, commandId).run)).resolves.toEqual({ version: 1n, idempotent: false });
    // Decided on the state it saw the first time (the retry of a command whose answer was lost).
    const again = { ...counter(stream, commandId).run, assumed: { state: 0, version: 0n } };
    await expect(decideAndAppend(again)).resolves.toEqual({ version: 1n, idempotent: true });
    let already = 0;
    await expect(
      decideAndAppend({ ...again, alreadyAppended: async () => ({ version: BigInt(++already), idempotent: true }) }),
    ).resolves.toEqual({ version: 1n, idempotent: true });
    expect(already).toBe(1);
    expect(await store.streamVersion(stream)).toBe(1n);
  });

  it('an id taken by another payload is an error of the caller, or a reason to decide again', async () => {
    const stream = `test-${randomUUID()}`;
    const commandId = randomUUID();
    await store.append(stream, [counted(commandId, 99)], { expectedVersion: 0n });
    const taken = new Error('taken');
    await expect(decideAndAppend({ ...counter(stream, commandId).run, onIdConflict: () => taken })).rejects.toBe(taken);
    const { run, loads } = counter(stream, commandId);
    await expect(decideAndAppend({ ...run, onIdConflict: 'retry' })).rejects.toBeInstanceOf(StreamContendedError);
    expect(loads).toHaveLength(3);
  });
});
