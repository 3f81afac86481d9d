/**
 * Closing a BullMQ queue or worker the moment it was made (an app that stops right after it
 * started: CI's boot test). BullMQ's close() removes its connection's listeners while the
 * connection is still connecting, and that connection then reports its own closing as an
 * 'error' event nobody listens to: an uncaught exception in the process. closeWithin lets the
 * connection finish connecting (within its bound) before it closes.
 */
import { QUEUES, closeWithin, makeQueue, makeWorker } from '../../../src/platform/queue/queues';
import { testRedisPrefix } from '../../support/gateway';
import { TEST_REDIS_URL } from '../../support/test-env';

describe('closeWithin, right after the queue or worker was made', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  beforeAll(() => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
  });
  afterAll(() => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  // Closed at once, or a moment later: the window is while the connection is up but BullMQ's
  // set-up on it (its version check) is still under way, which lasts a few milliseconds.
  it('closes queues and workers made 0 to 6 ms before, with nothing thrown after', async () => {
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (let i = 0; i < 40; i++) {
      const prefix = testRedisPrefix();
      const queue = makeQueue(QUEUES.holdExpiry, TEST_REDIS_URL, prefix);
      await pause(i % 7);
      await closeWithin(queue, 2_000);
      const worker = makeWorker(QUEUES.holdExpiry, TEST_REDIS_URL, prefix, async () => undefined, 1);
      await pause(i % 7);
      await closeWithin(worker, 2_000);
    }
    await new Promise((r) => setTimeout(r, 300)); // a late 'error' comes once the socket has closed
    expect(uncaught.map(String)).toEqual([]);
  }, 60_000);
});
