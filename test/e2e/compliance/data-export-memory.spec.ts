/**
 * An export reads and writes with constant memory: the live heap (measured after a full
 * collection, at every progress report) while exporting an account with 200,000 usage rows
 * stays within a bound far below what holding the rows would take (each row is about 1 KB as
 * objects and text), and close to that of an export of 20,000 rows.
 * In process (the service the worker runs), the zip written to a sink that counts bytes.
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
    const p = await signedIn(gw);
    const key = await gw.key(p.accountId);
    await insertUsage(gw, p.accountId, key.keyId, rows);
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
    // What the export holds live: the heap after a full collection, at every progress report
    // (twice a second) while rows are being read, compressed and written.
    const sample = () => {
      gc();
      samples++;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    };
    const result = await gw.app.get(ExportsService).writeTo(p.userId, sink, sample);
    expect(result.manifest.files.find((f) => f.name === 'usage.csv')!.rows).toBe(rows);
    return { growthMiB: (peak - base) / MiB, bytes, samples };
  };

  it('does not grow with the number of rows', async () => {
    const small = await measure(20_000);
    const large = await measure(200_000);
    process.stdout.write(
      `live heap growth: 20,000 rows ${small.growthMiB.toFixed(1)} MiB, 200,000 rows ${large.growthMiB.toFixed(1)} MiB (${large.samples} samples, zip ${(large.bytes / MiB).toFixed(1)} MiB)\n`,
    );
    expect(large.samples).toBeGreaterThanOrEqual(5); // measured while it ran, not only at the ends
    expect(large.bytes).toBeGreaterThan(5 * small.bytes); // the large export really is larger
    // Holding 200,000 rows would take hundreds of MiB; streaming keeps a page of rows and buffers.
    expect(large.growthMiB).toBeLessThan(32);
    expect(large.growthMiB).toBeLessThan(small.growthMiB + 16);
  }, 300_000);
});
