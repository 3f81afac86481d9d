/**
 * Authenticates a presented API key: SHA-256 of it, looked up in an in-memory cache backed by
 * the api_keys read model. Expiry is checked against the clock at every call. Revocations,
 * regenerations and limit changes are broadcast by KeysService (see key-broadcaster.ts); on
 * each message this instance drops the key and acks, so a revoked key is rejected on its very
 * next request here, not after a timeout.
 *
 * The cache is only trusted while the subscription is confirmed. Until Redis confirms it (at
 * start, and after every reconnect, when messages may have been missed) every call reads
 * through to Postgres and nothing is cached, and the cache is emptied when the subscription
 * is (re)confirmed. A lookup that raced with an invalidation is answered but not cached.
 *
 * Unknown keys are remembered apart (a short lifetime, a bounded map of their hashes), so a
 * client repeating a bad key costs one query, not one per request; a flood of bad keys evicts
 * only other bad keys. A key can become known later (created, or regenerated to a secret that
 * was presented before: only with a chosen secret, but cheap to get right): every key change is
 * broadcast, creation included, and any broadcast empties this map, under the same rules as
 * the cache of known keys (used only while listening, a racing lookup is not remembered).
 * Distinct random bad keys are each looked up once: the per-address limit on failures (in
 * front of this, see src/proxy/limits/auth-failure-limiter.ts) is what bounds those.
 */
import { OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { Clock } from '../../platform/clock';
import { RedisFactory } from '../../platform/redis/redis.module';
import { hashSecret, isWellFormedSecret } from '../domain/api-key-secret';
import { KeyAuthError } from '../domain/key.errors';
import { ApiKeyRecord, ApiKeysRepository } from './api-keys.repository';
import { KeyInvalidation, closeConnection, keysAckChannel, keysChannel } from './key-broadcaster';
import { LastUseRecorder } from './last-use-recorder';

export { KeyAuthError } from '../domain/key.errors';
export type { KeyAuthErrorCode } from '../domain/key.errors';

/** Who a request is from, and what its key allows. */
export interface KeyPrincipal {
  keyId: string;
  accountId: string;
  /** As stored: sealed for the account holder on keys made since migration 027 (never opened on this path). */
  project: string;
  /** As stored, as `project`. */
  name: string;
  models: string[] | null;
  spendCapMicros: bigint | null;
  expiresAt: Date | null;
  rpm: number | null;
  tpm: number | null;
}

interface Entry {
  principal: KeyPrincipal;
  revoked: boolean;
  expiresAtMs: number | null;
  touched: number;
}

export interface ApiKeyAuthenticatorOptions {
  /** Most keys cached (default 100 000); the least recently used go first. */
  maxEntries?: number;
  /** Connection for acks; default: one made by the factory. */
  commands?: Redis;
  /** Suffix of the subscriber's Redis connection name (CLIENT LIST), to tell instances apart. */
  instanceName?: string;
  /** Most unknown key hashes remembered (default 10 000); the oldest go first. */
  maxUnknown?: number;
  /** How long an unknown key is remembered, in ms (default 60 s). */
  unknownTtlMs?: number;
  /** Told of every key that authenticated (api_keys.last_used_at); never awaited. */
  uses?: LastUseRecorder;
}

/** Built by KeysModule's factory (one per process); tests build several to act as several instances. */
export class ApiKeyAuthenticator implements OnModuleDestroy {
  private readonly cache = new Map<string, Entry>(); // by hash
  private readonly hashOfKey = new Map<string, string>(); // keyId → hash cached
  private readonly unknown = new Map<string, number>(); // hash → until (clock ms), oldest first
  private readonly maxUnknown: number;
  private readonly unknownTtlMs: number;
  private readonly inflight = new Map<string, { lookup: Promise<ApiKeyRecord | null>; epoch: number }>();
  private readonly channel: string;
  private readonly maxEntries: number;
  private epoch = 0; // bumped by every invalidation: a lookup begun before one is not cached
  private tick = 0;
  private listening = false;
  private connection = 0;
  private subscriber?: Redis;
  private ackConnection?: Redis;
  private ownsAckConnection = false;
  private onListening: Array<() => void> = [];

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly factory: RedisFactory,
    private readonly clock: Clock,
    private readonly options: ApiKeyAuthenticatorOptions = {},
  ) {
    this.channel = keysChannel(factory.prefix);
    this.maxEntries = options.maxEntries ?? 100_000;
    this.maxUnknown = options.maxUnknown ?? 10_000;
    this.unknownTtlMs = options.unknownTtlMs ?? 60_000;
  }

  async authenticate(presented: string): Promise<KeyPrincipal> {
    if (typeof presented !== 'string' || !isWellFormedSecret(presented)) throw invalidKey();
    if (!this.subscriber) this.start();
    const hash = hashSecret(presented);
    if (this.listening) {
      const hit = this.cache.get(hash);
      if (hit) {
        this.touch(hash, hit);
        return this.check(hit);
      }
      const until = this.unknown.get(hash);
      if (until !== undefined) {
        if (this.clock.now().getTime() < until) throw invalidKey();
        this.unknown.delete(hash);
      }
    }
    let flight = this.inflight.get(hash);
    if (!flight) {
      const lookup = this.repo.findByHash(hash);
      const started = { lookup, epoch: this.epoch };
      flight = started;
      this.inflight.set(hash, started);
      const forget = () => {
        if (this.inflight.get(hash) === started) this.inflight.delete(hash);
      };
      lookup.then(forget, forget);
    }
    const record = await flight.lookup;
    if (!record) {
      if (this.listening && flight.epoch === this.epoch) this.rememberUnknown(hash);
      throw invalidKey();
    }
    const entry = toEntry(record);
    if (this.listening && flight.epoch === this.epoch) this.remember(hash, entry);
    return this.check(entry);
  }

  /** Starts listening for broadcasts (idempotent; authenticate() starts it on first use). */
  start(): void {
    if (this.subscriber) return;
    const sub = this.factory.create('keys-subscriber', {
      autoResubscribe: false, // re-subscribed by hand on each 'ready', so we know when it is confirmed
      ...(this.options.instanceName ? { connectionName: `tollgate-keys-subscriber-${this.options.instanceName}` } : {}),
    });
    this.subscriber = sub;
    sub.on('ready', () => void this.subscribe(sub));
    sub.on('close', () => this.lost());
    sub.on('message', (channel: string, message: string) => this.received(channel, message));
  }

  /** True while the subscription is confirmed (the cache is in use). */
  get isListening(): boolean {
    return this.listening;
  }

  /** Resolves true once the subscription is confirmed, or false after timeoutMs. */
  waitUntilListening(timeoutMs = 5000): Promise<boolean> {
    this.start();
    if (this.listening) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.onListening.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Drops one key from this instance's cache, and forgets every unknown key (what a broadcast does). */
  invalidate(keyId: string): void {
    this.epoch++;
    this.inflight.clear(); // a request arriving now must not share a lookup begun before the change
    this.unknown.clear(); // the change may be this key's creation: its hash may be one of them
    const hash = this.hashOfKey.get(keyId);
    if (hash === undefined) return;
    this.hashOfKey.delete(keyId);
    this.cache.delete(hash);
  }

  get cachedKeys(): number {
    return this.cache.size;
  }

  async stop(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    this.listening = false;
    this.clear();
    if (sub) {
      sub.removeAllListeners('ready');
      await closeConnection(sub);
    }
    if (this.ownsAckConnection && this.ackConnection) await closeConnection(this.ackConnection);
    this.ackConnection = undefined;
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  private check(entry: Entry): KeyPrincipal {
    if (entry.revoked) throw new KeyAuthError('key_revoked', 'this API key has been revoked');
    if (entry.expiresAtMs !== null && this.clock.now().getTime() >= entry.expiresAtMs) {
      throw new KeyAuthError('key_expired', 'this API key has expired');
    }
    this.options.uses?.used(entry.principal.keyId);
    return entry.principal;
  }

  private rememberUnknown(hash: string): void {
    this.unknown.delete(hash);
    this.unknown.set(hash, this.clock.now().getTime() + this.unknownTtlMs);
    if (this.unknown.size > this.maxUnknown) this.unknown.delete(this.unknown.keys().next().value as string);
  }

  private remember(hash: string, entry: Entry): void {
    const keyId = entry.principal.keyId;
    const previous = this.hashOfKey.get(keyId);
    if (previous !== undefined && previous !== hash) this.cache.delete(previous); // the old secret of a regenerated key
    entry.touched = ++this.tick;
    this.cache.delete(hash);
    this.cache.set(hash, entry);
    this.hashOfKey.set(keyId, hash);
    for (const [oldest, e] of this.cache) {
      if (this.cache.size <= this.maxEntries) break;
      this.cache.delete(oldest);
      if (this.hashOfKey.get(e.principal.keyId) === oldest) this.hashOfKey.delete(e.principal.keyId);
    }
  }

  /**
   * Approximate LRU: a Map iterates in insertion order, so a hit is moved to the end, but only
   * when it has drifted into the older half. Re-inserting on every hit would make the map
   * rehash constantly on the hot path (seen in the ledger's lane cache).
   */
  private touch(hash: string, entry: Entry): void {
    if (this.tick - entry.touched <= this.maxEntries / 2) return;
    entry.touched = ++this.tick;
    this.cache.delete(hash);
    this.cache.set(hash, entry);
  }

  private async subscribe(sub: Redis): Promise<void> {
    const connection = this.connection;
    try {
      await sub.subscribe(this.channel);
    } catch {
      return; // the connection failed; its 'close' resets, the next 'ready' subscribes again
    }
    if (connection !== this.connection || sub !== this.subscriber) return;
    this.clear(); // whatever was cached before may have missed messages
    this.listening = true;
    this.onListening.splice(0).forEach((f) => f());
  }

  private lost(): void {
    this.connection++;
    this.listening = false;
    this.clear();
  }

  private received(channel: string, message: string): void {
    if (channel !== this.channel) return;
    let m: Partial<KeyInvalidation> | null = null;
    try {
      m = JSON.parse(message) as Partial<KeyInvalidation>;
    } catch {
      m = null;
    }
    if (m && typeof m.keyId === 'string') this.invalidate(m.keyId);
    else this.clear(); // a message we cannot read: forget everything rather than guess
    if (m && typeof m.id === 'string') this.ack(m.id);
  }

  private ack(id: string): void {
    if (!this.ackConnection) {
      this.ackConnection = this.options.commands ?? this.factory.create('keys-ack');
      this.ownsAckConnection = !this.options.commands;
    }
    this.ackConnection.publish(keysAckChannel(this.factory.prefix), id).catch(() => undefined);
  }

  private clear(): void {
    this.epoch++;
    this.inflight.clear();
    this.cache.clear();
    this.hashOfKey.clear();
    this.unknown.clear();
  }
}

function invalidKey(): KeyAuthError {
  return new KeyAuthError('invalid_api_key', 'the API key is not valid');
}

function toEntry(r: ApiKeyRecord): Entry {
  const principal: KeyPrincipal = Object.freeze({
    keyId: r.keyId,
    accountId: r.accountId,
    project: r.project,
    name: r.name,
    models: r.models ? Object.freeze([...r.models]) as string[] : null,
    spendCapMicros: r.spendCapMicros,
    expiresAt: r.expiresAt,
    rpm: r.rpm,
    tpm: r.tpm,
  });
  return { principal, revoked: r.status === 'revoked', expiresAtMs: r.expiresAt ? r.expiresAt.getTime() : null, touched: 0 };
}
