/**
 * BullMQ queues and workers, made in one place. Jobs are typed by one name list and carry ids
 * only, never content; a job id derived from the work (the hold id) deduplicates.
 */
import type * as BullMQ from 'bullmq';
import type { ConnectionOptions, Job, Queue, Worker } from 'bullmq';
import { onFirstUse } from '../on-first-use';

/**
 * BullMQ itself, loaded by the first queue or worker made (platform/on-first-use.ts): an API
 * whose jobs run in the worker process queues nothing until someone asks for an export.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const bullmq = onFirstUse(() => require('bullmq') as typeof BullMQ);

export const QUEUES = {
  holdExpiry: 'hold-expiry',
  sessionPurge: 'session-purge',
  magicLinkPurge: 'magic-link-purge',
  receiptRetry: 'receipt-retry',
  chainScan: 'chain-scan',
  lowBalanceAlerts: 'low-balance-alerts',
  incidentNotices: 'incident-notices',
  usageRetention: 'usage-retention',
  dataExport: 'data-export',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export interface JobData {
  /** The periodic sweep of overdue holds: no payload, it reads the open-holds read model. */
  'hold-expiry': Record<string, never>;
  /** The periodic purge of expired sessions: no payload. */
  'session-purge': Record<string, never>;
  /** The periodic purge of expired sign-in links (auth/magic-link): no payload. */
  'magic-link-purge': Record<string, never>;
  /** The periodic send of receipts that could not be sent at once (payments/receipts): no payload. */
  'receipt-retry': Record<string, never>;
  /** The periodic scan of every configured chain for USDC/USDT transfers (payments/crypto): no payload. */
  'chain-scan': Record<string, never>;
  /** The periodic low-balance check (payments/alerts): no payload, it reads low_balance_alerts. */
  'low-balance-alerts': Record<string, never>;
  /** Sends the breach notices due (compliance/incidents): periodic, and woken by `notify`; the incident id for the logs only. */
  'incident-notices': { incidentId?: string };
  /** The periodic retention pass (compliance/retention): no payload. */
  'usage-retention': Record<string, never>;
  /**
   * Data exports (compliance/export): job `build` builds one export (the job id is the export
   * id); job `purge`, from a job scheduler, deletes exports past their 24 hours (no payload).
   */
  'data-export': { exportId?: string };
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
  const { Queue } = bullmq();
  return new Queue<JobData[N]>(name, { connection: bullConnection(redisUrl), prefix: bullPrefix(keyPrefix) });
}

export function makeWorker<N extends QueueName>(
  name: N,
  redisUrl: string,
  keyPrefix: string,
  handle: (job: Job<JobData[N]>) => Promise<void>,
  concurrency = 8,
): Worker<JobData[N]> {
  const { Worker } = bullmq();
  return new Worker<JobData[N]>(name, handle, {
    connection: bullConnection(redisUrl),
    prefix: bullPrefix(keyPrefix),
    concurrency,
  });
}

/**
 * Closes a queue or worker, waiting at most `ms`: BullMQ's close waits for its Redis commands,
 * which (with maxRetriesPerRequest null) wait for a Redis that is down until it returns. Past
 * the bound its connections are dropped; a job it was running is retried by BullMQ later.
 */
export async function closeWithin(q: Queue | Worker, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  // A connection that reached Redis but is still setting itself up (BullMQ's version check) is
  // let finish first: BullMQ's close() drops its listeners at once, and such a connection then
  // reports its own closing as an 'error' event nobody hears, an uncaught exception (an app
  // stopped right after it started). One that has not reached Redis (Redis away) closes at once.
  const first = settingUp(q) ? await Promise.race([q.waitUntilReady().then(() => 'ready' as const, () => 'failed' as const), late]) : 'ready';
  const closing = q.close().then(() => 'closed' as const, () => 'late' as const);
  const outcome = first === 'late' ? 'late' : await Promise.race([closing, late]);
  clearTimeout(timer);
  if (outcome === 'late') await Promise.race([q.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
}

/**
 * True while a queue's or worker's connection is up but BullMQ has not finished setting it up.
 * BullMQ keeps its connections private; read defensively (false when its shape changes: then the
 * close goes on at once, as it always did, and test/integration/queue/close-within.spec.ts fails).
 */
function settingUp(q: Queue | Worker): boolean {
  type Conn = { status?: string; _client?: { status?: string } };
  const { connection, blockingConnection } = q as unknown as { connection?: Conn; blockingConnection?: Conn };
  return [connection, blockingConnection].some((c) => c?.status === 'initializing' && (c._client?.status === 'connect' || c._client?.status === 'ready'));
}
