/**
 * Postgres really stopped (a private cluster this file owns) while Stripe delivers a paid
 * checkout: the webhook is answered 5xx (not recorded, deliver again), nothing is credited;
 * once Postgres is back, Stripe's redelivery credits the payment, once. A redelivery of a payment
 * this process already carried out in full is answered 200 from memory even while Postgres is
 * down (it adds nothing); news about that payment is still answered 5xx.
 */
import { randomBytes } from 'node:crypto';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { FakeStripe, checkoutCompletedEvent, deliverWebhook, disputeCreatedEvent, startFakeStripe } from '../../support/fake-stripe';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivatePostgres, privateDb, startPrivatePostgres, whyNoPrivatePostgres } from '../../support/private-postgres';

const skipReason = whyNoPrivatePostgres();

if (skipReason) {
  console.warn(`SKIPPED stripe-outage: ${skipReason}`);
  it.skip(`Stripe webhook with Postgres down — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('Stripe webhook with Postgres down', () => {
    let pg: PrivatePostgres;
    let fake: FakeStripe;
    let gw: Gateway;

    beforeAll(async () => {
      pg = await startPrivatePostgres();
      fake = await startFakeStripe();
      gw = await startGateway({ db: await privateDb(pg), env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url } });
    }, 120_000);
    afterAll(async () => {
      await gw?.close().catch(() => undefined);
      await gw?.db.drop();
      await fake?.close();
      pg?.destroy();
    });

    it('answers 5xx while the store is down, and credits once on the redelivery after it is back', async () => {
      const accountId = await gw.account(0n);
      const event = checkoutCompletedEvent({ accountId, cents: 1500, paymentIntent: `pi_${randomBytes(10).toString('hex')}` });
      pg.stop();
      try {
        const down = await deliverWebhook(gw.url, fake, event);
        expect(down.status).toBeGreaterThanOrEqual(500);
        expect(down.body).toMatchObject({ error: { message: expect.stringMatching(/deliver it again/) } });
      } finally {
        await pg.start();
      }
      let again = await deliverWebhook(gw.url, fake, event);
      // The pool may hand out a connection the crash cut before it notices: Stripe would deliver again.
      for (let i = 0; i < 5 && again.status !== 200; i++) again = await deliverWebhook(gw.url, fake, event);
      expect(again.status).toBe(200);
      expect(await deliverWebhook(gw.url, fake, event)).toMatchObject({ status: 200, body: { recorded: 0 } });
      expect((await gw.app.get(LedgerService).load(accountId)).state.available).toBe(15_000_000n);
      const credits = await gw.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE type = 'CreditsPurchased'");
      expect(credits.rows[0].n).toBe(1);
    }, 60_000);

    it('answers a redelivery of a payment it carried out from memory while the store is down; news about it gets 5xx', async () => {
      const accountId = await gw.account(0n);
      const paymentIntent = `pi_${randomBytes(10).toString('hex')}`;
      const event = checkoutCompletedEvent({ accountId, cents: 2500, paymentIntent });
      expect(await deliverWebhook(gw.url, fake, event)).toMatchObject({ status: 200, body: { recorded: 1 } });
      pg.stop();
      try {
        // The same event, and another event id with the same fact (async_payment_succeeded): nothing new.
        expect(await deliverWebhook(gw.url, fake, event)).toMatchObject({ status: 200, body: { recorded: 0 } });
        expect(await deliverWebhook(gw.url, fake, { ...event, id: `evt_${randomBytes(8).toString('hex')}`, type: 'checkout.session.async_payment_succeeded' })).toMatchObject({
          status: 200,
          body: { recorded: 0 },
        });
        // A dispute on it is news: it must be recorded, so it waits for the store.
        const dispute = disputeCreatedEvent({ disputeId: `dp_${randomBytes(8).toString('hex')}`, paymentIntent, cents: 2500 });
        expect((await deliverWebhook(gw.url, fake, dispute)).status).toBeGreaterThanOrEqual(500);
      } finally {
        await pg.start();
      }
      expect((await gw.app.get(LedgerService).load(accountId)).state.available).toBe(25_000_000n);
    }, 60_000);
  });
}
