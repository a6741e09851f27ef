// The reports of issue 19 as API.md "Reports" has them: every figure is about the
// tickets created in a range of days in a time zone (except `tickets_resolved`).

/** Seconds; null when no ticket in the range has the fact. */
export interface DurationStats {
  median: number | null;
  p90: number | null;
}

/** The 1 to 5 scores; the server always sends the five keys. */
export type CsatDistribution = Readonly<Record<'1' | '2' | '3' | '4' | '5', number>>;

export interface AgentReport {
  agent_id: number;
  name: string;
  tickets: number;
  first_response_seconds: { median: number | null };
  csat_average: number | null;
}

/** `GET /api/support/reports/summary` (agents). */
export interface ReportSummary {
  from: string;
  to: string;
  tz: string;
  tickets_created: number;
  tickets_resolved: number;
  first_response_seconds: DurationStats;
  queue_wait_seconds: DurationStats;
  resolution_seconds: DurationStats;
  csat: { average: number | null; count: number; distribution: CsatDistribution };
  /** `[weekday, hour, count]`, weekday 0 = Monday; only cells with tickets. */
  by_hour: readonly (readonly [number, number, number])[];
  by_agent: readonly AgentReport[];
}

/** Days `YYYY-MM-DD` in `tz`, both included. */
export interface ReportQuery {
  from: string;
  to: string;
  tz: string;
}
