/**
 * The API's requests under way, counted from the moment a route handler starts until its
 * promise settles. A proxied answer's handler settles its hold after the last byte is sent,
 * so "no request under way" means every delivered answer has been billed (or handed on to be
 * retried): a stopping process waits for that before it closes the stores.
 *
 * Counted by wrapping every route's handler (Fastify's onRoute hook, added before any route
 * is registered), so no route has to remember to say it is running.
 */
import type { FastifyInstance } from 'fastify';

export class InFlightRequests {
  private count = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  track<T>(work: T): T {
    if (!(work instanceof Promise)) return work;
    this.count++;
    const done = () => {
      this.count--;
      if (this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
    work.then(done, done);
    return work;
  }

  /** Resolves true once nothing is under way, or false when `ms` pass first. */
  idle(ms: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== onIdle);
        resolve(false);
      }, Math.max(0, ms));
      const onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(onIdle);
    });
  }
}

const trackers = new WeakMap<object, InFlightRequests>();

/** Wraps every route registered from now on; call before the app's routes are registered. */
export function trackInFlight(fastify: FastifyInstance): InFlightRequests {
  const tracker = new InFlightRequests();
  trackers.set(fastify, tracker);
  fastify.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      return tracker.track(handler.call(this, request, reply));
    };
  });
  return tracker;
}

export function inFlightOf(fastify: object): InFlightRequests | undefined {
  return trackers.get(fastify);
}
