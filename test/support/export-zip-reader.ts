/**
 * Data-export test helpers: the zip read back with yauzl (a reader independent of the writer),
 * CSV parsed, JSON and CSV compared, usage rows bulk-inserted, an export polled until it is the zip.
 */
import yauzl from 'yauzl';
import type { Gateway } from './gateway';

type Json = Record<string, any>;

/** Every entry of a zip, as its bytes, in the zip's order (read with yauzl, sizes checked). */
export async function zipEntries(zip: Buffer): Promise<Map<string, Buffer>> {
  const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zipfile.on('error', reject);
    zipfile.on('end', () => resolve());
    zipfile.on('entry', (entry: yauzl.Entry) => {
      zipfile.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(parts));
          zipfile.readEntry();
        });
      });
    });
    zipfile.readEntry();
  });
  return files;
}

/** Every entry of a zip as UTF-8 text. */
export async function readZip(zip: Buffer): Promise<Map<string, string>> {
  return new Map([...(await zipEntries(zip))].map(([name, bytes]) => [name, bytes.toString('utf8')]));
}

/** RFC 4180 CSV → rows of cells (quoted cells, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** The CSV of a section as objects (header → cell), for comparing with its JSON. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

/** A JSON value as its CSV cell would hold it (before formula neutralising). */
export function asCsvText(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  return String(v);
}

/** request_log rows for an account, `days` old (bulk, as a busy account would have). */
export async function insertUsage(gw: Gateway, accountId: string, keyId: string, count: number, daysOld = 0): Promise<void> {
  await gw.db.pool.query(
    `INSERT INTO request_log (request_id, account_id, key_id, started_at, endpoint, model, provider, stream, status,
                              input_tokens, output_tokens, cost_micros, held_micros, billing, latency_ms)
     SELECT 'req_' || gen_random_uuid(), $1::uuid, $2::uuid, now() - make_interval(days => $4::int) - g * interval '1 millisecond',
            'openai.chat', CASE WHEN g % 2 = 0 THEN 'gpt-4o-mini' ELSE '@sum(A1)' END, 'openai', g % 3 = 0, 200,
            g % 1000, g % 500, g % 7000, 7000, 'settled', 40 + g % 100
       FROM generate_series(1, $3::int) g`,
    [accountId, keyId, count, daysOld],
  );
}

/** Polls an export until it is the zip; the 202 answers seen on the way. */
export async function untilZip(fetchIt: () => Promise<Response>, timeoutMs = 60_000): Promise<{ zip: Buffer; pending: Json[]; response: Response }> {
  const pending: Json[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetchIt();
    if (r.status === 200) return { zip: Buffer.from(await r.arrayBuffer()), pending, response: r };
    if (r.status !== 202) throw new Error(`export answered ${r.status}: ${await r.text()}`);
    pending.push((await r.json()) as Json);
    if (Date.now() > deadline) throw new Error(`export not ready after ${timeoutMs} ms: ${JSON.stringify(pending[pending.length - 1])}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Every section's JSON and CSV hold the same rows, and the manifest says how many. */
export function checkAgreement(files: Map<string, string>): Json {
  const manifest = JSON.parse(files.get('manifest.json')!) as Json;
  const listed = new Set((manifest.files as Json[]).map((f) => f.name));
  expect([...files.keys()].filter((n) => n !== 'manifest.json').sort()).toEqual([...listed].sort());
  for (const f of manifest.files as Json[]) {
    expect(files.has(f.name)).toBe(true);
    expect(typeof f.description).toBe('string');
    expect(['json', 'csv']).toContain(f.format);
    if (f.format !== 'json') continue;
    const json = JSON.parse(files.get(f.name)!) as Json[];
    const csv = csvObjects(files.get(`${f.section}.csv`)!);
    expect(json).toHaveLength(f.rows);
    expect(csv).toHaveLength(f.rows);
    const csvManifest = (manifest.files as Json[]).find((x) => x.name === `${f.section}.csv`)!;
    expect(csvManifest.rows).toBe(f.rows);
    // Compared cell by cell, the differences collected (one expect per section, not per cell).
    const differences: string[] = [];
    json.forEach((row, i) => {
      if (Object.keys(row).join(',') !== (f.columns as string[]).join(',')) differences.push(`${f.name} row ${i}: columns ${Object.keys(row).join(',')}`);
      for (const c of f.columns as string[]) {
        const text = asCsvText(row[c]);
        // A cell that could start a formula is written with a leading apostrophe.
        const expected = /^[=+\-@\t\r]/.test(text) && typeof row[c] === 'string' ? `'${text}` : text;
        if (csv[i][c] !== expected && differences.length < 10) differences.push(`${f.section} row ${i} ${c}: json ${JSON.stringify(expected)} csv ${JSON.stringify(csv[i][c])}`);
      }
    });
    expect(differences).toEqual([]);
  }
  return manifest;
}
