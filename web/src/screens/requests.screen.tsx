/**
 * The request log (`GET /api/requests`, newest first, metadata only), a page at a time, and each
 * request's receipt on demand (`GET /api/requests/{id}`): tokens, the price version and unit
 * prices it was billed at, the hold placed before the call, the cost, and whether the usage was
 * estimated (a stream cut short, or a provider that reported none).
 */
import { useState } from 'preact/hooks';
import { formatCredits, formatMicros } from '../api/money';
import type { Receipt, RequestSummary } from '../api/types';
import { useApi } from '../api/use-api';
import { usePages } from '../api/use-pages';
import { ErrorMessage } from '../components/error-message';

const PAGE = 25;
const RATES: Array<[key: string, label: string]> = [
  ['input', 'input'],
  ['cachedInput', 'cached input'],
  ['cacheWrite', 'cache write'],
  ['output', 'output'],
];

const count = (n: number) => n.toLocaleString('en-US');
const when = (iso: string) => new Date(iso).toLocaleString('en-GB', { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'medium' }) + ' UTC';

export function RequestsScreen() {
  const log = usePages<RequestSummary>(`/api/requests?limit=${PAGE}`);
  const [open, setOpen] = useState<string | null>(null);
  const ready = !log.loading || log.items.length > 0;

  return (
    <div data-ready={ready ? 'requests' : undefined} aria-busy={log.loading}>
      <h1 tabIndex={-1}>Requests</h1>
      <p class="sub">Every request made with this account's keys, newest first, kept 90 days. Only figures are kept: never what was asked or answered.</p>
      <ErrorMessage error={log.error} />
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Request log">
        <table class="requests">
          <caption>Request log</caption>
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Model</th>
              <th scope="col" class="num">Status</th>
              <th scope="col" class="num">Tokens in / out</th>
              <th scope="col" class="num">Cost</th>
              <th scope="col">Receipt</th>
            </tr>
          </thead>
          <tbody>
            {!log.loading && log.items.length === 0 && !log.error && (
              <tr>
                <td colSpan={6}>No requests yet: the quick start shows how to make one.</td>
              </tr>
            )}
            {log.items.map((r) => (
              <RequestRow key={r.id} r={r} open={open === r.id} toggle={() => setOpen(open === r.id ? null : r.id)} />
            ))}
          </tbody>
        </table>
      </div>
      {log.hasMore && (
        <button type="button" class="secondary" onClick={log.more} disabled={log.loading} aria-busy={log.loading}>
          {log.loading ? 'Loading…' : 'Show older requests'}
        </button>
      )}
    </div>
  );
}

function RequestRow({ r, open, toggle }: { r: RequestSummary; open: boolean; toggle: () => void }) {
  const panel = `receipt-${r.id}`;
  return (
    <>
      <tr data-request-id={r.id}>
        <td>{when(r.createdAt)}</td>
        <th scope="row">
          {r.model}
          <span class="sub"> {r.endpoint}</span>
        </th>
        <td class="num">
          {r.status}
          {r.errorCode && <span class="sub"> {r.errorCode}</span>}
        </td>
        <td class="num">
          {count(r.inputTokens)} / {count(r.outputTokens)}
          {r.estimated && <span class="sub"> (estimated)</span>}
        </td>
        <td class="num" data-cost>
          {r.freeRequest ? 'free' : formatCredits(r.cost)}
        </td>
        <td>
          <button type="button" class="link" aria-expanded={open} aria-controls={open ? panel : undefined} onClick={toggle}>
            {open ? 'Hide' : 'Show'}
            <span class="visually-hidden"> receipt of {r.id}</span>
          </button>
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={6} id={panel}>
            <ReceiptView id={r.id} />
          </td>
        </tr>
      )}
    </>
  );
}

/** µcr per million tokens before the margin → what a million tokens cost with it, rounded up as charges are. */
function withMargin(micros: string | number | undefined, marginBps: number): string {
  if (micros === undefined) return '—';
  const m = BigInt(micros);
  return formatMicros((m * BigInt(10_000 + marginBps) + 9_999n) / 10_000n);
}

function ReceiptView({ id }: { id: string }) {
  const receipt = useApi<Receipt>(`/api/requests/${encodeURIComponent(id)}`);
  if (receipt.error) return <ErrorMessage error={receipt.error} />;
  if (!receipt.data) return <p aria-busy="true">Loading the receipt…</p>;
  const r = receipt.data;
  const u = r.unit_prices;
  const margin = u ? Number(u.marginBps) : 0;
  return (
    <dl class="receipt" data-receipt={r.id}>
      <dt>Request id</dt>
      <dd>
        <code>{r.id}</code>
      </dd>
      <dt>Provider</dt>
      <dd>{r.provider ?? 'none answered'}</dd>
      <dt>Tokens</dt>
      <dd data-field="tokens">
        {count(r.usage.input_tokens)} input, {count(r.usage.cached_tokens)} cached, {count(r.usage.cache_write_tokens)} cache write, {count(r.usage.output_tokens)} output
      </dd>
      <dt>Estimated</dt>
      <dd data-field="estimated">{r.estimated ? 'yes: counted by the gateway (the provider reported none, or the answer was cut short)' : 'no: the provider’s own count'}</dd>
      <dt>Price version</dt>
      <dd data-field="price-version">{r.price_version ?? '—'}</dd>
      <dt>Unit prices (per million tokens, margin included)</dt>
      <dd data-field="unit-prices">
        {u
          ? RATES.map(([k, label]) => `${label} ${withMargin(u[k], margin)}`).join(', ') + ` (margin ${(margin / 100).toLocaleString('en-US')} %)`
          : 'none: not billed at a price'}
      </dd>
      <dt>Hold</dt>
      <dd data-field="hold">{formatCredits(r.hold)}</dd>
      <dt>Cost</dt>
      <dd data-field="cost">
        {formatCredits(r.cost)} ({r.free_request ? 'a free request' : r.billing})
      </dd>
      <dt>Latency</dt>
      <dd>
        {count(r.latency_ms)} ms, {r.attempts} attempt{r.attempts === 1 ? '' : 's'}
      </dd>
    </dl>
  );
}
