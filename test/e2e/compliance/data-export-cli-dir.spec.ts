/**
 * Data exports kept in EXPORT_DIR (shared storage) instead of Postgres, and `tollgate
 * compliance export` (the built CLI, no worker): the same zip written straight to a file,
 * audited, with bad usage refused before anything is read.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ExportsService } from '../../../src/compliance/export/application/exports.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, expectOneErrorLine, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';
import { checkAgreement, insertUsage, readZip, untilZip } from '../../support/export-zip-reader';

type Json = Record<string, any>;

describe('data exports in EXPORT_DIR, and tollgate compliance export (built CLI)', () => {
  let gw: Gateway;
  let dir: string;
  let out: string;
  let person: SignedIn;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-exports-'));
    out = mkdtempSync(join(tmpdir(), 'tollgate-export-out-'));
    gw = await startGateway({ env: { API_RUNS_WORKERS: 'true', EXPORT_DIR: dir, EXPORT_PURGE_EVERY_MS: '3600000' } });
    person = await signedIn(gw);
    const key = await gw.key(person.accountId);
    await insertUsage(gw, person.accountId, key.keyId, 2500);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('keeps the zip as a file in EXPORT_DIR, serves it, and the purge deletes it', async () => {
    const e = (await (await person.fetch('/api/me/export', { method: 'POST' })).json()) as Json;
    const { zip } = await untilZip(() => person.fetch(e.download));
    const row = (await gw.db.pool.query('SELECT storage, attempt, size_bytes::int AS size FROM data_exports WHERE export_id = $1', [e.id])).rows[0];
    expect(row.storage).toBe('dir');
    expect(readdirSync(dir)).toEqual([`${e.id}.${row.attempt}.zip`]);
    expect(readFileSync(join(dir, `${e.id}.${row.attempt}.zip`)).equals(zip)).toBe(true);
    expect(row.size).toBe(zip.length);
    expect((await gw.db.pool.query('SELECT count(*)::int AS n FROM data_export_chunks')).rows[0].n).toBe(0);
    const files = await readZip(zip);
    const manifest = checkAgreement(files);
    expect((manifest.files as Json[]).find((f) => f.name === 'usage.csv')!.rows).toBe(2500);

    await gw.db.pool.query("UPDATE data_exports SET expires_at = now() - interval '1 second' WHERE export_id = $1", [e.id]);
    await gw.app.get(ExportsService).purge();
    expect(readdirSync(dir)).toEqual([]);
    expect((await person.fetch(e.download)).status).toBe(410);
  });

  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'compliance', 'export', ...args], { DATABASE_URL: gw.db.url, REDIS_URL: gw.config.REDIS_URL, REDIS_KEY_PREFIX: gw.config.REDIS_KEY_PREFIX });

  it('writes the same zip to a file, by user id or by email, audited', async () => {
    const file = join(out, 'by-id.zip');
    const r = await tollgate('--user', person.userId, '--output', file, '--reason', 'subject access request #7', '--json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const summary = JSON.parse(r.stdout) as Json;
    expect(summary).toMatchObject({ output: file, userId: person.userId, files: 34, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const files = await readZip(readFileSync(file));
    const manifest = checkAgreement(files);
    expect(manifest).toMatchObject({ exportId: null, userId: person.userId });
    expect(JSON.parse(files.get('profile.json')!)[0].email).toBe(person.email);
    expect(JSON.parse(files.get('usage.json')!)).toHaveLength(2500);
    expect(readdirSync(out)).toEqual(['by-id.zip']); // no part file left behind

    const byEmail = join(out, 'by-email.zip');
    const r2 = await tollgate('--email', person.email.toUpperCase(), '--output', byEmail);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/^wrote .*by-email\.zip: 34 files, \d+ rows, \d+ bytes, sha256 [0-9a-f]{64}\n$/);
    const audit = await gw.db.pool.query("SELECT actor, action, details FROM staff_audit WHERE subject_user_id = $1 AND action = 'exports.write'", [person.userId]);
    expect(audit.rows).toHaveLength(2);
    expect(audit.rows[0].actor).toMatch(/^cli:/);
  });

  it('refuses bad usage (exit 2) and unknown people (exit 1), writing nothing', async () => {
    const file = join(out, 'refused.zip');
    expectOneErrorLine(await tollgate('--output', file), /give exactly one of --user and --email/);
    expectOneErrorLine(await tollgate('--user', person.userId, '--email', person.email, '--output', file), /exactly one/);
    expectOneErrorLine(await tollgate('--user', 'nope', '--output', file), /--user: must be a user id/);
    const missing = await tollgate('--user', randomUUID(), '--output', file);
    expectOneErrorLine(missing, /no such user/);
    expect(missing.code).toBe(1);
    const unknownEmail = await tollgate('--email', 'nobody-here@example.org', '--output', file);
    expect(unknownEmail.code).toBe(1);
    writeFileSync(file, 'keep me');
    const exists = await tollgate('--user', person.userId, '--output', file);
    expectOneErrorLine(exists, /exists already/);
    expect(exists.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect(existsSync(join(out, 'refused.zip.part'))).toBe(false);
    expect((await tollgate('--user', person.userId)).code).toBe(2); // no --output
  });
});
