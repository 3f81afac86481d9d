/**
 * An export reads and writes with constant memory: the live heap (measured after a full
 * collection, at every progress report) while exporting an account with 100,000 usage rows
 * stays within a bound far below what holding the rows would take (each row is about 1 KB as
 * objects and text: ~100 MiB), and close to that of an export of 10,000 rows.
 * In process (the service the worker runs), the zip written to a sink that counts bytes.
 * Each phase prints how long it took, so a slow run shows where its time went.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Writable } from 'node:stream';
import { ExportsService } from '../../../src/compliance/export/application/exports.service';
import { signedIn } from '../../support/account-client';
import { insertUsage } from '../../support/export-zip-reader';
import { Gateway, startGateway } from '../../support/gateway';

const MiB = 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('data export memory (in process, real Postgres)', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway();
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  /** Exports a person with `rows` usage rows; the heap's peak growth over the start, and the bytes written. */
  const measure = async (rows: number) => {
    const started = Date.now();
    const phase = (what: string) => process.stdout.write(`${rows} rows: ${what} at +${Date.now() - started} ms\n`);
    const p = await signedIn(gw);
    const key = await gw.key(p.accountId);
    phase('signed in, key made');
    await insertUsage(gw, p.accountId, key.keyId, rows);
    phase('usage rows inserted');
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done();
      },
    });
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    let samples = 0;
    // What the export holds live: the heap after a full collection, at progress reports (twice a
    // second) while rows are being read, compressed and written. A full collection of this
    // process's heap (the test runner's and the gateway's) takes a while on a loaded machine, so
    // a report is skipped while less than twice the last collection's time has passed since it:
    // collecting stays at most about a third of the run (collecting at every report made the
    // export many times slower on a slow host and ran the test out of time).
    let lastGcMs = 0;
    let lastGcEnd = 0;
    const sample = () => {
      if (Date.now() - lastGcEnd < 2 * lastGcMs) return;
      const t0 = Date.now();
      gc();
      samples++;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      lastGcEnd = Date.now();
      lastGcMs = lastGcEnd - t0;
    };
    const result = await gw.app.get(ExportsService).writeTo(p.userId, sink, sample);
    phase(`exported (${samples} samples)`);
    expect(result.manifest.files.find((f) => f.name === 'usage.csv')!.rows).toBe(rows);
    return { growthMiB: (peak - base) / MiB, bytes, samples };
  };

  it('does not grow with the number of rows', async () => {
    const small = await measure(10_000);
    const large = await measure(100_000);
    process.stdout.write(
      `live heap growth: 10,000 rows ${small.growthMiB.toFixed(1)} MiB, 100,000 rows ${large.growthMiB.toFixed(1)} MiB (${large.samples} samples, zip ${(large.bytes / MiB).toFixed(1)} MiB)\n`,
    );
    expect(large.samples).toBeGreaterThanOrEqual(3); // measured while it ran (the first report is at the start, the last at the end), not only at the ends
    expect(large.bytes).toBeGreaterThan(5 * small.bytes); // the large export really is larger
    // Holding 100,000 rows would take ~100 MiB; streaming keeps a page of rows and buffers.
    expect(large.growthMiB).toBeLessThan(24);
    expect(large.growthMiB).toBeLessThan(small.growthMiB + 16);
  }, 300_000);
});
