/**
 * Writes a person's data as one zip, streamed: every section as `<name>.json` (a JSON array)
 * and `<name>.csv`, then manifest.json describing every file. yazl pulls each file's bytes
 * from a generator that reads the section a page at a time (export-snapshot.ts), compresses
 * them and writes them to the sink, with backpressure all the way: memory stays flat whatever
 * the number of rows. The JSON and the CSV of a section are two reads of the same snapshot.
 */
import { Readable, Transform, TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { ZipFile } from 'yazl';
import { csvHeader, csvLine, jsonLine } from '../domain/export-format';
import { ExportContext, ExportSection } from './export-section';

/** Text is handed to the compressor in pieces of about this many characters. */
const PIECE_CHARS = 64 * 1024;
/** How often progress is reported, at most. */
const PROGRESS_EVERY_MS = 500;
export const MANIFEST_NAME = 'manifest.json';
/**
 * zlib's level: 1 is several times faster than the default 6 on this text (rows of ids, numbers
 * and names) for a zip about a third larger; an export is read once and kept a day.
 */
const DEFLATE_LEVEL = 1;

export interface ManifestFile {
  name: string;
  format: 'json' | 'csv';
  section: string;
  rows: number;
  description: string;
  columns: readonly string[];
}

export interface Manifest {
  kind: 'tollgate-data-export';
  version: 1;
  exportId: string | null;
  userId: string;
  accountId: string;
  generatedAt: string;
  usageRetentionDays: number;
  notes: string[];
  files: ManifestFile[];
}

export interface ExportProgress {
  rowsDone: number;
  rowsTotal: number;
}

export interface ZipResult {
  manifest: Manifest;
  sizeBytes: number;
  sha256: string;
}

export interface WriteZipOptions {
  exportId: string | null;
  sections: readonly ExportSection[];
  ctx: ExportContext;
  sink: Writable;
  onProgress?(p: ExportProgress): Promise<void> | void;
}

const NOTES = [
  'Each section is given twice with the same rows and columns: as JSON (an array of objects) and as CSV (RFC 4180, UTF-8, with a header).',
  "Amounts are credits as exact decimal strings (1 credit = 1,000,000 µcr); times are ISO 8601 in UTC.",
  'Request and answer contents are never stored, so none are here. Secrets (API key secrets, session tokens, password hashes) are never exported.',
  "CSV cells that a spreadsheet would run as a formula start with an apostrophe.",
  'A personal field is empty (null) when its key has been destroyed (the person was erased).',
];

export async function writeExportZip(opts: WriteZipOptions): Promise<ZipResult> {
  const { sections, ctx } = opts;
  const counts = new Map<string, number>();
  for (const s of sections) counts.set(s.name, await s.count(ctx));
  const progress: ExportProgress = { rowsDone: 0, rowsTotal: 2 * [...counts.values()].reduce((a, b) => a + b, 0) };
  await opts.onProgress?.({ ...progress });
  let lastReport = Date.now();
  const tick = async (rows: number) => {
    progress.rowsDone += rows;
    if (Date.now() - lastReport < PROGRESS_EVERY_MS) return;
    lastReport = Date.now();
    // More rows than counted (written since the count): the total grows to fit.
    if (progress.rowsDone > progress.rowsTotal) progress.rowsTotal = progress.rowsDone;
    await opts.onProgress?.({ ...progress });
  };

  const zip = new ZipFile();
  const files: ManifestFile[] = [];
  const mtime = ctx.now;
  const state: { failed: Error | null } = { failed: null };
  const fail = (err: Error) => {
    if (state.failed) return;
    state.failed = err;
    (zip.outputStream as unknown as Readable).destroy(err);
  };
  const entry = (name: string, lines: () => AsyncIterable<string> | Iterable<string>) => {
    zip.addReadStreamLazy(name, { mtime, compressionLevel: DEFLATE_LEVEL }, (cb) => {
      const readable = Readable.from(pieces(lines()), { objectMode: false });
      readable.on('error', fail);
      cb(null, readable);
    });
  };

  for (const s of sections) {
    const base = { section: s.name, description: s.description, columns: s.columns };
    const json: ManifestFile = { ...base, name: `${s.name}.json`, format: 'json', rows: 0 };
    const csv: ManifestFile = { ...base, name: `${s.name}.csv`, format: 'csv', rows: 0 };
    files.push(json, csv);
    entry(json.name, async function* () {
      yield '[';
      for await (const batch of s.batches(ctx)) {
        let text = '';
        for (const row of batch) text += `${json.rows++ === 0 ? '' : ','}\n${jsonLine(s.columns, row)}`;
        yield text;
        await tick(batch.length);
      }
      yield json.rows === 0 ? ']\n' : '\n]\n';
    });
    entry(csv.name, async function* () {
      yield csvHeader(s.columns);
      for await (const batch of s.batches(ctx)) {
        let text = '';
        for (const row of batch) text += csvLine(s.columns, row);
        csv.rows += batch.length;
        yield text;
        await tick(batch.length);
      }
    });
  }
  const manifest: Manifest = {
    kind: 'tollgate-data-export',
    version: 1,
    exportId: opts.exportId,
    userId: ctx.subject.userId,
    accountId: ctx.subject.accountId,
    generatedAt: ctx.now.toISOString(),
    usageRetentionDays: ctx.usageRetentionDays,
    notes: NOTES,
    files,
  };
  // Last, when every file has been written and its rows counted.
  entry(MANIFEST_NAME, () => [JSON.stringify(manifest, null, 2) + '\n']);
  zip.end();

  const hash = new HashCounter();
  try {
    await pipeline(zip.outputStream as unknown as Readable, hash, opts.sink);
  } catch (err) {
    throw state.failed ?? err;
  }
  if (state.failed) throw state.failed;
  progress.rowsTotal = progress.rowsDone;
  await opts.onProgress?.({ ...progress });
  return { manifest, sizeBytes: hash.bytes, sha256: hash.digest() };
}

/** Joins small strings into pieces of about PIECE_CHARS, so the compressor gets few, large writes. */
async function* pieces(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<Buffer> {
  let buf = '';
  for await (const l of lines) {
    buf += l;
    if (buf.length >= PIECE_CHARS) {
      yield Buffer.from(buf, 'utf8');
      buf = '';
    }
  }
  if (buf.length > 0) yield Buffer.from(buf, 'utf8');
}

/** Passes bytes through, counting them and hashing them (SHA-256). */
class HashCounter extends Transform {
  private readonly h = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.h.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  digest(): string {
    return this.h.digest('hex');
  }
}
