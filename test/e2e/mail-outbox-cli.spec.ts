/**
 * `tollgate mail outbox` as a developer runs it: the built CLI as a child process over an
 * outbox folder holding messages of different ages.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTBOX_KEEP_MS, Outbox } from '../../src/platform/mail/outbox';
import { CLI, run } from '../support/cli-runner';
import { TEST_PG_URL } from '../support/test-env';

describe('tollgate mail outbox (built CLI)', () => {
  let dir: string;
  const tollgate = (env: Record<string, string>, ...args: string[]) =>
    run(process.execPath, [CLI, 'mail', 'outbox', ...args], { DATABASE_URL: TEST_PG_URL, MAIL_OUTBOX_DIR: dir, SMTP_URL: undefined, ...env });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-outbox-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists each message younger than 24 hours with its links, and deletes the older ones', async () => {
    const outbox = new Outbox(dir);
    const now = Date.now();
    await outbox.write({ from: 'f@x.test', to: 'ada@example.com', subject: 'Sign in', text: 'Open http://localhost:3000/auth/magic-link/verify?token=abc.\n', html: null }, new Date(now - 60_000));
    // Written last, so no later write has purged it: the command must.
    const oldId = await outbox.write({ from: 'f@x.test', to: 'old@example.com', subject: 'Old', text: 'http://localhost/old', html: null }, new Date(now - OUTBOX_KEEP_MS - 60_000));

    const human = await tollgate({});
    expect(human).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(human.stdout).toContain('to ada@example.com  Sign in');
    expect(human.stdout).toContain('  http://localhost:3000/auth/magic-link/verify?token=abc\n');
    expect(human.stdout).not.toContain('old@example.com');
    expect(human.stdout).toContain('deleted 1 message(s) older than 24 hours');
    expect(existsSync(join(dir, `${oldId}.json`))).toBe(false);

    const json = await tollgate({}, '--json');
    expect(json).toMatchObject({ code: 0 });
    const out = JSON.parse(json.stdout);
    expect(out).toMatchObject({ dir, purged: 0 });
    expect(out.messages).toEqual([
      expect.objectContaining({ to: 'ada@example.com', subject: 'Sign in', links: ['http://localhost:3000/auth/magic-link/verify?token=abc'] }),
    ]);
    expect(out.messages[0]).not.toHaveProperty('text');
  });

  it('says when the outbox is empty or missing, and that an SMTP gateway keeps none', async () => {
    const empty = await tollgate({ MAIL_OUTBOX_DIR: join(dir, 'never-written') });
    expect(empty).toMatchObject({ code: 0 });
    expect(empty.stdout).toMatch(/^the outbox .*never-written is empty\n$/);
    const smtp = await tollgate({ SMTP_URL: 'smtp://127.0.0.1:2525' });
    expect(smtp.stdout).toContain('SMTP_URL is set');
  });
});
