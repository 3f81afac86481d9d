/**
 * The settle journal: where an answer's end goes when Postgres cannot take it (DESIGN.md, "When
 * a store is down"). A delivered answer is billed exactly once however long the outage lasts and
 * whoever restarts: the settle (or void, or returned free request) and the request's log row are
 * appended to a file under DATA_DIR and fsynced before the request is done with, then retried
 * with backoff until written; at start every journal file in the directory is read and replayed.
 *
 * A replayed settle commits with its row, as it would have without the outage (request-log.repository.ts).
 * Replaying is safe anywhere and any number of times: ledger event ids derive from the command
 * (a settle already written is answered idempotently) and a request-log row already in the table
 * is skipped (ON CONFLICT DO NOTHING). So a process may replay another's journal.
 *
 * Nothing here runs while Postgres is up: the file is opened on the first write that failed.
 * A line is `<checksum> <json>` (settle-journal.codec.ts): a torn last line is skipped, loudly.
 * When every entry of a file is written, the file is emptied (this process's) or removed (one
 * left by an earlier process).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { FileHandle, mkdir, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { PG_POOL } from '../../platform/database/pg';
import { isPgUnavailable } from '../../platform/database/pg-unavailable';
import { CommandBus } from '@nestjs/cqrs';
import { ExecuteAccountCommand } from '../../ledger/application/execute-account.command';
import { LedgerError } from '../../ledger/domain/errors';
import { insertRequestLogRows, isDataError, requestLogAlongside } from '../usage/request-log.repository';
import { KeptWrite, WriteKeeper, decodeLine, encodeLine } from './settle-journal.codec';

const RETRY_FIRST_MS = 100;
// Short enough that once Postgres is back, kept receipts are readable within about a second.
const RETRY_MAX_MS = 500;

interface Pending {
  write: KeptWrite;
  file: string;
}

@Injectable()
export class SettleJournal implements WriteKeeper, OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('SettleJournal');
  private readonly dir: string;
  private readonly ownFile: string;
  private handle: Promise<FileHandle> | null = null;
  /** Appends to this process's file, one after another. */
  private writing: Promise<unknown> = Promise.resolve();
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private delay = RETRY_FIRST_MS;
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly commands: CommandBus,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.dir = resolve(config.DATA_DIR, 'settle-journal');
    // Host and pid first: a process started beside a live one on the same directory leaves its file alone.
    this.ownFile = join(this.dir, `${safeHost()}~${process.pid}~${Date.now().toString(36)}${randomBytes(4).toString('hex')}.jsonl`);
  }

  /** Writes not yet in Postgres (this process's and those replayed from earlier ones). */
  get size(): number {
    return this.pending.size;
  }

  /** Reads every journal left in DATA_DIR and starts writing what they hold; does not wait for Postgres. */
  async onApplicationBootstrap(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.jsonl'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      if (writtenByLiveSibling(name)) {
        this.log.warn(`settle journal ${name} belongs to a process still running on this host; left to it`);
        continue;
      }
      await this.adopt(join(this.dir, name));
    }
    if (this.pending.size) {
      this.log.warn(`replaying ${this.pending.size} settles and request log rows kept in ${this.dir} while Postgres was unreachable`);
      this.retrySoon(0);
    }
  }

  /**
   * Keeps writes that Postgres could not take: durable (fsynced) when this resolves, then
   * retried until written. If the disk fails too they are still retried from memory, and the
   * loss on a crash is logged now, by request id.
   */
  async keep(writes: KeptWrite[]): Promise<void> {
    if (!writes.length) return;
    for (const w of writes) this.pending.set(w.id, { write: w, file: this.ownFile });
    try {
      await this.append(writes.map((w) => encodeLine({ kind: 'kept', write: w })).join(''), true);
    } catch (err) {
      this.log.error(`could not keep ${writes.length} writes on disk (${(err as Error).message}); retrying from memory only: requests ${writes.map((w) => w.id).join(', ')}`);
    }
    this.retrySoon(this.delay);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    // A round under way ends at the first failed try; bounded all the same (a connect that hangs).
    if (this.draining) await Promise.race([this.draining.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.writing.catch(() => undefined);
    if (this.handle) await (await this.handle).close().catch(() => undefined);
    this.handle = null; // rows kept by the request log on its way out still reach the disk
    if (this.pending.size) this.log.warn(`${this.pending.size} writes are still kept in ${this.dir}; the next start replays them`);
  }

  private retrySoon(ms: number): void {
    if (this.closed || this.timer || this.draining) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.draining = this.drain().finally(() => (this.draining = null));
    }, ms);
    this.timer.unref();
  }

  /** Writes pending entries in order; the first outage stops the round and the next comes after a backoff. */
  private async drain(): Promise<void> {
    for (const p of [...this.pending.values()]) {
      if (this.closed) return;
      try {
        await this.apply(p.write);
      } catch (err) {
        if (!isPgUnavailable(err)) this.log.error(`request ${p.write.id}: its kept write failed (${(err as Error).message}); retrying`);
        this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
        // retrySoon is a no-op while this round runs: arm the next one when it ends.
        setImmediate(() => this.retrySoon(this.delay));
        return;
      }
      this.pending.delete(p.write.id);
      await this.done(p);
    }
    this.delay = RETRY_FIRST_MS;
    // Kept while this round ran (keep() does not arm a round while one runs): their turn now.
    if (this.pending.size) setImmediate(() => this.retrySoon(0));
  }

  /**
   * The ledger command (idempotent by event id) with the row in its commit; the row on its own
   * (skipped if already there) when the ledger did not take it with the command.
   */
  private async apply(w: KeptWrite): Promise<void> {
    if (w.command) {
      try {
        const outcome = await this.commands.execute(new ExecuteAccountCommand(w.accountId, w.command, { causationId: w.id }, {}, requestLogAlongside(w.row)));
        if (outcome.alongsideWritten) return;
      } catch (err) {
        if (!(err instanceof LedgerError) || err.code === 'version_conflict') throw err;
        // The ledger refused it for good (say the hold expired meanwhile and was taken back):
        // nothing was charged, and the receipt says so.
        this.log.error(`request ${w.id}: its kept ${w.command.type} was refused by the ledger (${err.code}); recorded as unbilled`);
        w.row.billing = 'unbilled';
        w.row.costMicros = 0n;
      }
    }
    try {
      await insertRequestLogRows(this.pool, [w.row]);
    } catch (err) {
      if (!isDataError(err)) throw err;
      this.log.error(`request ${w.id}: its request log row was refused by Postgres (SQLSTATE ${(err as { code?: string }).code}); set aside`);
    }
  }

  /** Marks an entry written in its file; a file with nothing left pending is emptied or removed. */
  private async done(p: Pending): Promise<void> {
    const stillPending = [...this.pending.values()].some((q) => q.file === p.file);
    try {
      if (p.file === this.ownFile) {
        if (stillPending) await this.append(encodeLine({ kind: 'done', id: p.write.id }), false);
        else await this.truncateOwn();
      } else if (!stillPending) {
        await unlink(p.file);
      } else {
        const fh = await open(p.file, 'a');
        await fh.appendFile(encodeLine({ kind: 'done', id: p.write.id })).finally(() => fh.close());
      }
    } catch (err) {
      // The entry is written; at worst the next start replays it again, which is harmless.
      this.log.warn(`could not mark request ${p.write.id} as written in ${p.file} (${(err as Error).message})`);
    }
  }

  private append(text: string, sync: boolean): Promise<void> {
    const next = this.writing.then(async () => {
      const fh = await this.open();
      await fh.appendFile(text);
      if (sync) await fh.datasync();
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  private truncateOwn(): Promise<void> {
    const next = this.writing.then(async () => {
      // A write kept since the check above must not be emptied away with the rest.
      if ([...this.pending.values()].some((q) => q.file === this.ownFile)) return;
      const fh = await this.open();
      await fh.truncate(0);
      await fh.datasync();
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  private open(): Promise<FileHandle> {
    this.handle ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      const fh = await open(this.ownFile, 'a');
      // The new file's name must survive a power cut too, not only its contents: sync the directory.
      const dir = await open(this.dir, 'r');
      await dir.sync().finally(() => dir.close());
      return fh;
    })();
    this.handle.catch(() => (this.handle = null));
    return this.handle;
  }

  /** Takes an earlier process's journal: its entries not marked written become pending here. */
  private async adopt(file: string): Promise<void> {
    const text = await readFile(file, 'utf8');
    const kept = new Map<string, KeptWrite>();
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (!line) return;
      const entry = decodeLine(line);
      if (!entry) {
        const where = i === lines.length - 1 ? 'its last line is torn (a crash mid-write)' : `line ${i + 1} is damaged`;
        this.log.error(`settle journal ${file}: ${where}; skipped`);
        return;
      }
      if (entry.kind === 'done') kept.delete(entry.id);
      else kept.set(entry.write.id, entry.write);
    });
    for (const w of kept.values()) if (!this.pending.has(w.id)) this.pending.set(w.id, { write: w, file });
    if (!kept.size) {
      // Nothing left to write: an earlier process's emptied or fully written journal.
      if ((await stat(file)).size === Buffer.byteLength(text)) await unlink(file).catch(() => undefined);
    }
  }
}

const safeHost = () => hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/** A journal another process on this host is still writing (its name says host and pid). */
function writtenByLiveSibling(name: string): boolean {
  const [host, pid] = name.split('~');
  if (host !== safeHost() || !/^\d+$/.test(pid ?? '') || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
