/**
 * The Stripe SDK, configured once: STRIPE_SECRET_KEY, and STRIPE_API_URL to reach another host
 * (tests point it at a local server that answers the few calls made: test/support/fake-stripe.ts).
 * Null when Stripe is not configured: card payments are then not offered (503 stripe_not_configured).
 */
import type Stripe from 'stripe';
import { AppConfig } from '../../config/config';
import { onFirstUse } from '../../platform/on-first-use';

/**
 * The SDK itself, loaded when Stripe is configured or a webhook arrives (platform/on-first-use.ts):
 * an API without STRIPE_SECRET_KEY, or a worker that never sees a card payment, never loads it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const stripeSdk = onFirstUse(() => require('stripe') as typeof Stripe);

export const STRIPE_CLIENT = Symbol('STRIPE_CLIENT');
export type StripeClient = Stripe | null;

export function stripeClientFrom(config: Pick<AppConfig, 'STRIPE_SECRET_KEY' | 'STRIPE_API_URL'>): StripeClient {
  if (!config.STRIPE_SECRET_KEY) return null;
  const options: Stripe.StripeConfig = { maxNetworkRetries: 2, timeout: 20_000, telemetry: false };
  if (config.STRIPE_API_URL) {
    const u = new URL(config.STRIPE_API_URL);
    options.host = u.hostname;
    options.protocol = u.protocol === 'http:' ? 'http' : 'https';
    options.port = Number(u.port || (u.protocol === 'http:' ? 80 : 443));
  }
  const Sdk = stripeSdk();
  return new Sdk(config.STRIPE_SECRET_KEY, options);
}

/** Dollars as Stripe counts them (cents) → µcr: $1 = 1 credit = 10^6 µcr. */
export const microsFromCents = (cents: number): bigint => BigInt(cents) * 10_000n;
/** µcr → cents; the amount must be a whole number of cents. */
export function centsFromMicros(micros: bigint): number {
  if (micros % 10_000n !== 0n) throw new RangeError(`${micros} µcr is not a whole number of cents`);
  return Number(micros / 10_000n);
}
