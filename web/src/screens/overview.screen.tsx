/**
 * The overview: what the account can spend, its free requests, spend today and this month, and
 * the last 30 days of spend (a chart per day with a line per model, the costliest few named and
 * the rest as one; a table per model). Four reads of the account API, in parallel; `data-ready`
 * is set once they are all shown (the browser tests and bench/web wait on it), with a
 * `tollgate:overview-ready` performance mark (bench/web reads its time since navigation).
 */
import { useEffect } from 'preact/hooks';
import { toMicros, formatCredits, formatMicros, sumMicros } from '../api/money';
import type { Balance, Usage } from '../api/types';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { ChartSeries, OTHER_COLOUR, UsageChart } from '../components/usage-chart';

const DAY_MS = 86_400_000;
/** Models drawn one by one; the rest are one series (the API sums them: `top`). */
const TOP_MODELS = 5;
const OTHER = 'Other models';
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
  const byDayModel = useApi<Usage>(`/api/usage?group_by=day,model&top=${TOP_MODELS}&from=${w.thirtyAgo}&to=${w.today}`);
  const error = balance.error ?? byDay.error ?? byModel.error ?? byDayModel.error;
  const ready = !!(balance.data && byDay.data && byModel.data && byDayModel.data);
  // After the render that shows the data (effects run once it is in the DOM).
  useEffect(() => {
    if (ready && performance.getEntriesByName('tollgate:overview-ready').length === 0) performance.mark('tollgate:overview-ready');
  }, [ready]);

  let today = 0n;
  let month = 0n;
  if (byDay.data) {
    const cost = new Map(byDay.data.data.map((l) => [l.group, l.cost]));
    today = toMicros(cost.get(w.today) ?? '0');
    month = sumMicros(byDay.data.data.filter((l) => l.group >= w.monthStart).map((l) => l.cost));
  }
  const days: string[] = [];
  for (let ms = Date.parse(w.thirtyAgo); ms <= Date.parse(w.today); ms += DAY_MS) days.push(utcDay(ms));
  const perModel = byDayModel.data ? seriesByModel(byDayModel.data, days) : [];
  const usedDays = new Set(byDayModel.data?.data.map((l) => l.group));
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
        {byDayModel.data && perModel.length === 0 && <p>No spend to draw in these 30 days.</p>}
        {byDayModel.data && perModel.length > 0 && (
          <>
            <UsageChart
              days={days}
              series={perModel.map((m) => m.series)}
              label={`Spend per day by model over the last 30 days, ${formatMicros(spent30)} in all: ${perModel.map((m) => m.series.label).join(', ')}`}
            />
            <SpendByDayTable days={days.filter((d) => usedDays.has(d))} all={days} models={perModel} />
          </>
        )}
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

interface ModelSpend {
  series: ChartSeries;
  /** exact decimal strings of credits per day, in the order of the days ('0' when none) */
  cost: string[];
}

/** A series per model the API named (its order: costliest first, per day) and one for the rest, when there is any. */
function seriesByModel(usage: Usage, days: string[]): ModelSpend[] {
  const at = new Map(days.map((d, i) => [d, i]));
  const models = new Map<string | null, string[]>();
  for (const l of usage.data) {
    const i = at.get(l.group);
    if (i === undefined) continue;
    const sub = l.subgroup ?? null;
    if (!models.has(sub)) models.set(sub, days.map(() => '0'));
    models.get(sub)![i] = l.cost;
  }
  // Costliest over the range first (the API ranks the same way), the rest last.
  const total = (cost: string[]) => sumMicros(cost);
  const named = [...models].filter(([m]) => m !== null).sort(([, a], [, b]) => (total(a) === total(b) ? 0 : total(a) > total(b) ? -1 : 1));
  const rest = models.get(null);
  const out: ModelSpend[] = named.map(([model, cost]) => ({ series: { label: model!, credits: cost.map(toFloat) }, cost }));
  if (rest) out.push({ series: { label: OTHER, credits: rest.map(toFloat), colour: OTHER_COLOUR }, cost: rest });
  return out;
}

/** Only the drawing becomes a float; every figure shown as text stays exact. */
const toFloat = (credits: string) => Number(toMicros(credits)) / 1e6;

/** What the chart draws, as a table for screen readers (the canvas is an image to them): a row per day with requests. */
function SpendByDayTable({ days, all, models }: { days: string[]; all: string[]; models: ModelSpend[] }) {
  const rows = days.map((day) => ({ day, i: all.indexOf(day) }));
  return (
    <table class="visually-hidden" data-chart-table>
      <caption>Spend per day by model (what the chart draws)</caption>
      <thead>
        <tr>
          <th scope="col">Day (UTC)</th>
          {models.map((m) => (
            <th scope="col" key={m.series.label}>
              {m.series.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map(({ day, i }) => (
          <tr key={day}>
            <th scope="row">{day}</th>
            {models.map((m) => (
              <td key={m.series.label}>{formatCredits(m.cost[i])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
