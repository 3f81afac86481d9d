/**
 * Resolves once the event loop has been through two check phases: after whatever the caller
 * queued for the next one (a setImmediate) has run. For work that can wait behind a request's
 * own I/O: undici writes a request to a kept-alive connection only after a setImmediate (it first
 * reads what the idle socket may have received, GHSA-35p6-xmwp-9g52), so an Immediate of ours
 * queued before it would run first, and its work (a ledger round, a Redis exchange) would go
 * before the upstream request; one more turn puts ours after it.
 */
export function afterQueuedIo(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
}
