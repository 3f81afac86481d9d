/**
 * The proxy's one mapper from domain errors (shared/domain-error.ts) to its own answers: each
 * code a proxied request can meet, and the ProxyError (status, code, message, param,
 * retry-after) a client gets for it; proxy-error.ts then spells that in the client's format.
 * Codes not listed are not the client's doing: they stay unexpected errors (500).
 *
 * The message is the proxy's own, not the domain error's, where the domain's words are for
 * operators (a key's lookup, a ledger's bound) rather than for API clients.
 */
import type { KeyAuthError, KeyAuthErrorCode } from '../../keys/domain/key.errors';
import type { LedgerErrorCode } from '../../ledger/domain/errors';
import { DomainError } from '../../shared/domain-error';
import { MAX_CREDITS_TEXT, formatCredits } from '../../shared/money';
import type { PricingErrorCode } from '../pricing/pricing.errors';
import type { TranslationError, TranslationErrorCode } from '../translate/translation-error';
import { ProxyError } from './proxy-error';

type Answer = (err: DomainError<string, Record<string, unknown>>) => ProxyError;

/** A figure from an error's details as µcr in credits ("0" when absent, as before). */
const credits = (value: unknown): string =>
  formatCredits(typeof value === 'bigint' ? value : typeof value === 'number' || typeof value === 'string' ? BigInt(value) : 0n);

const paramOf = (err: DomainError<string, Record<string, unknown>>): string | null => (err.details.param as string | null | undefined) ?? null;

/**
 * Every code of a key's authentication and of a refused translation has an answer (the type
 * says so, so a new code cannot be forgotten); of the ledger and pricing, the few a request meets.
 */
const ANSWERS: { [C in KeyAuthErrorCode | TranslationErrorCode]: Answer } & { [C in LedgerErrorCode | PricingErrorCode]?: Answer } = {
  // Authenticating the presented key.
  invalid_api_key: () => new ProxyError('invalid_api_key', 'the API key is not valid'),
  key_revoked: () => new ProxyError('key_revoked', 'the API key has been revoked'),
  key_expired: () => new ProxyError('key_expired', 'the API key has expired'),

  // Reserving the request's worst case.
  insufficient_credits: (err) =>
    new ProxyError(
      'insufficient_credits',
      `not enough credits for this request: it may cost up to ${credits(err.details.needed)} credits, ${credits(err.details.available)} are available`,
    ),
  // A worst case beyond the ledger's bound (10^15 µcr) is a hold no account can ever cover:
  // to the client that is the same answer as any hold its credit cannot cover, not a 500.
  amount_out_of_range: () =>
    new ProxyError('insufficient_credits', `not enough credits for this request: it may cost more than the ${MAX_CREDITS_TEXT} credits any account can hold`),
  account_not_found: () => new ProxyError('invalid_api_key', 'the key belongs to no account'),
  // A disputed payment left more owed than could be frozen: no request until it is resolved.
  account_suspended: (err) => new ProxyError('account_suspended', err.message),
  // Processing restricted at the holder's request (a data-subject request) until staff lift it.
  account_restricted: (err) => new ProxyError('account_restricted', err.message),

  // An OpenAI chat request that cannot be translated for another provider (OpenAI's own 400s).
  unsupported_parameter: (err) => new ProxyError('unsupported_parameter', err.message, { param: paramOf(err) }),
  invalid_request: (err) => new ProxyError('invalid_request', err.message, { param: paramOf(err) }),

  // Prices not loaded yet (the database was down at start): try again, not the request's fault.
  no_price_table: () => new ProxyError('unavailable', 'the gateway has not loaded its prices yet; try again shortly'),
};

const BY_CODE: ReadonlyMap<string, Answer> = new Map(Object.entries(ANSWERS).filter((e): e is [string, Answer] => e[1] !== undefined));

/** The codes with an answer: for tests that hold every one to a status. */
export const MAPPED_DOMAIN_CODES: readonly string[] = [...BY_CODE.keys()];

/** The proxy's answer to a domain error it knows; null for anything else (left to the caller). */
export function proxyErrorFor(err: KeyAuthError | TranslationError): ProxyError;
export function proxyErrorFor(err: unknown): ProxyError | null;
export function proxyErrorFor(err: unknown): ProxyError | null {
  if (!(err instanceof DomainError)) return null;
  const known = err as DomainError<string, Record<string, unknown>>;
  return BY_CODE.get(known.code)?.(known) ?? null;
}
