/**
 * The watch that keeps UPSTREAM_TIMEOUT_MS (src/proxy/upstream/silence-watch.ts): never early,
 * at most a tenth late (plus scheduling), put off by every chunk read, and never while the
 * reader is held up by its client. Real timers: the timing is the point.
 */
import { SilenceWatch } from '../../../../src/proxy/upstream/silence-watch';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function watched(timeoutMs: number): { watch: SilenceWatch; fired: Promise<number> } {
  const started = performance.now();
  let watch!: SilenceWatch;
  const fired = new Promise<number>((resolve) => {
    watch = new SilenceWatch(timeoutMs, () => resolve(performance.now() - started));
  });
  return { watch, fired };
}

it('fires once the timeout has passed in silence, not before, and not much after', async () => {
  const { fired } = watched(200);
  const after = await fired;
  expect(after).toBeGreaterThanOrEqual(199);
  expect(after).toBeLessThan(200 * 1.5 + 100);
});

it('every chunk read puts it off: it fires a timeout after the last one', async () => {
  const { watch, fired } = watched(200);
  let last = 0;
  const started = performance.now();
  for (let i = 0; i < 5; i++) {
    await sleep(100);
    watch.reads++;
    last = performance.now() - started;
  }
  const after = await fired;
  expect(after - last).toBeGreaterThanOrEqual(199);
  expect(after - last).toBeLessThan(200 * 1.5 + 100);
});

it('does not fire while the reader waits on its client, and stops for good when stopped', async () => {
  const { watch, fired } = watched(100);
  watch.busy = true;
  const early = await Promise.race([fired.then(() => 'fired'), sleep(400).then(() => 'quiet')]);
  expect(early).toBe('quiet');
  watch.stop();
  watch.busy = false;
  const late = await Promise.race([fired.then(() => 'fired'), sleep(300).then(() => 'quiet')]);
  expect(late).toBe('quiet');
});
