/**
 * The mailer against real parts: nodemailer's SMTP transport to a real SMTP server on
 * 127.0.0.1, the development outbox on a real folder, and production without SMTP refusing.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Clock } from '../../../src/platform/clock';
import { MailError, Mailer, MailSettings } from '../../../src/platform/mail/mailer';
import { OUTBOX_KEEP_MS, Outbox } from '../../../src/platform/mail/outbox';
import { freePort } from '../../support/wait';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const settings = (over: Partial<MailSettings>): MailSettings => ({
  NODE_ENV: 'test',
  MAIL_FROM: 'Tollgate <no-reply@tollgate.test>',
  MAIL_OUTBOX_DIR: '/nonexistent',
  ...over,
});
const clockAt = (start: Date) => {
  let now = start.getTime();
  const clock: Clock & { advance(ms: number): void } = { now: () => new Date(now), advance: (ms) => (now += ms) };
  return clock;
};
const codeOf = (p: Promise<unknown>) => p.then(() => 'sent', (err) => (err instanceof MailError ? err.code : Promise.reject(err as Error)));

// A token-shaped link: long, with characters quoted-printable must escape (`=`).
const LINK = `http://localhost:3000/auth/magic-link/verify?token=${'Ab-_9'.repeat(9)}x`;

describe('Mailer over SMTP (real smtp-server)', () => {
  let receiver: SmtpReceiver;
  let mailer: Mailer;

  beforeAll(async () => {
    receiver = await startSmtpReceiver();
    mailer = new Mailer(settings({ SMTP_URL: receiver.url }), clockAt(new Date()));
  });
  afterAll(async () => {
    mailer?.onModuleDestroy();
    await receiver?.close();
  });

  it('delivers text and HTML from MAIL_FROM to the one recipient, the link intact', async () => {
    expect(mailer.transport).toBe('smtp');
    await mailer.send({ to: 'ada@example.com', subject: 'Sign in to Tollgate — ünïcode', text: `Open ${LINK}\n`, html: `<a href="${LINK}">Sign in</a>` });
    const m = await receiver.messageTo('ada@example.com');
    expect(m.envelopeFrom).toBe('no-reply@tollgate.test');
    expect(m.envelopeTo).toEqual(['ada@example.com']);
    expect(m.headers.from).toBe('Tollgate <no-reply@tollgate.test>');
    expect(m.subject).toBe('Sign in to Tollgate — ünïcode');
    expect(m.text).toContain(LINK);
    expect(m.html).toContain(`href="${LINK}"`);
  });

  it('a refusal by the server is mail_failed, naming nodemailer\'s code and never the address', async () => {
    receiver.refuseNext(1);
    const err = await mailer.send({ to: 'refused@example.com', subject: 's', text: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailError);
    expect((err as MailError).code).toBe('mail_failed');
    expect((err as MailError).message).not.toContain('refused@example.com');
    expect((err as MailError).details.reason).toMatch(/EMESSAGE|451/);
  });

  it('refuses anything but one plain address: a list or a smuggled header never reaches the server', async () => {
    const before = receiver.messages.length;
    for (const to of ['a@example.com, b@example.com', 'a@example.com\r\nBcc: evil@example.com', 'A <a@example.com>', 'no-at-sign', `${'a'.repeat(65)}@example.com`]) {
      expect(await codeOf(mailer.send({ to, subject: 's', text: 't' }))).toBe('invalid_recipient');
    }
    expect(receiver.messages.length).toBe(before);
  });

  it('a mail server that is not there is mail_failed at once, not a hang', async () => {
    const down = new Mailer(settings({ SMTP_URL: `smtp://127.0.0.1:${await freePort()}` }), clockAt(new Date()));
    const started = Date.now();
    expect(await codeOf(down.send({ to: 'ada@example.com', subject: 's', text: 't' }))).toBe('mail_failed');
    expect(Date.now() - started).toBeLessThan(5_000);
    down.onModuleDestroy();
  });
});

describe('Mailer without SMTP_URL', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-outbox-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('outside production writes each message to the outbox, readable by the owner only, and lists its links', async () => {
    const outboxDir = join(dir, 'nested', 'outbox');
    const clock = clockAt(new Date('2026-03-01T10:00:00Z'));
    const mailer = new Mailer(settings({ MAIL_OUTBOX_DIR: outboxDir }), clock);
    expect(mailer.transport).toBe('outbox');
    await mailer.send({ to: 'ada@example.com', subject: 'Sign in', text: `Open ${LINK}.\nOr ${LINK}` });
    const files = readdirSync(outboxDir);
    expect(files).toHaveLength(1);
    expect(statSync(join(outboxDir, files[0])).mode & 0o777).toBe(0o600);
    expect(statSync(outboxDir).mode & 0o777).toBe(0o700);
    const [entry] = await new Outbox(outboxDir).list(clock.now());
    expect(entry).toMatchObject({ to: 'ada@example.com', subject: 'Sign in', from: 'Tollgate <no-reply@tollgate.test>', date: '2026-03-01T10:00:00.000Z' });
    expect(entry.links).toEqual([LINK]);
  });

  it('forgets messages after 24 hours: not listed, and deleted when the next one is written', async () => {
    const clock = clockAt(new Date('2026-03-01T10:00:00Z'));
    const mailer = new Mailer(settings({ MAIL_OUTBOX_DIR: dir }), clock);
    await mailer.send({ to: 'old@example.com', subject: 'old', text: 'old' });
    clock.advance(OUTBOX_KEEP_MS - 1);
    expect((await new Outbox(dir).list(clock.now())).map((e) => e.to)).toEqual(['old@example.com']);
    clock.advance(1);
    expect(await new Outbox(dir).list(clock.now())).toEqual([]);
    expect(readdirSync(dir)).toHaveLength(1); // listing deletes nothing
    await mailer.send({ to: 'new@example.com', subject: 'new', text: 'new' });
    expect((await new Outbox(dir).list(clock.now())).map((e) => e.to)).toEqual(['new@example.com']);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('a listing skips files that are not messages and leaves them alone', async () => {
    const clock = clockAt(new Date('2026-03-01T10:00:00Z'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, `${clock.now().getTime()}-0123456789abcdef.json`), '{ not json');
    await new Mailer(settings({ MAIL_OUTBOX_DIR: dir }), clock).send({ to: 'ada@example.com', subject: 's', text: 't' });
    expect((await new Outbox(dir).list(clock.now())).map((e) => e.to)).toEqual(['ada@example.com']);
    expect(await new Outbox(dir).purge(new Date(clock.now().getTime() + OUTBOX_KEEP_MS))).toBe(2);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('in production refuses to send (mail_not_configured) and writes nothing', async () => {
    const mailer = new Mailer(settings({ NODE_ENV: 'production', MAIL_OUTBOX_DIR: dir }), clockAt(new Date()));
    expect(mailer.transport).toBe('none');
    expect(await codeOf(mailer.send({ to: 'ada@example.com', subject: 's', text: 't' }))).toBe('mail_not_configured');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('many messages written at once each get their own file', async () => {
    const clock = clockAt(new Date('2026-03-01T10:00:00Z'));
    const mailer = new Mailer(settings({ MAIL_OUTBOX_DIR: dir }), clock);
    await Promise.all(Array.from({ length: 50 }, (_, i) => mailer.send({ to: `p${i}@example.com`, subject: 's', text: 't' })));
    const listed = await new Outbox(dir).list(clock.now());
    expect(new Set(listed.map((e) => e.to)).size).toBe(50);
  });
});
