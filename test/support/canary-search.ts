/**
 * Searches for a string everywhere a request's content must never land (DESIGN.md, "Privacy
 * promises"): every table of a Postgres database, every key and value of Redis, files written
 * since a moment, pub/sub traffic, and console output. Each search returns where it found the string, so a
 * failing test names the place. The needle is compared as bytes (case-insensitively for
 * Postgres text), and never echoed in what is returned.
 *
 * Pair each search with a positive control (search for something known to be there), so a
 * search that silently looks at nothing cannot make a privacy test pass.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { quoteIdent } from '../../src/platform/database/pg';
import { zipEntries } from './export-zip-reader';

/** A string no test data, id or log line could hold by chance; lowercase, with no LIKE wildcards. */
export function newCanary(): string {
  return `canary-${randomBytes(12).toString('hex')}`;
}

/** Tables (and how many rows in each) holding the needle, in any text, json or bytea column. */
export async function searchPostgres(pool: Pool, needle: string): Promise<{ hits: string[]; tablesSearched: number }> {
  const { rows: tables } = await pool.query<{ schema: string; name: string; bytea: string[] | null }>(`
    SELECT n.nspname AS schema, c.relname AS name,
           array_agg(a.attname::text) FILTER (WHERE a.atttypid = 'bytea'::regtype) AS bytea
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     GROUP BY n.nspname, c.relname`);
  // Large objects live in pg_catalog but hold user data.
  tables.push({ schema: 'pg_catalog', name: 'pg_largeobject', bytea: ['data'] });
  const hits: string[] = [];
  for (const t of tables) {
    const ident = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    // The whole row as text covers text, varchar, json, jsonb and arrays; bytea prints as hex,
    // so its columns are searched as bytes. Parameters keep the needle out of the SQL text
    // (and so out of pg_stat_activity / statement logs).
    const byteaTests = (t.bytea ?? []).map((col) => ` OR position(convert_to($1, 'UTF8') IN r.${quoteIdent(col)}) > 0`).join('');
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${ident} AS r WHERE position(lower($1) IN lower(r::text)) > 0${byteaTests}`,
      [needle],
    );
    if (rows[0].n > 0) hits.push(`${t.schema}.${t.name} (${rows[0].n} rows)`);
  }
  return { hits, tablesSearched: tables.length };
}

/**
 * Entries of a zip (a data export) whose uncompressed bytes hold the needle, and how many
 * entries were searched. The zip is read with yauzl, so compressed content is searched as the
 * person who opens it would see it.
 */
export async function searchZip(zip: Buffer, needle: string): Promise<{ hits: string[]; entriesSearched: number; bytesSearched: number }> {
  const target = Buffer.from(needle, 'utf8');
  const hits: string[] = [];
  let entriesSearched = 0;
  let bytesSearched = 0;
  for (const [name, bytes] of await zipEntries(zip)) {
    entriesSearched++;
    bytesSearched += bytes.length;
    if (bytes.includes(target) || bytes.toString('utf8').toLowerCase().includes(needle.toLowerCase())) hits.push(name);
  }
  return { hits, entriesSearched, bytesSearched };
}

export interface RedisSearch {
  /** `db<n> <key>: name|value (<type>)` for every key whose name or value holds the needle. */
  hits: string[];
  keysSearched: number;
  /** Keys of a type this search cannot read (reported, never silently skipped). */
  unreadable: string[];
}

/**
 * Every key of every database of the Redis at `url` (not only one prefix: a leak may sit under
 * any name), names and values of every type: strings, hashes, lists, sets, sorted sets, streams.
 */
export async function searchRedis(url: string, needle: string): Promise<RedisSearch> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await probe.connect();
  const needleBuf = Buffer.from(needle);
  const has = (b: Buffer | string | null | undefined) => b != null && Buffer.from(b).includes(needleBuf);
  const result: RedisSearch = { hits: [], keysSearched: 0, unreadable: [] };
  try {
    const keyspace = await probe.info('keyspace');
    const dbs = [...keyspace.matchAll(/^db(\d+):/gm)].map((m) => Number(m[1]));
    for (const db of dbs) {
      await probe.select(db);
      let cursor = '0';
      do {
        const [next, keys] = await probe.scanBuffer(cursor, 'COUNT', 1000);
        cursor = String(next);
        for (const key of keys) {
          result.keysSearched++;
          const name = `db${db} ${key.toString('latin1')}`;
          if (has(key)) result.hits.push(`${name}: name`);
          const type = await probe.type(key);
          const values = await readValues(probe, key, type);
          if (values === null) result.unreadable.push(`${name} (${type})`);
          else if (values.some(has)) result.hits.push(`${name}: value (${type})`);
        }
      } while (cursor !== '0');
    }
  } finally {
    probe.disconnect();
  }
  return result;
}

/** Every byte string a key holds; [] for a key gone since SCAN; null for a type not read here. */
async function readValues(r: Redis, key: Buffer, type: string): Promise<Buffer[] | null> {
  switch (type) {
    case 'none':
      return [];
    case 'string':
      return [(await r.getBuffer(key)) ?? Buffer.alloc(0)];
    case 'hash':
      return (await r.callBuffer('HGETALL', key)) as Buffer[]; // fields and values, alternating
    case 'list':
      return r.lrangeBuffer(key, 0, -1);
    case 'set':
      return r.smembersBuffer(key);
    case 'zset':
      return r.zrangeBuffer(key, 0, -1);
    case 'stream': {
      const entries = (await r.callBuffer('XRANGE', key, '-', '+')) as [Buffer, Buffer[]][];
      return entries.flatMap(([id, fields]) => [id, ...fields]);
    }
    default:
      return null;
  }
}

/**
 * Pub/sub messages on every channel under `prefix`, while listening: a broadcast of content is a
 * leak too. Not the whole server: a pattern subscriber counts as a listener in PUBLISH's answer,
 * and the key broadcaster waits for that many acks, so a global one would slow other tests.
 */
export async function listenToChannels(url: string, prefix: string): Promise<{ messages: Array<{ channel: string; message: Buffer }>; stop(): Promise<void> }> {
  const sub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await sub.connect();
  const messages: Array<{ channel: string; message: Buffer }> = [];
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => messages.push({ channel: channel.toString(), message }));
  await sub.psubscribe(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
  return {
    messages,
    async stop() {
      await sub.punsubscribe().catch(() => undefined);
      sub.disconnect();
    },
  };
}

/**
 * Regular files under `roots` modified after `since` (node_modules and .git left out) whose
 * bytes hold the needle. Uses find and grep, so it stays cheap on a large tree.
 */
export async function filesContaining(roots: string[], since: Date, needle: string): Promise<string[]> {
  // find may meet files it cannot read or that vanish (other processes use /tmp too); grep -l
  // exits 1 when nothing matched. Only what it prints counts.
  const script =
    'find "$@" -xdev \\( -name node_modules -o -name .git \\) -prune -o -type f -newermt "@$SINCE" -print0 2>/dev/null' +
    ' | xargs -0 -r grep -lFs -e "$NEEDLE" --; exit 0';
  const seconds = Math.floor(since.getTime() / 1000) - 1;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'search', ...roots], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SINCE: String(seconds), NEEDLE: needle },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`file search failed (exit ${code}): ${err.slice(0, 500)}`));
      else resolve(out.split('\n').filter(Boolean));
    });
  });
}

export interface ConsoleCapture {
  /** Everything written through console.* and to stdout/stderr since the capture began. */
  lines: string[];
  restore(): void;
}

/** Keeps a copy of all console and stdout/stderr output (still passed on), for a later search. */
export function captureConsole(): ConsoleCapture {
  const lines: string[] = [];
  const restores: Array<() => void> = [];
  for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
      original.apply(console, args);
    };
    restores.push(() => (console[level] = original));
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      lines.push(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    });
    restores.push(() => (stream.write = original));
  }
  return { lines, restore: () => restores.splice(0).reverse().forEach((r) => r()) };
}
