/**
 * Upstream channels: a provider account reached at a base URL with an API key of ours. The
 * types and the rules every way of creating a channel shares (CLI, seeding at start).
 */
import { DomainError } from '../../shared/domain-error';

export const CHANNEL_PROVIDERS = ['openai', 'anthropic', 'gemini', 'xai', 'openai-compatible'] as const;
export type ChannelProvider = (typeof CHANNEL_PROVIDERS)[number];

/** The wire format a provider speaks; a request is forwarded as-is only to a channel of its format. */
export type ApiFormat = 'openai' | 'anthropic' | 'gemini';

export function formatOf(provider: ChannelProvider): ApiFormat {
  switch (provider) {
    case 'openai':
    case 'xai':
    case 'openai-compatible':
      return 'openai';
    case 'anthropic':
      return 'anthropic';
    case 'gemini':
      return 'gemini';
    default: {
      const never: never = provider;
      throw new Error(`unknown provider ${String(never)}`);
    }
  }
}

export function isChannelProvider(value: string): value is ChannelProvider {
  return (CHANNEL_PROVIDERS as readonly string[]).includes(value);
}

/** A channel ready for routing. `apiKey` is decrypted: it lives in memory only, never logged. */
export interface Channel {
  id: string;
  name: string;
  provider: ChannelProvider;
  baseUrl: string;
  apiKey: string;
  /** Empty: every model the price table lists for the provider. */
  models: string[];
  priority: number;
  weight: number;
  /** Requests in flight at once on this instance; null: UPSTREAM_MAX_CONNECTIONS; 0: no limit. */
  maxConnections: number | null;
  /** Offer HTTP/2 (ALPN over TLS; a cleartext upstream stays on HTTP/1.1). */
  http2: boolean;
}

/** A channel as operators see it: everything but the key, of which only the last 4 show. */
export interface ChannelRecord {
  id: string;
  name: string;
  provider: ChannelProvider;
  baseUrl: string;
  apiKeyLast4: string | null;
  models: string[];
  priority: number;
  weight: number;
  maxConnections: number | null;
  http2: boolean;
  enabled: boolean;
  source: 'env' | 'cli';
  createdAt: Date;
  updatedAt: Date;
}

export class ChannelError extends DomainError<'channel_not_found' | 'channel_name_taken' | 'invalid_channel'> {
  override readonly name = 'ChannelError';
}

export const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Model ids as providers spell them: `gpt-4o-mini`, `claude-sonnet-4-5`, `meta-llama/Llama-3.3-70B`. */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;
/** Names of seeded channels (`env-openai`, …); operators cannot take them. */
export const ENV_CHANNEL_PREFIX = 'env-';
export const MAX_WEIGHT = 1_000_000;
export const MAX_ABS_PRIORITY = 1_000_000;
/** The most `--max-connections` takes (the column's check says the same). */
export const MAX_CONNECTIONS = 1_000_000;

/**
 * The base URL without a trailing slash (paths are appended to it), or an error message: only
 * http(s), and nothing that would ride along on every request (credentials, query, fragment).
 */
export function normalizeBaseUrl(raw: string): { url: string } | { error: string } {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return { error: 'must be a URL, e.g. https://api.openai.com/v1' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: 'must start with http:// or https://' };
  if (u.username || u.password) return { error: 'must not contain credentials (the key goes in --api-key)' };
  if (u.search || u.hash) return { error: 'must not have a query or a fragment' };
  return { url: u.toString().replace(/\/+$/, '') };
}

/** The last 4 characters, or null when that would show a quarter or more of the key. */
export function last4(apiKey: string): string | null {
  return apiKey.length >= 16 ? apiKey.slice(-4) : null;
}

export function maskedKey(last: string | null): string {
  return last ? `…${last}` : '(hidden)';
}

/** Associated data of a channel's sealed key: the value decrypts for this row and column only. */
export function apiKeyPurpose(channelId: string): string {
  return `channel:${channelId.toLowerCase()}:api_key`;
}
