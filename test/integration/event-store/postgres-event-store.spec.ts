import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { RecordedEvent, VersionConflictError } from '../../../src/platform/event-store/event-store.port';
import { chainHash, GENESIS_HASH } from '../../../src/platform/event-store/canonical';
import { writeLocked } from '../../../src/platform/event-store/postgres/append-locked';
import { freshDb, FreshDb } from '../../support/fresh-db';
import { eventStoreContract, waitFor } from './event-store.contract';

eventStoreContract('postgres', async () => {
  const db = await freshDb();
  const store = new PostgresEventStore(db.pool, { pollMs: 20 });
  return {
    store,
    prefix: 'c-',
    async dispose() {
      await store.close();
      await db.drop();
    },
  };
});

describe('Postgres event store specifics', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  beforeAll(async () => {
    db = await freshDb();
    store = new PostgresEventStore(db.pool, { pollMs: 20 });
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('does not skip an event whose transaction took its position early and committed late', async () => {
    const seen: RecordedEvent[] = [];
    const sub = store.subscribe({ onEvents: async (events) => void seen.push(...events) });
    await sub.caughtUp();

    // A slow writer takes a global_position first, then holds its transaction open.
    const slow = new Client({ connectionString: db.url });
    await slow.connect();
    await slow.query('BEGIN');
    await slow.query(
      `INSERT INTO events (stream_id, stream_version, event_id, type, data, hash)
       VALUES ('slow-1', 1, $1, 'Slow', '{}', '\\x00')`,
      [randomUUID()],
    );
    // A fast writer takes a later position and commits first; the subscription must wait.
    await store.append('fast-1', [{ id: randomUUID(), type: 'Fast', data: {} }], { expectedVersion: 'any' });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((e) => e.type)).toEqual([]);

    await slow.query('COMMIT');
    await slow.end();
    await waitFor(() => seen.length === 2);
    expect(seen.map((e) => e.type)).toEqual(['Slow', 'Fast']);
    await sub.stop();
  });

  it('reads the time an event was recorded to the millisecond, never rounding up', async () => {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO events (stream_id, stream_version, event_id, type, data, hash, recorded_at)
       VALUES ('rec-1', 1, $1, 'A', '{}', '\\x00', '2026-11-23 10:11:12.999999+00')`,
      [id],
    );
    expect((await store.getEvent(id))!.recordedAt.toISOString()).toBe('2026-11-23T10:11:12.999Z');
  });

  it('refuses UPDATE, DELETE and TRUNCATE on events', async () => {
    await store.append('imm-1', [{ id: randomUUID(), type: 'A', data: {} }], { expectedVersion: 'any' });
    await expect(db.pool.query("UPDATE events SET type = 'B' WHERE stream_id = 'imm-1'")).rejects.toThrow(/immutable/);
    await expect(db.pool.query("DELETE FROM events WHERE stream_id = 'imm-1'")).rejects.toThrow(/immutable/);
    await expect(db.pool.query('TRUNCATE events')).rejects.toThrow(/immutable/);
  });

  it('group-commits concurrent appends to different streams into few transactions', async () => {
    const before = await db.pool.query<{ n: bigint }>('SELECT count(DISTINCT transaction_id) AS n FROM events');
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        store.append(`gc-${i}`, [{ id: randomUUID(), type: 'A', data: { i } }], { expectedVersion: 'no_stream' }),
      ),
    );
    const after = await db.pool.query<{ n: bigint }>('SELECT count(DISTINCT transaction_id) AS n FROM events');
    const transactions = Number(after.rows[0].n - before.rows[0].n);
    expect(transactions).toBeGreaterThan(0);
    expect(transactions).toBeLessThan(40); // 400 appends, batched (one per call would be 400)
  });

  it('appends after another instance moved the stream on, keeping versions and the hash chain exact', async () => {
    const other = new PostgresEventStore(db.pool, { pollMs: 20 });
    try {
      const s = `heads-${randomUUID()}`;
      const ev = (type: string) => ({ id: randomUUID(), type, data: { type } });
      await store.append(s, [ev('A')], { expectedVersion: 'no_stream' }); // this store remembers v1
      await other.append(s, [ev('B'), ev('C')], { expectedVersion: 1n }); // the head moves to v3 behind its back
      await expect(store.append(s, [ev('X')], { expectedVersion: 1n })).rejects.toBeInstanceOf(VersionConflictError);
      await expect(store.append(s, [ev('D')], { expectedVersion: 'any' })).resolves.toEqual({ nextVersion: 4n, idempotent: false });
      await expect(other.append(s, [ev('E')], { expectedVersion: 4n })).resolves.toEqual({ nextVersion: 5n, idempotent: false });
      const events = await store.readStream(s);
      expect(events.map((e) => [e.type, e.streamVersion])).toEqual([['A', 1n], ['B', 2n], ['C', 3n], ['D', 4n], ['E', 5n]]);
      let prev: Buffer = GENESIS_HASH;
      for (const e of events) {
        const hash = chainHash(prev, { id: e.id, streamId: s, streamVersion: e.streamVersion, type: e.type, data: e.data, metadata: e.metadata });
        expect(e.hash).toBe(hash.toString('hex'));
        prev = hash;
      }
    } finally {
      await other.close();
    }
  });

  it('reaches the streams of an append through their key, however many streams there are', async () => {
    // Every plan the server makes inside append_events, sent back to this client (auto_explain).
    const plans: string[] = [];
    const explained = new Pool({
      connectionString: db.url,
      max: 1,
      options: '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_nested_statements=on -c client_min_messages=log',
    });
    explained.on('connect', (c) => c.on('notice', (n) => plans.push(n.message ?? '')));
    const watched = new PostgresEventStore(explained);
    try {
      await db.pool.query("INSERT INTO event_streams (stream_id) SELECT 'many-' || i FROM generate_series(1, 5000) i");
      await db.pool.query('ANALYZE event_streams');
      const s = `by-key-${randomUUID()}`;
      await watched.append(s, [{ id: randomUUID(), type: 'A', data: {} }], { expectedVersion: 'no_stream' });
      await watched.append(s, [{ id: randomUUID(), type: 'B', data: {} }], { expectedVersion: 1n });
      await watched.append('many-17', [{ id: randomUUID(), type: 'C', data: {} }], { expectedVersion: 0n });
      const onStreams = plans.filter((p) => /on event_streams/.test(p));
      expect(onStreams.length).toBeGreaterThan(0); // the plans were seen at all
      expect(onStreams.filter((p) => /Seq Scan on event_streams/.test(p))).toEqual([]);
    } finally {
      await watched.close();
      await explained.end();
    }
  });

  it('does work in proportion to a batch, not to the square of its streams', async () => {
    // auto_explain with ANALYZE reports the rows each join threw away: a join of the batch's
    // streams with its believed heads that is not by key compares every pair (160,000 for 400).
    const plans: string[] = [];
    const explained = new Pool({
      connectionString: db.url,
      max: 1,
      options:
        '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on ' +
        '-c auto_explain.log_timing=off -c auto_explain.log_nested_statements=on -c client_min_messages=log',
    });
    explained.on('connect', (c) => c.on('notice', (n) => plans.push(n.message ?? '')));
    const watched = new PostgresEventStore(explained, { maxBatch: 1000, concurrency: 1 });
    try {
      const streams = Array.from({ length: 400 }, (_, i) => `square-${i}-${randomUUID()}`);
      const appendAll = (expectedVersion: bigint) =>
        Promise.all(streams.map((s) => watched.append(s, [{ id: randomUUID(), type: 'A', data: {} }], { expectedVersion })));
      await appendAll(0n); // new streams
      await appendAll(1n); // the same streams, moved on: the usual case
      // The plans of append_events and of the statements inside it (not the store's own reads).
      const batchPlans = plans.filter((p) => /append_events|json_to_recordset|unnest\((ids|stale)\b/.test(p));
      expect(batchPlans.filter((p) => /UPDATE event_streams/.test(p)).length).toBeGreaterThan(0); // seen at all
      const removed = batchPlans.flatMap((p) => [...p.matchAll(/Rows Removed by (?:Join )?Filter: (\d+)/g)].map((m) => Number(m[1])));
      expect(Math.max(0, ...removed)).toBeLessThan(streams.length);
      // And the batches were batches: a few statements for 800 appends.
      expect(plans.filter((p) => /Query Text: SELECT stale_stream/.test(p)).length).toBeLessThan(20);
    } finally {
      await watched.close();
      await explained.end();
    }
  });

  /** Settles within `ms`, or fails saying what hung (a stale-head loop never settles). */
  const within = <T>(what: string, p: Promise<T>, ms = 5000): Promise<T> =>
    Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms).unref())]);
  const one = (type: string) => [{ id: randomUUID(), type, data: { type } }];

  it('creates a stream whose first append failed its version check (alone, in a group, and from a row left before 028)', async () => {
    const alone = `v0-alone-${randomUUID()}`;
    await expect(store.append(alone, one('X'), { expectedVersion: 5n })).rejects.toBeInstanceOf(VersionConflictError);
    const other = new PostgresEventStore(db.pool, { pollMs: 20 });
    try {
      // Another instance (no cached head) and this one (which remembers version 0).
      await expect(within('append after a failed first append', other.append(alone, one('A'), { expectedVersion: 'no_stream' }))).resolves.toEqual({ nextVersion: 1n, idempotent: false });
      await expect(within('second append', store.append(alone, one('B'), { expectedVersion: 1n }))).resolves.toEqual({ nextVersion: 2n, idempotent: false });

      // The same through append_events: a failed call in a batch that spans several streams.
      const grouped = Array.from({ length: 5 }, () => `v0-group-${randomUUID()}`);
      const failed = await Promise.allSettled(grouped.map((s, i) => store.append(s, one('X'), { expectedVersion: i === 0 ? 3n : 'no_stream' })));
      expect(failed.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const again = await within('grouped appends after a failed one', Promise.all(grouped.map((s, i) => other.append(s, one('A'), { expectedVersion: i === 0 ? 'no_stream' : 1n }))));
      expect(again.map((r) => r.nextVersion)).toEqual([1n, 2n, 2n, 2n, 2n]);

      // A row as 007 left it: version 0 with the genesis hash (32 zero bytes) as its last hash.
      const legacy = [`v0-legacy-${randomUUID()}`, `v0-legacy-${randomUUID()}`];
      await db.pool.query("INSERT INTO event_streams (stream_id, version, last_hash) SELECT unnest($1::text[]), 0, decode(repeat('00', 32), 'hex')", [legacy]);
      await expect(within('append to a legacy version-0 row', store.append(legacy[0], one('A'), { expectedVersion: 0n }))).resolves.toEqual({ nextVersion: 1n, idempotent: false });
      const both = await within('grouped append to legacy rows', Promise.all([other.append(legacy[1], one('A'), { expectedVersion: 'no_stream' }), other.append(`x-${randomUUID()}`, one('A'), { expectedVersion: 'no_stream' })]));
      expect(both.map((r) => r.nextVersion)).toEqual([1n, 1n]);
      for (const s of [alone, ...grouped, ...legacy]) {
        const events = await store.readStream(s);
        expect(events.map((e) => e.streamVersion)).toEqual(events.map((_e, i) => BigInt(i + 1)));
        let prev: Buffer = GENESIS_HASH;
        for (const e of events) {
          prev = chainHash(prev, { id: e.id, streamId: s, streamVersion: e.streamVersion, type: e.type, data: e.data, metadata: e.metadata });
          expect(e.hash).toBe(prev.toString('hex'));
        }
      }
    } finally {
      await other.close();
    }
  });

  it('lets exactly one of several instances create a stream, or move it from a version, when they race', async () => {
    const stores = Array.from({ length: 4 }, () => new PostgresEventStore(db.pool, { pollMs: 20 }));
    try {
      for (let round = 0; round < 10; round++) {
        const s = `race-${randomUUID()}`;
        // No instance has seen the stream: each assumes it new, and the database decides.
        const created = await Promise.allSettled(stores.map((st, i) => st.append(s, one(`create-${i}`), { expectedVersion: 'no_stream' })));
        expect(created.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        created.filter((r): r is PromiseRejectedResult => r.status === 'rejected').forEach((r) => expect(r.reason).toBeInstanceOf(VersionConflictError));
        // Every instance now knows the head (the losers read it); all try to move it from version 1.
        const moved = await Promise.allSettled(stores.map((st, i) => st.append(s, one(`move-${i}`), { expectedVersion: 1n })));
        expect(moved.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        moved.filter((r): r is PromiseRejectedResult => r.status === 'rejected').forEach((r) => expect(r.reason).toBeInstanceOf(VersionConflictError));
        // And with 'any', every instance's event is written, in some order, chained.
        await Promise.all(stores.map((st, i) => st.append(s, one(`any-${i}`), { expectedVersion: 'any' })));
        const events = await store.readStream(s);
        expect(events.map((e) => e.streamVersion)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
        let prev: Buffer = GENESIS_HASH;
        for (const e of events) {
          prev = chainHash(prev, { id: e.id, streamId: s, streamVersion: e.streamVersion, type: e.type, data: e.data, metadata: e.metadata });
          expect(e.hash).toBe(prev.toString('hex'));
        }
        expect((await db.pool.query('SELECT version, last_hash FROM event_streams WHERE stream_id = $1', [s])).rows[0]).toEqual({ version: 6n, last_hash: prev });
      }
    } finally {
      await Promise.all(stores.map((st) => st.close()));
    }
  });

  it('answers an append with "no stream" to an existing stream it has not seen as a conflict, and a repeat of it as done', async () => {
    const s = `seen-${randomUUID()}`;
    const first = one('A');
    await store.append(s, first, { expectedVersion: 'no_stream' });
    const other = new PostgresEventStore(db.pool, { pollMs: 20 });
    try {
      await expect(other.append(s, one('B'), { expectedVersion: 'no_stream' })).rejects.toBeInstanceOf(VersionConflictError);
      // The same inside a batch over several streams (append_events; the first call is a batch of
      // its own, the store being idle, and the rest queue behind it): it fails alone.
      const existing = `seen-${randomUUID()}`;
      await store.append(existing, one('A'), { expectedVersion: 'no_stream' });
      const third = new PostgresEventStore(db.pool, { pollMs: 20 });
      const streams = [...Array.from({ length: 5 }, () => `seen-new-${randomUUID()}`), existing];
      const outcomes = await Promise.allSettled(streams.map((x) => third.append(x, one('B'), { expectedVersion: 'no_stream' })));
      await third.close();
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      expect((outcomes[5] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
      expect((await store.readStream(existing)).map((e) => e.type)).toEqual(['A']);
      // The same event again from an instance that never saw it: a retry, done already.
      const fresh = new PostgresEventStore(db.pool, { pollMs: 20 });
      await expect(fresh.append(s, first, { expectedVersion: 'no_stream' })).resolves.toEqual({ nextVersion: 1n, idempotent: true });
      await fresh.close();
      expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A']);
    } finally {
      await other.close();
    }
  });

  it('writes a new stream in one statement, without reading its head first, when the append expects no stream', async () => {
    const statements: string[] = [];
    const explained = new Pool({
      connectionString: db.url,
      max: 1,
      options: '-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c client_min_messages=log',
    });
    explained.on('connect', (c) => c.on('notice', (n) => statements.push(n.message ?? '')));
    const watched = new PostgresEventStore(explained);
    try {
      const s = `one-statement-${randomUUID()}`;
      await watched.append(s, one('A'), { expectedVersion: 'no_stream' });
      await watched.append(s, one('B'), { expectedVersion: 1n });
      // One message per top-level statement (its text and plan): those that touch the stream table.
      const texts = statements.filter((t) => /event_streams/.test(t));
      expect(texts).toHaveLength(2); // one statement per append, no read of the head
      expect(texts[0]).toMatch(/INSERT INTO event_streams/);
      expect(texts[1]).toMatch(/UPDATE event_streams/);
      expect((await store.readStream(s)).map((e) => [e.type, e.streamVersion])).toEqual([['A', 1n], ['B', 2n]]);
    } finally {
      await watched.close();
      await explained.end();
    }
  });

  describe('its rows sent as one jsonb parameter (append-one-stream.ts, append-locked.ts)', () => {
    // Strings JSON escapes, or that are more than one byte in UTF-8, as keys and values; nulls
    // at every depth; numbers at the edges of what JSON says.
    const awkward = ['é', '🙂', '"', '\\', '\\"', '\n\t\r', '\u2028\u2029', '</script>', 'a\u0001b', '\u007f', "it's", '{"a":1}', '{x,"y"}', 'NULL', ''];
    const dataOf = (i: number) => ({
      i,
      text: awkward[i % awkward.length],
      [awkward[(i + 3) % awkward.length] || 'empty']: awkward.join(''),
      nothing: null,
      list: [null, 1.5, -0.25, 1e300, 9007199254740991, true, { nested: null, deep: [awkward[i % awkward.length]] }],
      big: '9223372036854775807',
    });
    const eventsOf = (n: number, type = 'Awkward ☃ "typed"') =>
      Array.from({ length: n }, (_, i) => ({ id: randomUUID(), type, data: dataOf(i), ...(i % 2 === 0 && { metadata: { at: awkward[i % awkward.length], n: null } }) }));

    /** The stream as stored from version `from`: every event as appended, in order, versions contiguous, the chain exact. */
    async function expectStored(s: string, appended: ReturnType<typeof eventsOf>, from = 1n, prev: Buffer = GENESIS_HASH): Promise<Buffer> {
      const events = (await store.readStream(s)).filter((e) => e.streamVersion >= from && e.streamVersion < from + BigInt(appended.length));
      expect(events.map((e) => [e.id, e.type, e.data, e.metadata])).toEqual(appended.map((e) => [e.id, e.type, e.data, e.metadata ?? {}]));
      events.forEach((e, i) => expect(e.streamVersion).toBe(from + BigInt(i)));
      for (const e of events) {
        prev = chainHash(prev, { id: e.id, streamId: s, streamVersion: e.streamVersion, type: e.type, data: e.data, metadata: e.metadata });
        expect(e.hash).toBe(prev.toString('hex'));
      }
      return prev;
    }

    it('writes a huge batch of awkward events to a new stream and to an existing one, exactly', async () => {
      const s = `json-one-${randomUUID()}`;
      const first = eventsOf(3000);
      await expect(store.append(s, first, { expectedVersion: 'no_stream' })).resolves.toEqual({ nextVersion: 3000n, idempotent: false });
      const prev = await expectStored(s, first);
      const more = eventsOf(7);
      await expect(store.append(s, more, { expectedVersion: 3000n })).resolves.toEqual({ nextVersion: 3007n, idempotent: false });
      await expectStored(s, more, 3001n, prev);
    });

    it('writes the careful path\'s rows exactly (several streams, a repeat among them)', async () => {
      const [a, b, c] = [`json-locked-a-${randomUUID()}`, `json-locked-b-${randomUUID()}`, `json-locked-c-${randomUUID()}`];
      const stored = eventsOf(1);
      await store.append(a, stored, { expectedVersion: 'no_stream' });
      const toB = eventsOf(1200);
      const toC = eventsOf(3, 'C');
      const noop = () => undefined;
      const plan = await writeLocked(db.pool, [
        { streamId: a, events: stored, options: { expectedVersion: 'any' }, resolve: noop, reject: noop },
        { streamId: b, events: toB, options: { expectedVersion: 'no_stream' }, resolve: noop, reject: noop },
        { streamId: c, events: toC, options: { expectedVersion: 'any' }, resolve: noop, reject: noop },
      ]);
      expect(plan.outcomes).toEqual([{ nextVersion: 1n, idempotent: true }, { nextVersion: 1200n, idempotent: false }, { nextVersion: 3n, idempotent: false }]);
      await expectStored(b, toB);
      await expectStored(c, toC);
    });

    it('takes a stream to the last version a bigint holds, and refuses the one after, writing nothing', async () => {
      const s = `json-max-${randomUUID()}`;
      const last = Buffer.alloc(32, 0xab);
      await db.pool.query('INSERT INTO event_streams (stream_id, version, last_hash) VALUES ($1, $2, $3)', [s, (2n ** 63n - 2n).toString(), last]);
      const fresh = new PostgresEventStore(db.pool, { pollMs: 20 }); // reads the head, none cached
      try {
        const top = eventsOf(1);
        await expect(fresh.append(s, top, { expectedVersion: 2n ** 63n - 2n })).resolves.toEqual({ nextVersion: 2n ** 63n - 1n, idempotent: false });
        await expectStored(s, top, 2n ** 63n - 1n, last);
        await expect(fresh.append(s, eventsOf(1), { expectedVersion: 'any' })).rejects.toMatchObject({ code: '22003' }); // bigint out of range
        expect((await store.readStream(s)).map((e) => e.streamVersion)).toEqual([2n ** 63n - 1n]);
      } finally {
        await fresh.close();
      }
    });

    it('refuses an event type it could only store altered (a lone surrogate), rather than one its hash does not match', async () => {
      // As a text parameter, pg wrote the lone surrogate as U+FFFD: the stored type differed from
      // the hashed one and the chain no longer verified. In the JSON it stays escaped, and is refused.
      const s = `json-surrogate-${randomUUID()}`;
      const ok = eventsOf(1);
      await store.append(s, ok, { expectedVersion: 'no_stream' });
      await expect(store.append(s, [{ id: randomUUID(), type: 'Odd\ud800', data: {} }], { expectedVersion: 1n })).rejects.toMatchObject({ code: '22P02' });
      await expectStored(s, ok);
      expect(await store.readStream(s)).toHaveLength(1);
    });

    it('refuses data Postgres cannot store (a NUL character) without writing or spoiling the stream', async () => {
      const s = `json-nul-${randomUUID()}`;
      const ok = eventsOf(1);
      await store.append(s, ok, { expectedVersion: 'no_stream' });
      await expect(store.append(s, [{ id: randomUUID(), type: 'A', data: { text: 'a\u0000b' } }], { expectedVersion: 1n })).rejects.toMatchObject({ code: '22P05' });
      const next = eventsOf(2);
      await expect(store.append(s, next, { expectedVersion: 1n })).resolves.toEqual({ nextVersion: 3n, idempotent: false });
      const prev = await expectStored(s, ok);
      await expectStored(s, next, 2n, prev);
    });
  });

  it('counts the events of the streams under a prefix exactly, its _ and % taken literally', async () => {
    const tag = randomUUID().slice(0, 8);
    const add = (s: string, n: number) => store.append(s, Array.from({ length: n }, () => ({ id: randomUUID(), type: 'A', data: {} })), { expectedVersion: 'any' });
    await add(`cnt_${tag}-1`, 3);
    await add(`cnt_${tag}-2`, 2);
    await add(`cntx${tag}-3`, 4); // matches `cnt_` only if `_` were a wildcard
    expect(await store.countEvents(`cnt_${tag}-`)).toBe(5);
    expect(await store.countEvents(`cnt%${tag}`)).toBe(0);
    expect(await store.countEvents(`none-${tag}-`)).toBe(0);
  });
});
