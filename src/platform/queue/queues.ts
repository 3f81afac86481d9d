/**
 * BullMQ queues and workers, made in one place. Jobs are typed by one name list and carry ids
 * only, never content; a job id derived from the work (the hold id) deduplicates.
 */
import { ConnectionOptions, Job, Queue, Worker } from 'bullmq';

export const QUEUES = {
  holdExpiry: 'hold-expiry',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobData {
  /** The periodic sweep of overdue holds: no payload, it reads the open-holds read model. */
  'hold-expiry': Record<string, never>;
}

/** BullMQ wants its own connections (a worker's blocks); it makes them from these options. */
export function bullConnection(redisUrl: string): ConnectionOptions {
  const u = new URL(redisUrl);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null, // required by BullMQ workers
  };
}

/** BullMQ's own key prefix, under the deployment's prefix (trailing colon trimmed: BullMQ adds its own). */
export const bullPrefix = (keyPrefix: string) => `${keyPrefix.replace(/:$/, '')}:bull`;

export function makeQueue<N extends QueueName>(name: N, redisUrl: string, keyPrefix: string): Queue<JobData[N]> {
  return new Queue<JobData[N]>(name, { connection: bullConnection(redisUrl), prefix: bullPrefix(keyPrefix) });
}

export function makeWorker<N extends QueueName>(
  name: N,
  redisUrl: string,
  keyPrefix: string,
  handle: (job: Job<JobData[N]>) => Promise<void>,
  concurrency = 8,
): Worker<JobData[N]> {
  return new Worker<JobData[N]>(name, handle, {
    connection: bullConnection(redisUrl),
    prefix: bullPrefix(keyPrefix),
    concurrency,
  });
}
