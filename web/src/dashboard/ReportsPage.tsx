// The Reports page (issue 19, every agent; a dialog from the top bar like Settings):
// a range of days ("last N days" or two dates) in a time zone, and for the tickets
// created in it the counts, the median and 90th percentile of first response, queue
// wait and resolution, the CSAT, the volume by weekday and hour, and per agent.
// "Download CSV" is a plain link: the login cookie goes along. State: reports.ts.

import { useEffect, useId, useMemo, useRef, useSyncExternalStore } from 'react';
import type { ReportSummary } from '../shared/reportTypes';
import { AgentTable, CsatChart, HourHeatmap } from './ReportCharts';
import { RANGE_PRESETS, formatAverage, formatDuration, timeZoneChoices, type ReportField, type Reports } from './reports';

export interface ReportsPageProps {
  reports: Reports;
  onClose: () => void;
}

const DURATIONS = [
  ['first_response_seconds', 'First response'],
  ['queue_wait_seconds', 'Queue wait'],
  ['resolution_seconds', 'Resolution'],
] as const satisfies readonly (readonly [keyof ReportSummary, string])[];

export function ReportsPage({ reports, onClose }: ReportsPageProps) {
  const state = useSyncExternalStore(reports.store.subscribe, reports.store.get);
  const titleId = useId();
  const prefix = useId();
  const closeButton = useRef<HTMLButtonElement>(null);
  const { query, preset, summary, loading, errors } = state;
  const zones = useMemo(() => timeZoneChoices(query.tz), [query.tz]);

  useEffect(() => {
    void reports.load();
    closeButton.current?.focus();
  }, [reports]);

  const dateField = (field: Exclude<ReportField, 'tz'>, label: string) => {
    const inputId = `${prefix}-${field}`;
    const error = errors[field];
    return (
      <div className="db-field">
        <label htmlFor={inputId}>{label}</label>
        <input
          id={inputId}
          type="date"
          value={query[field]}
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${inputId}-error` : undefined}
          onChange={(e) => void reports.load({ [field]: e.target.value })}
        />
        {error && (
          <p id={`${inputId}-error`} className="db-field-error" role="alert">
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <div
      className="db-settings db-reports"
      role="dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="db-settings-head">
        <h2 id={titleId}>Reports</h2>
        <button type="button" ref={closeButton} onClick={onClose}>
          Close
        </button>
      </div>
      <form className="db-report-range" aria-label="Report range" onSubmit={(e) => e.preventDefault()} noValidate>
        <div className="db-report-presets" role="group" aria-label="Range presets">
          {RANGE_PRESETS.map((days) => (
            <button key={days} type="button" aria-pressed={preset === days} onClick={() => void reports.choosePreset(days)}>
              Last {days} days
            </button>
          ))}
        </div>
        {dateField('from', 'From')}
        {dateField('to', 'To')}
        <div className="db-field">
          <label htmlFor={`${prefix}-tz`}>Time zone</label>
          <select
            id={`${prefix}-tz`}
            value={query.tz}
            aria-invalid={errors.tz ? true : undefined}
            aria-describedby={errors.tz ? `${prefix}-tz-error` : undefined}
            onChange={(e) => void reports.load({ tz: e.target.value })}
          >
            {zones.map((zone) => (
              <option key={zone} value={zone}>
                {zone}
              </option>
            ))}
          </select>
          {errors.tz && (
            <p id={`${prefix}-tz-error`} className="db-field-error" role="alert">
              {errors.tz}
            </p>
          )}
        </div>
        {/* A range the server would refuse would download its error: no link until it is fixed. */}
        {!errors.from && !errors.to && (
          <a className="db-report-csv" href={reports.csvUrl()} download>
            Download CSV
          </a>
        )}
      </form>
      <p className="db-muted" role="status">
        {loading ? 'Loading…' : summary ? `Tickets created from ${summary.from} to ${summary.to} (${summary.tz})` : ''}
      </p>
      {errors.form && (
        <p className="db-field-error" role="alert">
          {errors.form}
        </p>
      )}
      {summary && <ReportFigures id={prefix} summary={summary} />}
    </div>
  );
}

function ReportFigures({ id, summary }: { id: string; summary: ReportSummary }) {
  const { csat } = summary;
  return (
    <>
      <section aria-labelledby={`${id}-volume`} className="db-settings-section">
        <h3 id={`${id}-volume`}>Volume</h3>
        <dl className="db-report-tiles">
          <div>
            <dt>Tickets created</dt>
            <dd>{summary.tickets_created}</dd>
          </div>
          <div>
            <dt>Tickets resolved</dt>
            <dd>{summary.tickets_resolved}</dd>
          </div>
        </dl>
      </section>
      {summary.tickets_created === 0 ? (
        <p className="db-report-empty">No tickets were created in this range.</p>
      ) : (
        <>
          <section aria-labelledby={`${id}-times`} className="db-settings-section">
            <h3 id={`${id}-times`}>Response times</h3>
            <table className="db-report-table" aria-labelledby={`${id}-times`}>
              <thead>
                <tr>
                  <td />
                  <th scope="col">Median</th>
                  <th scope="col">90th percentile</th>
                </tr>
              </thead>
              <tbody>
                {DURATIONS.map(([key, label]) => {
                  const stats = summary[key];
                  return (
                    <tr key={key}>
                      <th scope="row">{label}</th>
                      <td>{formatDuration(stats.median)}</td>
                      <td>{formatDuration(stats.p90)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
          <section aria-labelledby={`${id}-csat`} className="db-settings-section">
            <h3 id={`${id}-csat`}>Customer satisfaction</h3>
            <dl className="db-report-tiles">
              <div>
                <dt>Average rating</dt>
                <dd>
                  {formatAverage(csat.average)}
                  {csat.average !== null && <span className="db-muted"> of 5</span>}
                </dd>
              </div>
              <div>
                <dt>Ratings</dt>
                <dd>{csat.count}</dd>
              </div>
            </dl>
            {csat.count > 0 && <CsatChart id={`${id}-csat-chart`} distribution={csat.distribution} />}
          </section>
          <section aria-labelledby={`${id}-hours`} className="db-settings-section">
            <h3 id={`${id}-hours`}>Tickets by weekday and hour</h3>
            <p className="db-muted">Hours in {summary.tz}; the stronger the colour, the more tickets.</p>
            <HourHeatmap byHour={summary.by_hour} />
          </section>
          <section aria-labelledby={`${id}-agents`} className="db-settings-section">
            <h3 id={`${id}-agents`}>By agent</h3>
            <p className="db-muted">Each ticket counts for the agent holding it now.</p>
            <AgentTable agents={summary.by_agent} />
          </section>
        </>
      )}
    </>
  );
}
