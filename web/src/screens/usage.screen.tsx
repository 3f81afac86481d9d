/**
 * Usage: requests, tokens and cost over a chosen range of UTC days (at most 92, as the API
 * allows), drawn per day and tabled by day, model, key or project, with the API's own CSV of the
 * table as a download (`GET /api/usage?format=csv`: the same file a script gets). `data-ready`
 * is set once both reads are shown.
 */
import { useState } from 'preact/hooks';
import { formatCredits, formatMicros, sumMicros, toMicros } from '../api/money';
import type { Usage, UsageLine } from '../api/types';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { DailySpend, UsageChart } from '../components/usage-chart';
import { TableRegion } from '../components/table-region';

const DAY_MS = 86_400_000;
const MAX_DAYS = 92;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

type Group = Usage['groupBy'];
const GROUPS: Array<{ value: Group; label: string; column: string }> = [
  { value: 'day', label: 'Day', column: 'Day (UTC)' },
  { value: 'model', label: 'Model', column: 'Model' },
  { value: 'key', label: 'API key', column: 'Key' },
  { value: 'project', label: 'Project', column: 'Project' },
];

const query = (from: string, to: string, groupBy: Group) => `from=${from}&to=${to}&group_by=${groupBy}`;

/** Every UTC day of the answer's window, a bar each (days without requests are zero). */
function dailyOf(usage: Usage): DailySpend[] {
  const cost = new Map(usage.data.map((l) => [l.group, l.cost]));
  const days: DailySpend[] = [];
  for (let ms = Date.parse(usage.from); ms <= Date.parse(usage.to); ms += DAY_MS) {
    const day = utcDay(ms);
    days.push({ day, credits: Number(toMicros(cost.get(day) ?? '0')) / 1e6 });
  }
  return days;
}

export function UsageScreen() {
  const today = utcDay(Date.now());
  const [from, setFrom] = useState(utcDay(Date.now() - 29 * DAY_MS));
  const [to, setTo] = useState(today);
  const [groupBy, setGroupBy] = useState<Group>('day');
  // The range the reads use: changed by the form, so a half-typed date asks nothing of the API.
  const [range, setRange] = useState({ from, to });

  const byDay = useApi<Usage>(`/api/usage?${query(range.from, range.to, 'day')}`);
  const grouped = useApi<Usage>(groupBy === 'day' ? null : `/api/usage?${query(range.from, range.to, groupBy)}`);
  const table = groupBy === 'day' ? byDay : grouped;
  const error = byDay.error ?? (groupBy === 'day' ? undefined : grouped.error);
  const loading = byDay.loading || table.loading;
  const ready = !!(byDay.data && table.data) && !loading;
  const group = GROUPS.find((g) => g.value === groupBy)!;
  const total = byDay.data ? sumMicros(byDay.data.data.map((l) => l.cost)) : 0n;
  const requests = byDay.data ? byDay.data.data.reduce((n, l) => n + l.requests, 0) : 0;

  const apply = (e: Event) => {
    e.preventDefault();
    setRange({ from, to });
  };

  return (
    <div data-ready={ready ? 'usage' : undefined} aria-busy={loading}>
      <h1 tabIndex={-1}>Usage</h1>
      <p class="sub">Every request through the gateway, refused ones included (at no cost). Days are UTC; the range may span up to {MAX_DAYS} days.</p>
      <form class="card" onSubmit={apply} aria-label="Usage range">
        <div class="row">
          <div class="grow">
            <label for="usage-from">From</label>
            <input id="usage-from" type="date" required max={today} value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
          </div>
          <div class="grow">
            <label for="usage-to">To</label>
            <input id="usage-to" type="date" required max={today} value={to} onInput={(e) => setTo(e.currentTarget.value)} />
          </div>
          <button type="submit" disabled={loading} aria-busy={loading}>
            {loading ? 'Loading…' : 'Show'}
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      {byDay.data && (
        <section aria-labelledby="usage-chart-title">
          <h2 id="usage-chart-title">
            Spend per day, {byDay.data.from} to {byDay.data.to}
          </h2>
          <p class="sub" data-figure="usage-total">
            {formatMicros(total)} for {requests.toLocaleString('en-US')} requests
          </p>
          <UsageChart days={dailyOf(byDay.data)} label={`Spend per day from ${byDay.data.from} to ${byDay.data.to}, ${formatMicros(total)} in all`} />
        </section>
      )}
      <section aria-labelledby="usage-table-title">
        <h2 id="usage-table-title">Breakdown</h2>
        <div class="row">
          <div class="grow">
            <label for="usage-group">Group by</label>
            <select id="usage-group" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value as Group)}>
              {GROUPS.map((g) => (
                <option key={g.value} value={g.value}>
                  {g.label}
                </option>
              ))}
            </select>
          </div>
          {/* The API's CSV itself: a plain link with the session cookie, so the browser shows the download's progress. */}
          <a class="button secondary" href={`/api/usage?${query(range.from, range.to, groupBy)}&format=csv`} download>
            Download CSV
          </a>
        </div>
        {table.data && (
          <TableRegion labelledBy="usage-table-title">
            <table data-usage-table={groupBy}>
              <caption>
                By {group.label.toLowerCase()}, {table.data.from} to {table.data.to}
              </caption>
              <thead>
                <tr>
                  <th scope="col">{group.column}</th>
                  <th scope="col" class="num">Requests</th>
                  <th scope="col" class="num">Tokens in</th>
                  <th scope="col" class="num">Tokens out</th>
                  <th scope="col" class="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {table.data.data.length === 0 && (
                  <tr>
                    <td colSpan={5}>No requests in this range.</td>
                  </tr>
                )}
                {table.data.data.map((l) => (
                  <tr key={l.group} data-group={l.group}>
                    <th scope="row">{groupBy === 'key' ? <KeyName line={l} /> : l.group}</th>
                    <td class="num">{l.requests.toLocaleString('en-US')}</td>
                    <td class="num">{l.inputTokens.toLocaleString('en-US')}</td>
                    <td class="num">{l.outputTokens.toLocaleString('en-US')}</td>
                    <td class="num">{formatCredits(l.cost)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </section>
    </div>
  );
}

/** A key by its name as the API gives it ('(erased)' once its person is erased), with its id to tell two of one name apart. */
function KeyName({ line }: { line: UsageLine }) {
  return (
    <>
      <span data-key-name>{line.name ?? 'Key not known yet'}</span>
      <br />
      <code class="key-id">{line.group}</code>
    </>
  );
}
