/**
 * Tells every API instance that a key changed (revoked, regenerated, limits), over Redis
 * pub/sub on `${prefix}keys`, and waits until each instance that heard it says it has dropped
 * the key from its cache (acks on `${prefix}keys:ack`).
 *
 * Why acks: PUBLISH answers how many subscribers the message was written to, but not that they
 * have read it. Waiting for that many acks means that when a revoke returns, every instance
 * that was listening has already forgotten the key, so the very next request anywhere is
 * rejected. An instance that was not listening at that moment serves nothing from its cache
 * (see ApiKeyAuthenticator), so it needs no message.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { RedisFactory } from '../../platform/redis/redis.module';
import { KeyError } from '../domain/key.errors';

export const keysChannel = (prefix: string) => `${prefix}keys`;
export const keysAckChannel = (prefix: string) => `${prefix}keys:ack`;

/** The message: which key changed, and the id an instance acks it with. Never a secret. */
export interface KeyInvalidation {
  keyId: string;
  id: string;
}

export interface BroadcastResult {
  /** Instances listening when the message was published. */
  listeners: number;
  /** Of those, how many confirmed they dropped the key before the timeout. */
  acknowledged: number;
}

export interface KeyBroadcasterOptions {
  /** How long to wait for acks before answering with fewer (default 3 s). */
  ackTimeoutMs?: number;
  /** How long Redis may take to accept the message (default 5 s). */
  publishTimeoutMs?: number;
}

interface Waiting {
  expected: number;
  got: number;
  done?: () => void;
}

export class KeyBroadcaster {
  private publisher?: Redis;
  private acks?: Redis;
  private ackListening?: Promise<unknown>;
  private readonly waiting = new Map<string, Waiting>();
  private readonly ackTimeoutMs: number;
  private readonly publishTimeoutMs: number;

  constructor(
    private readonly factory: RedisFactory,
    options: KeyBroadcasterOptions = {},
  ) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 3000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  }

  async broadcast(keyId: string): Promise<BroadcastResult> {
    const id = randomUUID();
    const waiting: Waiting = { expected: Infinity, got: 0 };
    this.waiting.set(id, waiting); // before publishing: an ack may come back before PUBLISH's answer
    try {
      let listeners: number;
      try {
        await within(this.listenForAcks(), this.publishTimeoutMs);
        this.publisher ??= this.factory.create('keys-publisher');
        const message: KeyInvalidation = { keyId, id };
        const channel = keysChannel(this.factory.prefix);
        const reached = await within(this.publisher.publish(channel, JSON.stringify(message)), this.publishTimeoutMs);
        // PUBLISH also counts pattern subscribers (a monitoring client's PSUBSCRIBE *), which never
        // acknowledge; only the channel's own subscribers are API instances.
        const numsub = (await within(this.publisher.pubsub('NUMSUB', channel), this.publishTimeoutMs)) as [string, number];
        listeners = Math.min(reached, Number(numsub[1]));
      } catch (err) {
        throw new KeyError('broadcast_failed', `could not tell the API instances over Redis (${(err as Error).message}); run the command again`);
      }
      waiting.expected = listeners;
      if (waiting.got < listeners) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.ackTimeoutMs);
          waiting.done = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return { listeners, acknowledged: Math.min(waiting.got, listeners) };
    } finally {
      this.waiting.delete(id);
    }
  }

  async close(): Promise<void> {
    const conns = [this.publisher, this.acks].filter((c): c is Redis => c !== undefined);
    this.publisher = this.acks = this.ackListening = undefined;
    await Promise.all(conns.map(closeConnection));
  }

  private listenForAcks(): Promise<unknown> {
    if (!this.ackListening) {
      const acks = this.factory.create('keys-acks');
      this.acks = acks;
      acks.on('message', (_channel: string, id: string) => {
        const w = this.waiting.get(id);
        if (!w) return;
        w.got++;
        if (w.got >= w.expected) w.done?.();
      });
      this.ackListening = acks.subscribe(keysAckChannel(this.factory.prefix));
      // A failed subscription is retried by the next broadcast, on a new connection.
      this.ackListening.catch(() => {
        if (this.acks === acks) {
          this.acks = this.ackListening = undefined;
          acks.disconnect();
        }
      });
    }
    return this.ackListening;
  }
}

/** QUIT waits for a connection that is down (it sits in the offline queue): just drop such a one. */
export async function closeConnection(c: Redis): Promise<void> {
  if (c.status !== 'ready') return c.disconnect();
  await c.quit().catch(() => c.disconnect());
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
