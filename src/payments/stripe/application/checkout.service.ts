/**
 * Card top-ups: a Stripe Checkout Session for an amount of dollars. Nothing is recorded here:
 * the credit comes from the webhook once Stripe says the payment succeeded, so a session that is
 * never paid (abandoned, Stripe down) leaves nothing behind.
 *
 * The idempotency key sent to Stripe is the account's own `Idempotency-Key` (scoped by account),
 * so a client that retries gets the same session back, and Stripe refuses the same key with
 * another amount; without one, a fresh key per request (so the SDK's own retries of this one
 * request never make two sessions).
 */
import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { DomainError } from '../../../shared/domain-error';
import { IdempotencyError } from '../../../platform/http/idempotency';
import { STRIPE_CLIENT, StripeClient, stripeSdk } from '../stripe-client';

export type StripeErrorCode = 'stripe_not_configured' | 'stripe_unavailable';

/** 503 both (api-error.filter.ts). */
export class StripePaymentsError extends DomainError<StripeErrorCode> {
  override readonly name = 'StripePaymentsError';
}

/** The smallest top-up, in cents: $5.00 (the product's rule). */
export const MIN_TOPUP_CENTS = 500;

@Injectable()
export class CheckoutService {
  private readonly log = new Logger('StripeCheckout');

  constructor(
    @Inject(STRIPE_CLIENT) private readonly stripe: StripeClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get configured(): boolean {
    return this.stripe !== null;
  }

  async create(accountId: string, cents: number, clientKey: string | undefined): Promise<{ url: string; id: string }> {
    if (!this.stripe) throw new StripePaymentsError('stripe_not_configured', 'card payments are not available: Stripe is not configured');
    const base = this.config.PUBLIC_URL;
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: 'payment',
      line_items: [{ quantity: 1, price_data: { currency: 'usd', unit_amount: cents, product_data: { name: 'Tollgate credits' } } }],
      client_reference_id: accountId,
      metadata: { account_id: accountId },
      payment_intent_data: { metadata: { account_id: accountId } },
      success_url: `${base}/billing?checkout=success`,
      cancel_url: `${base}/billing?checkout=cancel`,
    };
    // Stripe takes keys of at most 255 characters: the account and the client's key, hashed.
    const idempotencyKey = `tollgate-checkout:${createHash('sha256').update(`${accountId}\n${clientKey ?? randomUUID()}`).digest('hex')}`;
    let session: Stripe.Checkout.Session;
    try {
      session = await this.stripe.checkout.sessions.create(params, { idempotencyKey });
    } catch (err) {
      if (err instanceof stripeSdk().errors.StripeIdempotencyError) {
        throw new IdempotencyError('idempotency_mismatch', 'this Idempotency-Key was used for another checkout (another amount)');
      }
      const e = err as Error & { type?: string; statusCode?: number };
      this.log.warn(`Stripe refused or failed a checkout session for account ${accountId}: ${e.type ?? e.name} ${e.statusCode ?? ''}`);
      throw new StripePaymentsError('stripe_unavailable', 'the payment provider cannot be reached right now; nothing was charged; try again shortly');
    }
    if (!session.url) throw new StripePaymentsError('stripe_unavailable', 'the payment provider answered without a checkout address; try again');
    return { url: session.url, id: session.id };
  }
}

/**
 * "25.00" → 2500: a decimal string of dollars with a point and one or two decimals ("25.5" is
 * $25.50), from $5.00 to the maximum. Anything else (a number, a bare "5", an exponent, a sign,
 * spaces, three decimals) is refused with the reason, so the page can show it: an amount of
 * money is written as money, never guessed at.
 */
export function centsOfDollars(input: unknown, maxUsd: number): { cents: number } | { error: string } {
  const shape = 'must be a string of dollars and cents, such as "25.00" (one or two decimals)';
  if (typeof input !== 'string') return { error: shape };
  const m = /^(\d{1,9})\.(\d{1,2})$/.exec(input);
  if (!m) return { error: shape };
  const cents = Number(m[1]) * 100 + Number(m[2].padEnd(2, '0'));
  if (cents < MIN_TOPUP_CENTS) return { error: 'must be at least 5.00 (the smallest top-up)' };
  if (cents > maxUsd * 100) return { error: `must be at most ${maxUsd}.00 (TOPUP_MAX_USD)` };
  return { cents };
}
