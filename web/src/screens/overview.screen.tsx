/**
 * The overview: what the account can spend, its free requests, spend today and this month, and
 * the last 30 days of spend (a chart per day, a table per model). Three reads of the account
 * API; `data-ready` is set once they are all shown (the browser tests and bench/web wait on it),
 * with a `tollgate:overview-ready` performance mark (bench/web reads its time since navigation).
 */
import { useEffect } from 'preact/hooks';
import { toMicros, formatCredits, formatMicros, sumMicros } from '../api/money';
import type { Balance, Usage } from '../api/types';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { DailySpend, UsageChart } from '../components/usage-chart';

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The 30 UTC days ending today, and the window that covers them and this month (at most 31 + 30 days: the API allows 92). */
function windowOf(now: number) {
  const today = utcDay(now);
  const thirtyAgo = utcDay(now - 29 * DAY_MS);
  const monthStart = `${today.slice(0, 7)}-01`;
  const from = monthStart < thirtyAgo ? monthStart : thirtyAgo;
  return { today, thirtyAgo, monthStart, from };
}

export function OverviewScreen() {
  const w = windowOf(Date.now());
  const balance = useApi<Balance>('/api/balance');
  const byDay = useApi<Usage>(`/api/usage?group_by=day&from=${w.from}&to=${w.today}`);
  const byModel = useApi<Usage>(`/api/usage?group_by=model&from=${w.thirtyAgo}&to=${w.today}`);
  const error = balance.error ?? byDay.error ?? byModel.error;
  const ready = !!(balance.data && byDay.data && byModel.data);
  // After the render that shows the data (effects run once it is in the DOM).
  useEffect(() => {
    if (ready && performance.getEntriesByName('tollgate:overview-ready').length === 0) performance.mark('tollgate:overview-ready');
  }, [ready]);

  let today = 0n;
  let month = 0n;
  const daily: DailySpend[] = [];
  if (byDay.data) {
    const cost = new Map(byDay.data.data.map((l) => [l.group, l.cost]));
    today = toMicros(cost.get(w.today) ?? '0');
    month = sumMicros(byDay.data.data.filter((l) => l.group >= w.monthStart).map((l) => l.cost));
    for (let ms = Date.parse(w.thirtyAgo); ms <= Date.parse(w.today); ms += DAY_MS) {
      const day = utcDay(ms);
      // Only the drawing becomes a float; every figure shown as text stays exact.
      daily.push({ day, credits: Number(toMicros(cost.get(day) ?? '0')) / 1e6 });
    }
  }
  const spent30 = byModel.data ? sumMicros(byModel.data.data.map((l) => l.cost)) : 0n;

  return (
    <div class="overview" data-ready={ready ? 'overview' : undefined} aria-busy={!ready && !error}>
      <h1 tabIndex={-1}>Overview</h1>
      <ErrorMessage error={error} />
      <dl class="figures">
        <div>
          <dt>Balance</dt>
          <dd data-figure="balance">{balance.data ? formatCredits(balance.data.available) : '…'}</dd>
          {balance.data && toMicros(balance.data.held) > 0n && <dd class="sub">{formatCredits(balance.data.held)} held by requests under way</dd>}
        </div>
        <div>
          <dt>Free requests left</dt>
          <dd data-figure="free-requests">{balance.data ? balance.data.freeRequests : '…'}</dd>
        </div>
        <div>
          <dt>Spend today</dt>
          <dd data-figure="spend-today">{byDay.data ? formatMicros(today) : '…'}</dd>
        </div>
        <div>
          <dt>Spend this month</dt>
          <dd data-figure="spend-month">{byDay.data ? formatMicros(month) : '…'}</dd>
        </div>
      </dl>
      <section aria-labelledby="usage-title">
        <h2 id="usage-title">Last 30 days</h2>
        <p class="sub">UTC days, {w.thirtyAgo} to {w.today}: {formatMicros(spent30)} in all.</p>
        {byDay.data && <UsageChart days={daily} label={`Spend per day over the last 30 days, ${formatMicros(spent30)} in all`} />}
        {byModel.data && (
          <table class="by-model">
            <caption>By model</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col" class="num">Requests</th>
                <th scope="col" class="num">Tokens in / out</th>
                <th scope="col" class="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {byModel.data.data.length === 0 && (
                <tr>
                  <td colSpan={4}>No requests in these 30 days.</td>
                </tr>
              )}
              {byModel.data.data.map((l) => (
                <tr key={l.group} data-model={l.group}>
                  <th scope="row">{l.group}</th>
                  <td class="num">{l.requests.toLocaleString('en-US')}</td>
                  <td class="num">
                    {l.inputTokens.toLocaleString('en-US')} / {l.outputTokens.toLocaleString('en-US')}
                  </td>
                  <td class="num">{formatCredits(l.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
