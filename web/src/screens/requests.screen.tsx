/**
 * The request log (`GET /api/requests`, newest first, metadata only), a page at a time, filtered
 * by model, outcome (ok or error), key and a range of UTC days (the API's own query parameters:
 * each page walks on with them), and each request's receipt on demand (`GET /api/requests/{id}`):
 * tokens, the price version and unit prices it was billed at, the hold placed before the call,
 * the cost, and whether the usage was estimated (a stream cut short, or a provider that reported
 * none). The models and keys offered are those with requests in the 90 days the log keeps
 * (`GET /api/usage` by model and by key, with the keys' names).
 */
import { useState } from 'preact/hooks';
import { formatCredits, formatMicros } from '../api/money';
import type { Receipt, RequestSummary, Usage } from '../api/types';
import { useApi } from '../api/use-api';
import { usePages } from '../api/use-pages';
import { ErrorMessage } from '../components/error-message';
import { TableRegion } from '../components/table-region';
import { plural } from '../plural';

const PAGE = 25;
const RATES: Array<[key: string, label: string]> = [
  ['input', 'input'],
  ['cachedInput', 'cached input'],
  ['cacheWrite', 'cache write'],
  ['output', 'output'],
];

const count = (n: number) => n.toLocaleString('en-US');
const when = (iso: string) => new Date(iso).toLocaleString('en-GB', { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'medium' }) + ' UTC';

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface Filters {
  model: string;
  outcome: '' | 'ok' | 'error';
  key: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { model: '', outcome: '', key: '', from: '', to: '' };

/** The API's query string for these filters (empty ones left out). */
function queryOf(f: Filters): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  for (const name of ['model', 'outcome', 'key', 'from', 'to'] as const) if (f[name]) q.set(name, f[name]);
  return q.toString();
}

export function RequestsScreen() {
  const [form, setForm] = useState<Filters>(NO_FILTERS);
  // The filters the list uses: changed by the form, so a half-typed date asks nothing of the API.
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const log = usePages<RequestSummary>(`/api/requests?${queryOf(applied)}`);
  const [open, setOpen] = useState<string | null>(null);
  const ready = !log.loading || log.items.length > 0;
  const filtered = queryOf(applied) !== queryOf(NO_FILTERS);

  const today = utcDay(Date.now());
  const kept = `from=${utcDay(Date.now() - 89 * DAY_MS)}&to=${today}`;
  const models = useApi<Usage>(`/api/usage?group_by=model&${kept}`);
  const keys = useApi<Usage>(`/api/usage?group_by=key&${kept}`);
  const set = (name: keyof Filters) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [name]: e.currentTarget.value });
  const apply = (e: Event) => {
    e.preventDefault();
    setOpen(null);
    setApplied(form);
  };
  const clear = () => {
    setForm(NO_FILTERS);
    setApplied(NO_FILTERS);
  };

  return (
    <div data-ready={ready ? 'requests' : undefined} aria-busy={log.loading}>
      <h1 tabIndex={-1}>Requests</h1>
      <p class="sub">Every request made with this account's keys, newest first, kept 90 days. Only figures are kept: never what was asked or answered.</p>
      <form class="card" onSubmit={apply} aria-label="Filter requests">
        <div class="row">
          <div class="grow">
            <label for="filter-model">Model</label>
            <select id="filter-model" value={form.model} onChange={set('model')}>
              <option value="">Any model</option>
              {models.data?.data.map((m) => (
                <option key={m.group} value={m.group}>
                  {m.group}
                </option>
              ))}
            </select>
          </div>
          <div class="grow">
            <label for="filter-outcome">Outcome</label>
            <select id="filter-outcome" value={form.outcome} onChange={set('outcome')}>
              <option value="">Any outcome</option>
              <option value="ok">Succeeded (status below 400)</option>
              <option value="error">Failed (status 400 and above)</option>
            </select>
          </div>
          <div class="grow">
            <label for="filter-key">API key</label>
            <select id="filter-key" value={form.key} onChange={set('key')}>
              <option value="">Any key</option>
              {keys.data?.data.map((k) => (
                <option key={k.group} value={k.group}>
                  {k.name ?? k.group}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div class="row">
          <div class="grow">
            <label for="filter-from">From (UTC day)</label>
            <input id="filter-from" type="date" max={today} value={form.from} onInput={set('from')} />
          </div>
          <div class="grow">
            <label for="filter-to">To (UTC day, included)</label>
            <input id="filter-to" type="date" max={today} value={form.to} onInput={set('to')} />
          </div>
          <button type="submit" disabled={log.loading} aria-busy={log.loading}>
            {log.loading ? 'Loading…' : 'Filter'}
          </button>
          {filtered && (
            <button type="button" class="secondary" onClick={clear}>
              Clear filters
            </button>
          )}
        </div>
        <ErrorMessage error={models.error ?? keys.error} />
      </form>
      <ErrorMessage error={log.error} />
      <TableRegion label="Request log">
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
                <td colSpan={6}>{filtered ? 'No request matches these filters.' : 'No requests yet: the quick start shows how to make one.'}</td>
              </tr>
            )}
            {log.items.map((r) => (
              <RequestRow key={r.id} r={r} open={open === r.id} toggle={() => setOpen(open === r.id ? null : r.id)} />
            ))}
          </tbody>
        </table>
      </TableRegion>
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
        {count(r.latency_ms)} ms, {plural(r.attempts, 'attempt', 'attempts')}
      </dd>
    </dl>
  );
}
