/**
 * Spend per UTC day as a uPlot chart, sized to its container (it follows the window's width,
 * 360 px included): one series as bars, several (spend by model) as lines, one colour each,
 * with a legend of our own (text, so it reads at any zoom and needs no canvas). The figures are
 * drawn from numbers (a chart needs them); the exact amounts are in the tables beside it, which
 * screen readers read instead of the canvas.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface DailySpend {
  /** YYYY-MM-DD (UTC) */
  day: string;
  /** credits, for drawing only */
  credits: number;
}

export interface ChartSeries {
  label: string;
  /** credits per day, in the order of `days`, for drawing only */
  credits: number[];
  /** default: SERIES_COLOURS by position */
  colour?: string;
}

/** Distinct on white and for the common colour blindnesses (after Okabe–Ito). */
export const SERIES_COLOURS = ['#2f5bea', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
/** The series that sums the rest. */
export const OTHER_COLOUR = '#6b7280';
const colourOf = (s: ChartSeries, i: number) => s.colour ?? SERIES_COLOURS[i % SERIES_COLOURS.length];

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** Axis labels: cents from a dollar up, two significant digits below (a day of small requests costs fractions of a cent). */
const dollars = (t: number) => (t === 0 ? '$0' : t >= 1 ? `$${t.toFixed(2)}` : `$${Number(t.toPrecision(2))}`);

/** `days` alone: one series of bars (the usage screen). `series`: a line each over `days` (the overview, by model). */
export function UsageChart({ days, series, label }: { days: DailySpend[] | string[]; series?: ChartSeries[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const x = days.map((d) => (typeof d === 'string' ? d : d.day));
  const lines: ChartSeries[] = series ?? [{ label: 'spend', credits: (days as DailySpend[]).map((d) => d.credits) }];
  const bars = series === undefined;
  const key = JSON.stringify([x, lines]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data: uPlot.AlignedData = [x.map(dayStart), ...lines.map((s) => s.credits)];
    const size = () => ({ width: Math.max(240, el.clientWidth), height: 220 });
    const drawn: uPlot.Series[] = lines.map((s, i) => {
      const colour = colourOf(s, i);
      return bars
        ? { label: s.label, fill: 'rgba(47, 91, 234, 0.35)', stroke: colour, paths: uPlot.paths.bars!({ size: [0.7, 40] }), points: { show: false } }
        : { label: s.label, stroke: colour, width: 2, points: { show: true, size: 5, fill: colour } };
    });
    const plot = new uPlot(
      {
        ...size(),
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { show: false },
        cursor: { y: false },
        // Half a day either side, so the first and last bars are whole.
        scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{}, { values: (_u, ticks) => ticks.map(dollars), size: 80 }],
        series: [{}, ...drawn],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize(size()));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // `key` is the content of days and series: a new array of the same figures draws nothing anew.
  }, [key]);
  return (
    <>
      <div ref={box} class="chart" role="img" aria-label={label} />
      {!bars && lines.length > 0 && (
        <ul class="legend" aria-label="Chart legend">
          {lines.map((s, i) => (
            <li key={i} data-series={s.label}>
              <span class="swatch" style={{ background: colourOf(s, i) }} aria-hidden="true" />
              {s.label}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
