/**
 * The event store contract against EventStoreDB / KurrentDB. It needs a live server, named by
 * TEST_EVENTSTORE_URL (or EVENTSTORE_URL); without one that answers, the suite is skipped and
 * says why, in the output and in the skipped test's title, never silently.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EsdbEventStore } from '../../../src/platform/event-store/esdb/esdb-event-store';
import { eventStoreContract } from './event-store.contract';

const HOW_TO_RUN =
  'start one with `docker compose up -d eventstoredb` and set TEST_EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false';

// Jest collects tests synchronously, so whether the server answers is asked of a child process.
const PROBE = `
const { EventStoreDBClient, BACKWARDS, END } = require('@eventstore/db-client');
const url = process.argv[1].replace(/^(kurrentdb|kurrent)(\\+discover)?:\\/\\//i, (_m, _s, d = '') => 'esdb' + d + '://');
(async () => {
  const client = EventStoreDBClient.connectionString(url);
  try {
    for await (const _ of client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, deadline: 5000 })) {}
  } finally {
    await client.dispose();
  }
})().then(() => process.exit(0), (err) => { process.stderr.write(String(err && err.message || err)); process.exit(1); });
`;

function whyNotRunnable(url: string | undefined): string | undefined {
  if (!url) return `no EventStoreDB server (TEST_EVENTSTORE_URL is not set); ${HOW_TO_RUN}`;
  try {
    execFileSync(process.execPath, ['-e', PROBE, url], { cwd: __dirname, timeout: 15_000, stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const detail = e.stderr?.toString().trim() || e.message;
    return `no EventStoreDB server answers at ${url} (${detail.split('\n')[0]}); ${HOW_TO_RUN}`;
  }
}

const url = process.env.TEST_EVENTSTORE_URL ?? process.env.EVENTSTORE_URL;
const skipReason = whyNotRunnable(url);

if (skipReason) {
  console.warn(`SKIPPED eventstoredb contract: ${skipReason}`);
  it.skip(`EventStore contract: eventstoredb — SKIPPED: ${skipReason}`, () => undefined);
} else {
  eventStoreContract('eventstoredb', async () => {
    const store = new EsdbEventStore(url!);
    return {
      store,
      // The server is shared between runs and keeps what they wrote: each run sees only its own.
      prefix: `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}-`,
      dispose: () => store.close(),
    };
  });
}
