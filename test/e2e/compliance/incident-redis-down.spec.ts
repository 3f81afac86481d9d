/**
 * Notify while Redis is down (a store down): the wake-up cannot be queued, but the notices are
 * rows in Postgres, so `notify` still answers 200 within its bound, and the senders find them
 * when they next look (here: the sender the worker runs, called as its sweep would).
 */
import { UsersService } from '../../../src/accounts/application/users.service';
import { IncidentsRepository } from '../../../src/compliance/incidents/application/incidents.repository';
import { NoticeSender } from '../../../src/compliance/incidents/application/notice-sender';
import { systemClock } from '../../../src/platform/clock';
import { EVENT_STORE } from '../../../src/platform/event-store/event-store.port';
import { Mailer } from '../../../src/platform/mail/mailer';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const why = whyNoRedisServer();
if (why) process.stdout.write(`SKIPPED: incident notify with Redis down: ${why}\n`);
const maybe = why ? describe.skip : describe;

maybe('breach notices with Redis down (booted app, a private Redis really stopped, real SMTP)', () => {
  let redis: PrivateRedis;
  let gw: Gateway;
  let smtp: SmtpReceiver;
  let staff: SignedIn;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    smtp = await startSmtpReceiver();
    gw = await startGateway({ env: { SMTP_URL: smtp.url, REDIS_URL: redis.url } });
    const email = uniqueEmail('dpo');
    const first = await signedIn(gw, email);
    await gw.app.get(UsersService).execute(first.userId, { type: 'GrantRole', data: { role: 'compliance', by: 'cli:test', reason: 'redis test' } }, 'cli:test');
    staff = await signedIn(gw, email);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.close();
    await smtp?.close();
  });

  it('queues the notices and answers 200 within seconds; they are sent when a sender next looks', async () => {
    const person = await signedIn(gw);
    const post = async (path: string, body: unknown) => staff.fetch(`/staff/incidents${path}`, { method: 'POST', body });
    const opened = (await (await post('', {
      title: 'Redis down test',
      nature: 'n',
      dataCategories: ['email'],
      peopleCategories: ['account holders'],
      approxPeople: 1,
      approxRecords: 1,
      consequences: 'c',
      measures: 'm',
      contact: 'dpo@tollgate.example',
    })).json()) as { id: string };
    const reason = { reason: 'redis test' };
    expect((await post(`/${opened.id}/select`, { by: 'users', userIds: [person.userId], ...reason })).status).toBe(200);
    expect((await post(`/${opened.id}/confirm`, reason)).status).toBe(200);

    await redis.stop();
    const started = Date.now();
    const res = await post(`/${opened.id}/notify`, reason);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { queued: number }).queued).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);

    const sender = new NoticeSender(gw.config, systemClock, gw.app.get(EVENT_STORE), gw.app.get(IncidentsRepository, { strict: false }), gw.app.get(UsersService), new Mailer(gw.config, systemClock));
    expect(await sender.sendDue()).toEqual({ sent: 1, failed: 0 });
    expect((await smtp.messageTo(person.email)).subject).toContain('Redis down test');
    await redis.start();
  }, 60_000);
});
