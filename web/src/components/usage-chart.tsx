/**
 * Spend per UTC day as a uPlot bar chart, sized to its container (it follows the window's
 * width, 360 px included). The figures are drawn from numbers (a chart needs them); the exact
 * amounts are the table beside it, which screen readers read instead of the canvas.
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

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

/** Axis labels: cents from a dollar up, two significant digits below (a day of small requests costs fractions of a cent). */
const dollars = (t: number) => (t === 0 ? '$0' : t >= 1 ? `$${t.toFixed(2)}` : `$${Number(t.toPrecision(2))}`);

export function UsageChart({ days, label }: { days: DailySpend[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data: uPlot.AlignedData = [days.map((d) => dayStart(d.day)), days.map((d) => d.credits)];
    const size = () => ({ width: Math.max(240, el.clientWidth), height: 220 });
    const plot = new uPlot(
      {
        ...size(),
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { show: false },
        cursor: { y: false },
        // Half a day either side, so the first and last bars are whole.
        scales: { x: { time: true, range: (_u, min, max) => [min - 43_200, max + 43_200] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{}, { values: (_u, ticks) => ticks.map(dollars), size: 80 }],
        series: [{}, { label: 'spend', fill: 'rgba(47, 91, 234, 0.35)', stroke: '#2f5bea', paths: uPlot.paths.bars!({ size: [0.7, 40] }), points: { show: false } }],
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
  }, [days]);
  return <div ref={box} class="chart" role="img" aria-label={label} />;
}
