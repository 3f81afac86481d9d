/**
 * A library loaded the first time it is called, not when the process starts. The API process
 * imports the code of every route and job, yet most of it never runs there: the proxy never
 * sends mail, verifies a passkey, talks to Stripe or a chain, signs in with OAuth or queues a
 * BullMQ job. Required at start, those libraries cost the API ~14 MiB of live heap and ~30 MiB
 * of RSS (issue 23, "Memory"). Each is required here on its first call instead, synchronously
 * (Node caches it from then on), so its callers stay as they were; a call site writes
 * `onFirstUse(() => require('lib') as typeof Lib)` with `import type * as Lib from 'lib'`,
 * and test/e2e/ops/start-up-modules.spec.ts holds the API to not loading them at start.
 */
export function onFirstUse<T>(load: () => T): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load());
}
