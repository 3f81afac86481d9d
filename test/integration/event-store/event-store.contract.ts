/**
 * The behaviour every EventStore adapter must have. Each adapter's spec calls
 * eventStoreContract() with a factory that gives a store over an empty log.
 */
import { randomUUID } from 'node:crypto';
import {
  EventIdConflictError,
  EventStore,
  NewEvent,
  RecordedEvent,
  VersionConflictError,
  comparePositions,
} from '../../../src/platform/event-store/event-store.port';

export interface ContractHarness {
  store: EventStore;
  /** A prefix unique to this run, so adapters over a shared server see only their own streams. */
  prefix: string;
  dispose(): Promise<void>;
}

const ev = (type: string, data: Record<string, unknown> = {}, id = randomUUID()): NewEvent => ({
  id,
  type,
  data,
  metadata: { at: new Date().toISOString() },
});

export function eventStoreContract(name: string, makeHarness: () => Promise<ContractHarness>): void {
  describe(`EventStore contract: ${name}`, () => {
    let h: ContractHarness;
    let store: EventStore;
    let n = 0;
    const stream = (kind = 's') => `${h.prefix}${kind}-${++n}`;

    beforeAll(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterAll(async () => {
      await h?.dispose();
    });

    it('appends to a new stream and reads it back in order with contiguous versions', async () => {
      const s = stream();
      const r1 = await store.append(s, [ev('A', { i: 1 }), ev('B', { i: 2 })], { expectedVersion: 'no_stream' });
      expect(r1).toEqual({ nextVersion: 2n, idempotent: false });
      const r2 = await store.append(s, [ev('C', { i: 3 })], { expectedVersion: 2n });
      expect(r2.nextVersion).toBe(3n);
      const read = await store.readStream(s);
      expect(read.map((e) => [e.type, e.streamVersion, e.data.i])).toEqual([
        ['A', 1n, 1],
        ['B', 2n, 2],
        ['C', 3n, 3],
      ]);
      expect(await store.streamVersion(s)).toBe(3n);
      expect(await store.streamVersion(stream())).toBe(0n);
      expect((await store.readStream(s, { afterVersion: 1n, limit: 1 })).map((e) => e.type)).toEqual(['B']);
    });

    it('rejects a wrong expected version and writes nothing', async () => {
      const s = stream();
      await store.append(s, [ev('A')], { expectedVersion: 'no_stream' });
      await expect(store.append(s, [ev('B')], { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      await expect(store.append(s, [ev('B')], { expectedVersion: 0n })).rejects.toMatchObject({
        code: 'version_conflict',
        actual: 1n,
      });
      await expect(store.append(stream(), [ev('B')], { expectedVersion: 'stream_exists' })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
      await store.append(s, [ev('B')], { expectedVersion: 'stream_exists' });
      await store.append(s, [ev('C')], { expectedVersion: 'any' });
      expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    it('treats a re-append of the same event id and payload as a no-op success', async () => {
      const s = stream();
      const a = ev('A', { amount: '5' });
      await store.append(s, [a], { expectedVersion: 'no_stream' });
      // A retry: same id, stream, type and data; other metadata and a stale expected version.
      const again = await store.append(s, [{ ...a, metadata: { at: 'later' } }], { expectedVersion: 'no_stream' });
      expect(again).toEqual({ nextVersion: 1n, idempotent: true });
      expect(await store.readStream(s)).toHaveLength(1);
    });

    it('rejects a re-append of an event id with a different payload, type or stream', async () => {
      const s = stream();
      const a = ev('A', { amount: '5' });
      await store.append(s, [a], { expectedVersion: 'no_stream' });
      await expect(store.append(s, [{ ...a, data: { amount: '6' } }], { expectedVersion: 'any' })).rejects.toBeInstanceOf(
        EventIdConflictError,
      );
      await expect(store.append(s, [{ ...a, type: 'B' }], { expectedVersion: 'any' })).rejects.toMatchObject({
        code: 'event_exists_with_different',
      });
      await expect(store.append(stream(), [a], { expectedVersion: 'any' })).rejects.toBeInstanceOf(EventIdConflictError);
      expect(await store.readStream(s)).toHaveLength(1);
    });

    it('validates input before writing', async () => {
      await expect(store.append(stream(), [], { expectedVersion: 'any' })).rejects.toThrow(/at least one event/);
      await expect(store.append(stream(), [{ ...ev('A'), id: 'nope' }], { expectedVersion: 'any' })).rejects.toThrow(
        /uuid/,
      );
      const dup = ev('A');
      await expect(store.append(stream(), [dup, dup], { expectedVersion: 'any' })).rejects.toThrow(/twice/);
    });

    it('lets exactly one of many concurrent appends at the same expected version win', async () => {
      const s = stream();
      await store.append(s, [ev('Opened')], { expectedVersion: 'no_stream' });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.append(s, [ev('Try', { i })], { expectedVersion: 1n })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(19);
      rejected.forEach((r) => expect(r.reason).toBeInstanceOf(VersionConflictError));
      expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([1n, 2n]);
    });

    it('fails a conflicting append alone when it arrives together with others', async () => {
      const streams = Array.from({ length: 30 }, () => stream('g'));
      await Promise.all(streams.map((s) => store.append(s, [ev('Opened')], { expectedVersion: 'no_stream' })));
      const outcomes = await Promise.allSettled(
        streams.map((s, i) => store.append(s, [ev('Next', { i })], { expectedVersion: i === 7 ? 5n : 1n })),
      );
      outcomes.forEach((o, i) => expect(o.status).toBe(i === 7 ? 'rejected' : 'fulfilled'));
      for (const [i, s] of streams.entries()) {
        expect(await store.streamVersion(s)).toBe(i === 7 ? 1n : 2n);
      }
    });

    it('reads the whole log in position order, from a position, filtered by stream prefix', async () => {
      const s1 = stream('ra');
      const s2 = stream('rb');
      await store.append(s1, [ev('X1')], { expectedVersion: 'any' });
      await store.append(s2, [ev('Y1')], { expectedVersion: 'any' });
      await store.append(s1, [ev('X2')], { expectedVersion: 'any' });
      // Readers of the whole log see a commit once every older transaction has ended (on
      // Postgres, in any database of the server), so wait for it rather than race it.
      let ours: RecordedEvent[] = [];
      await waitForAsync(async () => {
        const mine = await readAllOf(store, [`${h.prefix}ra-`, `${h.prefix}rb-`]);
        ours = mine.filter((e) => e.streamId === s1 || e.streamId === s2);
        return ours.length >= 3;
      });
      expect(ours.map((e) => e.type)).toEqual(['X1', 'Y1', 'X2']);
      for (let i = 1; i < ours.length; i++) expect(comparePositions(ours[i - 1].position, ours[i].position)).toBe(-1);
      const after = await store.readAll({ after: ours[0].position, streamPrefixes: [s1, s2] });
      expect(after.map((e) => e.type)).toEqual(['Y1', 'X2']);
      const onlyRb = await readAllOf(store, [`${h.prefix}rb-`]);
      expect(onlyRb.every((e) => e.streamId.startsWith(`${h.prefix}rb-`))).toBe(true);
    });

    it('finds an event by id', async () => {
      const s = stream();
      const a = ev('A', { k: 'v' });
      await store.append(s, [a], { expectedVersion: 'any' });
      const got = await store.getEvent(a.id);
      expect(got).toMatchObject({ id: a.id, type: 'A', data: { k: 'v' }, streamId: s, streamVersion: 1n });
      expect(await store.getEvent(randomUUID())).toBeNull();
    });

    it('tells the position of the newest event, per stream prefix', async () => {
      const s1 = `${h.prefix}head${++n}a-1`;
      const s2 = `${h.prefix}head${n}b-1`;
      await store.append(s1, [ev('A')], { expectedVersion: 'any' });
      await store.append(s2, [ev('B')], { expectedVersion: 'any' });
      const [a] = await store.readStream(s1);
      const [b] = await store.readStream(s2);
      expect(await store.headPosition([`${h.prefix}head${n}a-`])).toEqual(a.position);
      expect(await store.headPosition([`${h.prefix}head${n}`])).toEqual(b.position);
      expect(comparePositions(await store.headPosition(), b.position)).toBeGreaterThanOrEqual(0);
    });

    it('chains hashes per stream', async () => {
      const s = stream();
      await store.append(s, [ev('A'), ev('B')], { expectedVersion: 'any' });
      const [a, b] = await store.readStream(s);
      expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(b.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(a.hash).not.toBe(b.hash);
    });

    it('delivers history and then live events to a catch-up subscription, in order', async () => {
      const prefix = `${h.prefix}sub${++n}-`;
      await store.append(`${prefix}1`, [ev('Old')], { expectedVersion: 'any' });
      const seen: RecordedEvent[] = [];
      const sub = store.subscribe({
        streamPrefixes: [prefix],
        limit: 2,
        onEvents: async (events) => {
          seen.push(...events);
        },
      });
      try {
        await sub.caughtUp();
        expect(seen.map((e) => e.type)).toEqual(['Old']);
        for (let i = 0; i < 5; i++) await store.append(`${prefix}${i % 2}`, [ev(`New${i}`)], { expectedVersion: 'any' });
        await waitFor(() => seen.length === 6);
        expect(seen.map((e) => e.type)).toEqual(['Old', 'New0', 'New1', 'New2', 'New3', 'New4']);
      } finally {
        await sub.stop();
      }
    });
  });
}

async function readAllOf(store: EventStore, prefixes: string[]): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll({ after: out.at(-1)?.position, limit: 100, streamPrefixes: prefixes });
    out.push(...page);
    if (page.length < 100) return out;
  }
}

export async function waitForAsync(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
