/**
 * GET /health/live and GET /health/ready (issue 22, "Operators"): ready names what is wrong when
 * it is not (Redis stopped: a private redis-server this file owns, really killed and started
 * again; read models too far behind the log), and comes back without a restart. /health itself
 * is unchanged (test/e2e/halted-read-model.spec.ts and boot.spec.ts cover it).
 */
import { Gateway, startGateway } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { waitFor } from '../../support/wait';

interface Readiness {
  status: string;
  checks: Record<string, string>;
  reasons: string[];
}

async function ready(gw: Gateway): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${gw.url}/health/ready`);
  return { status: res.status, body: (await res.json()) as Readiness };
}

const skipReason = whyNoRedisServer();

if (skipReason) {
  console.warn(`SKIPPED readiness with Redis stopped: ${skipReason}`);
  it.skip(`readiness with Redis stopped — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('/health/ready with Redis stopped and started again', () => {
    let redis: PrivateRedis;
    let gw: Gateway;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      gw = await startGateway({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } });
    });
    afterAll(async () => {
      await redis?.start();
      await gw?.close();
      await redis?.close();
    });

    it('is 200 with every check ok, 503 naming Redis while it is down, and 200 again once it is back', async () => {
      await waitFor(async () => (await ready(gw)).status === 200, 20_000, 'the gateway to be ready (prices published)');
      const up = await ready(gw);
      expect(up.body).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok', readModels: 'ok', prices: 'ok' }, reasons: [] });

      await redis.stop();
      const started = Date.now();
      const down = await ready(gw);
      expect(Date.now() - started).toBeLessThan(2_500); // an answer in time, never a hang
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('not_ready');
      expect(down.body.checks.redis).not.toBe('ok');
      expect(down.body.checks.postgres).toBe('ok');
      expect(down.body.reasons).toEqual([expect.stringMatching(/^redis: /)]);
      // Live asks nothing of the stores: an orchestrator must not restart a process for Redis' outage.
      const live = await fetch(`${gw.url}/health/live`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'live' });

      await redis.start();
      await waitFor(async () => (await ready(gw)).status === 200, 20_000, 'ready again after Redis returned');
    }, 60_000);
  });
}

describe('/health/ready with read models behind the log', () => {
  let gw: Gateway;

  beforeAll(async () => {
    // No worker runs (API_RUNS_WORKERS is false in test gateways): nothing applies the events.
    gw = await startGateway({ env: { READY_MAX_LAG_SECONDS: '1' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('is 503 naming the read models once their oldest unapplied event is older than the bound', async () => {
    await waitFor(async () => (await ready(gw)).status === 200, 20_000, 'the gateway to be ready');
    await gw.account(1_000_000n);
    await new Promise((r) => setTimeout(r, 1_500));
    const behind = await ready(gw);
    expect(behind.status).toBe(503);
    expect(behind.body.checks.readModels).toMatch(/balances \d+ s.* behind the log \(bound 1 s\)/);
    expect(behind.body.checks.redis).toBe('ok');
    // /health stays as it was: 200 ok (a lag is no halt).
    const health = await fetch(`${gw.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  }, 30_000);
});
