/**
 * Jobs of every BullMQ queue by state, read straight from BullMQ's keys in one pipelined round
 * trip (a Queue object per queue would hold a connection each, only to count). The key layout
 * is BullMQ 5's: `<prefix>:<queue>:wait|paused|active` are lists, `prioritized|delayed|failed`
 * sorted sets; test/e2e/ops checks it against a real queue, so an upgrade that moves them shows.
 */
import type Redis from 'ioredis';
import { QUEUES, QueueName, bullPrefix } from './queues';

export type QueueState = 'waiting' | 'active' | 'delayed' | 'failed';

export interface QueueDepth {
  queue: QueueName;
  state: QueueState;
  jobs: number;
}

const PARTS: ReadonlyArray<{ key: string; kind: 'list' | 'zset'; state: QueueState }> = [
  { key: 'wait', kind: 'list', state: 'waiting' },
  { key: 'paused', kind: 'list', state: 'waiting' },
  { key: 'prioritized', kind: 'zset', state: 'waiting' },
  { key: 'active', kind: 'list', state: 'active' },
  { key: 'delayed', kind: 'zset', state: 'delayed' },
  { key: 'failed', kind: 'zset', state: 'failed' },
];

export async function queueDepths(redis: Redis, keyPrefix: string, queues: readonly QueueName[] = Object.values(QUEUES)): Promise<QueueDepth[]> {
  const prefix = bullPrefix(keyPrefix);
  const pipeline = redis.pipeline();
  for (const q of queues) {
    for (const part of PARTS) {
      const key = `${prefix}:${q}:${part.key}`;
      if (part.kind === 'list') pipeline.llen(key);
      else pipeline.zcard(key);
    }
  }
  const results = (await pipeline.exec()) ?? [];
  const out: QueueDepth[] = [];
  queues.forEach((queue, qi) => {
    const byState = new Map<QueueState, number>([['waiting', 0], ['active', 0], ['delayed', 0], ['failed', 0]]);
    PARTS.forEach((part, pi) => {
      const [err, n] = results[qi * PARTS.length + pi] ?? [new Error('no reply'), 0];
      if (err) throw err;
      byState.set(part.state, byState.get(part.state)! + Number(n));
    });
    for (const [state, jobs] of byState) out.push({ queue, state, jobs });
  });
  return out;
}
