/**
 * POST /webhooks/stripe: Stripe's deliveries. Registered straight on Fastify in a scope of its
 * own, whose only body parser keeps the body as the bytes received (any content type, at most
 * WEBHOOK_BODY_LIMIT): the signature (Stripe-Signature, STRIPE_WEBHOOK_SECRET, the SDK's default
 * tolerance of 300 s) is checked on exactly those bytes. JSON parsing elsewhere is untouched.
 *
 * Answers: 200 `{received: true, outcome}` once the outcome is durable (or the event type is not
 * one we act on); 400 for a missing, bad or stale signature or a malformed event, nothing
 * changed; 503 `stripe_not_configured` without a webhook secret; 500 when the outcome is not
 * durable (store down, a ledger refusal), so Stripe delivers it again. No body or header is
 * logged: only Stripe's event id and type.
 */
import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type Stripe from 'stripe';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { isPgUnavailable } from '../../../platform/database/pg-unavailable';
import { StripeWebhookService, WebhookRefused } from '../application/stripe-webhook.service';
import { Counter, MetricsRegistry } from '../../../platform/metrics/metrics-registry';
import { stripeSdk } from '../stripe-client';

export const WEBHOOK_PATH = '/webhooks/stripe';
/** Stripe's events are a few kilobytes; a charge with many refunds stays well inside this. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

@Injectable()
export class StripeWebhookRoutes implements OnModuleInit {
  private readonly log = new Logger('StripeWebhooks');
  /** Deliveries by outcome (absent where no registry is, as in the CLI). */
  private readonly outcomes?: Counter<'outcome'>;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly webhooks: StripeWebhookService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() metrics?: MetricsRegistry,
  ) {
    this.outcomes = metrics?.counter('tollgate_stripe_webhooks_total', "Stripe webhook deliveries by outcome (recorded, ignored, invalid_signature, invalid_event, not_recorded, unavailable, not_configured)", ['outcome']);
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    void fastify.register((scope, _opts, done) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, next) => next(null, body));
      scope.setErrorHandler((err: Error & { code?: string; statusCode?: number }, _req, reply) => {
        const tooLarge = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
        const status = tooLarge ? 413 : (err.statusCode ?? 500) < 500 ? 400 : 500;
        void reply.code(status).send({ error: { code: tooLarge ? 'payload_too_large' : status === 400 ? 'invalid_request' : 'internal_error', message: err.message } });
      });
      scope.post(WEBHOOK_PATH, (req, reply) => this.receive(req, reply));
      done();
    });
  }

  private async receive(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const secret = this.config.STRIPE_WEBHOOK_SECRET;
    if (!secret) return this.refuse(reply, 503, 'stripe_not_configured', 'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)');
    const signature = req.headers['stripe-signature'];
    if (typeof signature !== 'string' || signature === '') return this.refuse(reply, 400, 'invalid_signature', 'the Stripe-Signature header is missing');
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let event: Stripe.Event;
    try {
      // The signature check is a pure function of the SDK (no API key needed), loaded on the first delivery.
      event = stripeSdk().webhooks.constructEvent(body, signature, secret);
    } catch (err) {
      // The SDK says which: no matching signature, or a timestamp outside the tolerance.
      return this.refuse(reply, 400, 'invalid_signature', (err as Error).message.split('\n')[0].slice(0, 200));
    }
    try {
      const outcome = await this.webhooks.handle(event);
      this.outcomes?.inc({ outcome: outcome.outcome });
      if (outcome.outcome === 'ignored') this.log.debug(`Stripe event ${event.id} (${event.type}) ignored: ${outcome.why}`);
      return void reply.code(200).send({ received: true, ...outcome });
    } catch (err) {
      if (err instanceof WebhookRefused) {
        this.log.warn(`Stripe event ${event.id} (${event.type}) refused: ${err.message}`);
        return this.refuse(reply, 400, 'invalid_event', err.message);
      }
      const unavailable = isPgUnavailable(err);
      this.log.error(`Stripe event ${event.id} (${event.type}) not recorded${unavailable ? ' (the database is unavailable)' : ''}: ${(err as Error).message}`);
      return this.refuse(reply, unavailable ? 503 : 500, unavailable ? 'unavailable' : 'not_recorded', 'the event was not recorded; deliver it again');
    }
  }

  private refuse(reply: FastifyReply, status: number, code: string, message: string): void {
    this.outcomes?.inc({ outcome: code === 'stripe_not_configured' ? 'not_configured' : code });
    void reply.code(status).send({ error: { code, message } });
  }
}
