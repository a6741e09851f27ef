// The Reports page's figures that are more than a number (issue 19), presenters only:
// the CSAT distribution as a recharts bar chart (with the same counts in a table for
// screen readers), the weekday × hour volume as a table whose cells are shaded by
// count, and the per-agent table. Colours come from the page's CSS variables, so the
// light and dark themes both read.

import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts';
import type { AgentReport, CsatDistribution, ReportSummary } from '../shared/reportTypes';
import { HOURS_PER_DAY, WEEKDAYS, formatAverage, formatDuration, heatLevel, hourGrid } from './reports';

const SCORES = ['1', '2', '3', '4', '5'] as const;
/** The chart's size in CSS pixels: five bars need no more. */
const CSAT_CHART = { width: 320, height: 180 } as const;
const FULL_WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

const tick = { fill: 'var(--db-chart-text)', fontSize: 12 };

export function CsatChart({ id, distribution }: { id: string; distribution: CsatDistribution }) {
  const data = SCORES.map((score) => ({ score: `${score} ★`, ratings: distribution[score] ?? 0 }));
  return (
    <figure className="db-report-chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>Ratings by score</figcaption>
      <div aria-hidden="true">
        <BarChart width={CSAT_CHART.width} height={CSAT_CHART.height} data={data} margin={{ top: 8, right: 8, bottom: 0, left: -16 }} accessibilityLayer={false}>
          <CartesianGrid vertical={false} stroke="var(--db-chart-grid)" />
          <XAxis dataKey="score" tick={tick} stroke="var(--db-chart-grid)" />
          <YAxis allowDecimals={false} tick={tick} stroke="var(--db-chart-grid)" />
          <Tooltip
            cursor={{ fill: 'var(--db-chart-cursor)' }}
            contentStyle={{ background: 'var(--db-chart-tooltip)', borderColor: 'var(--db-chart-grid)', color: 'var(--db-chart-text)' }}
            labelStyle={{ color: 'var(--db-chart-text)' }}
            itemStyle={{ color: 'var(--db-chart-text)' }}
          />
          <Bar dataKey="ratings" name="Ratings" fill="var(--db-chart-bar)" isAnimationActive={false} />
        </BarChart>
      </div>
      <table className="db-sr-only" aria-label="Ratings by score">
        <thead>
          <tr>
            <th scope="col">Score</th>
            <th scope="col">Ratings</th>
          </tr>
        </thead>
        <tbody>
          {SCORES.map((score) => (
            <tr key={score}>
              <th scope="row">{score} of 5</th>
              <td>{distribution[score] ?? 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export function HourHeatmap({ byHour }: { byHour: ReportSummary['by_hour'] }) {
  const { counts, max } = hourGrid(byHour);
  const hours = Array.from({ length: HOURS_PER_DAY }, (_, h) => h);
  return (
    <div className="db-heatmap-scroll">
      <table className="db-heatmap" aria-label="Tickets created by weekday and hour">
        <thead>
          <tr>
            <td />
            {hours.map((h) => (
              <th key={h} scope="col" aria-label={`${h}:00`}>
                {h % 3 === 0 ? h : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {counts.map((row, day) => (
            <tr key={WEEKDAYS[day]}>
              <th scope="row" aria-label={FULL_WEEKDAYS[day]}>
                {WEEKDAYS[day]}
              </th>
              {row.map((count, h) => (
                <td key={h} className={`db-heat-${heatLevel(count, max)}`} title={`${FULL_WEEKDAYS[day]} ${h}:00–${h + 1}:00: ${count} ${count === 1 ? 'ticket' : 'tickets'}`}>
                  {count > 0 ? count : ''}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function AgentTable({ agents }: { agents: readonly AgentReport[] }) {
  if (agents.length === 0) return <p className="db-muted">No ticket of this range is assigned to an agent.</p>;
  return (
    <div className="db-outbox-scroll">
      <table className="db-report-table" aria-label="Tickets by agent">
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">Tickets</th>
            <th scope="col">First response (median)</th>
            <th scope="col">CSAT</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a.agent_id}>
              <th scope="row">{a.name}</th>
              <td>{a.tickets}</td>
              <td>{formatDuration(a.first_response_seconds.median)}</td>
              <td>{formatAverage(a.csat_average)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
