/**
 * The worker's metrics (issue 22): the real worker composition (WorkerModule, as src/worker.ts
 * boots it) serves GET /metrics on METRICS_PORT, bearer METRICS_TOKEN when set, nothing else on
 * that port, and stops listening when it stops. Without METRICS_PORT nothing listens.
 */
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '../../../src/config/config';
import { WorkerModule } from '../../../src/worker.module';
import { MetricsListener } from '../../../src/platform/metrics/metrics-listener';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { testRedisPrefix } from '../../support/gateway';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort } from '../../support/wait';
import { parsePrometheus, valueOf } from '../../support/prometheus-text';

const TOKEN = 'worker-metrics-token-0123456789';

async function startWorker(db: FreshDb, env: Record<string, string>): Promise<INestApplicationContext> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: testRedisPrefix(),
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app = await NestFactory.createApplicationContext(await WorkerModule.forRoot(config), { logger: false });
  await app.init();
  return app;
}

describe('worker GET /metrics on METRICS_PORT', () => {
  let db: FreshDb;
  let worker: INestApplicationContext | undefined;
  let port: number;

  beforeAll(async () => {
    db = await freshDb(4);
    port = await freePort();
    worker = await startWorker(db, { METRICS_PORT: String(port), METRICS_TOKEN: TOKEN });
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await db?.drop();
  });

  it("serves the worker's metrics with the token, 401 without it, 404 elsewhere", async () => {
    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}-` } })).status).toBe(401);
    expect((await fetch(`${url}/other`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parsePrometheus(await res.text());
    expect(samples.every((s) => s.labels.process === 'worker')).toBe(true);
    expect(samples.some((s) => s.name === 'tollgate_queue_jobs' && s.labels.queue === 'hold-expiry')).toBe(true);
    expect(samples.some((s) => s.name === 'tollgate_read_model_lag_seconds')).toBe(true);
    expect(valueOf(samples, 'tollgate_metrics_collect_failures_total', { collector: 'tollgate_read_model_lag_seconds' })).toBe(0);
  });

  it('stops listening when the worker stops', async () => {
    await worker!.close();
    worker = undefined;
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('worker without METRICS_PORT', () => {
  it('listens nowhere', async () => {
    const db = await freshDb(4);
    const worker = await startWorker(db, {});
    try {
      expect(worker.get(MetricsListener).address()).toBeNull();
    } finally {
      await worker.close();
      await db.drop();
    }
  }, 60_000);
});
