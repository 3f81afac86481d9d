/**
 * The built API listens with the accept queue LISTEN_BACKLOG asks for (Node's default is 511),
 * so a burst of new connections (a thousand clients in a second, a reconnect storm) is queued by
 * the kernel rather than dropped (a dropped SYN costs its client a 1 s, then 3 s, retransmit).
 * `ss` reads the queue's size off the listening socket (its Send-Q); Linux caps it at
 * net.core.somaxconn.
 */
import { execFileSync, ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnBuilt } from '../../support/cli-runner';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { testRedisPrefix } from '../../support/gateway';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort, untilHealthy } from '../../support/wait';

function whyNoSs(): string | undefined {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'the `ss` command (iproute2) is not installed';
  }
}

const skipReason = whyNoSs();
if (skipReason) {
  console.warn(`SKIPPED listen-backlog: ${skipReason}`);
  it.skip(`the API's listen backlog — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe("the API's accept queue (built main.js)", () => {
    let db: FreshDb;
    const children: ChildProcess[] = [];
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());

    beforeAll(async () => {
      db = await freshDb(2);
    });
    afterAll(async () => {
      for (const c of children) c.kill('SIGKILL');
      await db?.drop();
    });

    /** The accept queue's size of whatever listens on 127.0.0.1:port. */
    const backlogOf = (port: number): number => {
      const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
      const [, , sendQ] = line.split(/\s+/);
      return Number(sendQ);
    };

    async function api(extra: Record<string, string>): Promise<number> {
      const port = await freePort();
      const child = spawnBuilt('main', {
        ...process.env,
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: testRedisPrefix(),
        API_RUNS_WORKERS: 'false',
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'warn',
        EVENTSTORE_URL: '',
        ...extra,
      });
      children.push(child);
      await untilHealthy(port);
      return port;
    }

    it('is 4096 by default (as far as somaxconn allows), not Node\'s 511', async () => {
      expect(backlogOf(await api({}))).toBe(Math.min(4096, somaxconn));
    }, 60_000);

    it('is what LISTEN_BACKLOG says', async () => {
      expect(backlogOf(await api({ LISTEN_BACKLOG: '1234' }))).toBe(Math.min(1234, somaxconn));
    }, 60_000);
  });
}
