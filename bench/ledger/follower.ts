/**
 * The read models' follower for the ledger benchmark, in a process of its own as in production
 * (src/worker.ts runs the projection runner apart from the API). Started by ledger.bench.ts with
 * fork(); says 'ready' once following, and stops and exits when told 'stop'.
 */
import { createPool } from '../../src/platform/database/pg';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { ProjectionRunner } from '../../projections/runner';
import { allProjections } from '../../projections';

async function main(): Promise<void> {
  const url = process.argv[2];
  const pool = createPool(url, 8, 'tollgate-bench-follower');
  const store = new PostgresEventStore(pool);
  const runner = new ProjectionRunner(pool, store, allProjections(), {
    pollMs: 20,
    batchSize: 5000,
    onError: (name, err) => process.stderr.write(`[bench:follower] ${name}: ${err.message}\n`),
  });
  await runner.start();
  process.send!('ready');
  const stop = async () => {
    await runner.stop();
    await store.close();
    await pool.end();
    process.exit(0);
  };
  process.on('message', (msg) => {
    if (msg === 'stop') void stop();
  });
}

main().catch((err) => {
  process.stderr.write(`[bench:follower] failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
