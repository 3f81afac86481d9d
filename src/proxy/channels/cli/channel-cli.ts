/** What the `tollgate channels …` commands share: option rules, the key from stdin, failures, the change notice. */
import { z } from 'zod';
import { ChannelRecord, MAX_ABS_PRIORITY, MAX_CONNECTIONS, MAX_WEIGHT, maskedKey } from '../channel';
import { ChannelChangeNotifier } from '../channel-change-notifier';

export const channelRef = z.string().trim().min(1, 'must not be empty').max(200, 'is too long');

export const priority = z
  .string()
  .regex(/^-?\d{1,7}$/, 'must be a whole number')
  .transform(Number)
  .refine((n) => Math.abs(n) <= MAX_ABS_PRIORITY, `must be from -${MAX_ABS_PRIORITY} to ${MAX_ABS_PRIORITY}`);

export const weight = z
  .string()
  .regex(/^\d{1,7}$/, 'must be a whole number')
  .transform(Number)
  .refine((n) => n >= 1 && n <= MAX_WEIGHT, `must be from 1 to ${MAX_WEIGHT}`);

/** A whole number (0: no limit), or `default` for UPSTREAM_MAX_CONNECTIONS (null). */
export const maxConnections = z
  .string()
  .trim()
  .regex(/^(default|\d{1,7})$/, 'must be a whole number (0 for no limit) or default')
  .transform((v) => (v === 'default' ? null : Number(v)))
  .refine((n) => n === null || n <= MAX_CONNECTIONS, `must be at most ${MAX_CONNECTIONS}`);

export const onOff = z.enum(['on', 'off'], { error: 'must be on or off' }).transform((v) => v === 'on');

/** Reads the whole of stdin (for `--api-key -`, so the key stays out of shell history and `ps`). */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('API key (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Tells running API instances; a Redis outage is a warning, the change is already committed. */
export async function announce(notifier: ChannelChangeNotifier): Promise<void> {
  if (!(await notifier.publish())) {
    process.stderr.write('warning: running instances were not notified (Redis unreachable); they pick the change up within 30 s\n');
  }
}

/** The JSON form of a channel: never a key, only its last 4. */
export function channelJson(c: ChannelRecord): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    provider: c.provider,
    baseUrl: c.baseUrl,
    apiKeyLast4: c.apiKeyLast4,
    models: c.models,
    priority: c.priority,
    weight: c.weight,
    maxConnections: c.maxConnections,
    http2: c.http2,
    enabled: c.enabled,
    source: c.source,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

export function describeChannel(c: ChannelRecord): string {
  const models = c.models.length ? c.models.join(',') : `all ${c.provider} models in the price table`;
  return `${c.name} (${c.id}): ${c.provider} at ${c.baseUrl}, key ${maskedKey(c.apiKeyLast4)}, priority ${c.priority}, weight ${c.weight}, connections ${connectionsLabel(c)}, models: ${models}`;
}

/** The connection settings in a word or two: `default`, `no limit` or the limit, and `+h2` when HTTP/2 is offered. */
export function connectionsLabel(c: Pick<ChannelRecord, 'maxConnections' | 'http2'>): string {
  const limit = c.maxConnections === null ? 'default' : c.maxConnections === 0 ? 'no-limit' : String(c.maxConnections);
  return c.http2 ? `${limit}+h2` : limit;
}
