//! Reports (issue 19): the desk's numbers for a range of days in a time zone,
//! from the facts each ticket stores as they happen (first visitor message,
//! first response, first assignment, first resolution; see migration 0013).
//!
//! The store reads the range's tickets by the `created_at` index, a page at a
//! time; medians, p90s, the heatmap and the per-agent rows are computed here,
//! the same for both stores.

use super::Chat;
use crate::domain::validation::ValidationError;
use crate::error::ApiError;
use crate::store::ReportTicket;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Tickets read per page: the summary's (a page is a round trip), the CSV's
/// (a page is a chunk of the answer).
const SUMMARY_PAGE: u32 = 5000;
const CSV_PAGE: u32 = 1000;
/// The longest range, in days.
const MAX_DAYS: i64 = 366;

/// A range of whole days in a time zone, and the instants it spans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    /// The start of `from` in `tz`.
    pub start: DateTime<Utc>,
    /// The start of the day after `to` in `tz`.
    pub end: DateTime<Utc>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Validation(ValidationError::new(field, message))
}

/// The first instant of `day` in `tz` (a day that starts in a DST gap starts
/// when the clocks resume).
fn start_of(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    (0..=3)
        .find_map(|hours| {
            tz.from_local_datetime(&(midnight + Duration::hours(hours)))
                .earliest()
        })
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

impl ReportRange {
    /// From the query's `from`, `to` (days, both included) and `tz` (IANA);
    /// by default the 7 days ending `today` (in `tz`) in UTC.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ReportRange, ApiError> {
        let tz: Tz = match tz.map(str::trim).filter(|t| !t.is_empty()) {
            None => Tz::UTC,
            Some(name) => name
                .parse()
                .map_err(|_| invalid("tz", format!("unknown time zone {name:?}")))?,
        };
        let day = |field: &str, value: Option<&str>| -> Result<Option<NaiveDate>, ApiError> {
            value
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map_err(|_| invalid(field, format!("{field} must be a day, YYYY-MM-DD")))
                })
                .transpose()
        };
        let today = now.with_timezone(&tz).date_naive();
        let to = day("to", to)?.unwrap_or(today);
        let from = day("from", from)?.unwrap_or(to - Duration::days(6));
        if from > to {
            return Err(invalid("from", "from must not be after to"));
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(invalid(
                "from",
                format!("a report covers at most {MAX_DAYS} days"),
            ));
        }
        let end_day = to
            .succ_opt()
            .ok_or_else(|| invalid("to", "to is out of range"))?;
        Ok(ReportRange {
            from,
            to,
            tz,
            start: start_of(from, tz),
            end: start_of(end_day, tz),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Spread {
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Csat {
    pub average: Option<f64>,
    pub count: i64,
    pub distribution: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Median {
    pub median: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgentFigures {
    pub agent_id: i64,
    pub name: String,
    pub tickets: i64,
    pub first_response_seconds: Median,
    pub csat_average: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub tz: String,
    pub tickets_created: i64,
    pub tickets_resolved: i64,
    pub first_response_seconds: Spread,
    pub queue_wait_seconds: Spread,
    pub resolution_seconds: Spread,
    pub csat: Csat,
    /// `[weekday (0 = Monday), hour, tickets]`, cells with tickets only.
    #[schema(value_type = Vec<Vec<i64>>)]
    pub by_hour: Vec<[i64; 3]>,
    pub by_agent: Vec<AgentFigures>,
}

/// The nearest-rank percentile `p` (0–1] of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn spread(mut values: Vec<f64>) -> Spread {
    values.sort_by(f64::total_cmp);
    Spread {
        median: percentile(&values, 0.5),
        p90: percentile(&values, 0.9),
    }
}

fn seconds(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<f64> {
    to.map(|to| (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6)
        .filter(|s| *s >= 0.0)
}

impl ReportTicket {
    pub fn first_response_seconds(&self) -> Option<f64> {
        self.first_visitor_at
            .and_then(|asked| seconds(asked, self.first_response_at))
    }
    pub fn queue_wait_seconds(&self) -> Option<f64> {
        seconds(self.created_at, self.first_assigned_at)
    }
    pub fn resolution_seconds(&self) -> Option<f64> {
        seconds(self.created_at, self.first_resolved_at)
    }
}

#[derive(Default)]
struct AgentTally {
    name: String,
    tickets: i64,
    responses: Vec<f64>,
    ratings: Vec<i64>,
}

/// Folds the range's tickets into the summary's figures.
#[derive(Default)]
struct Tally {
    created: i64,
    responses: Vec<f64>,
    waits: Vec<f64>,
    resolutions: Vec<f64>,
    ratings: Vec<i64>,
    cells: BTreeMap<(i64, i64), i64>,
    agents: HashMap<i64, AgentTally>,
}

fn average(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
}

impl Tally {
    fn add(&mut self, ticket: &ReportTicket, tz: Tz) {
        self.created += 1;
        let response = ticket.first_response_seconds();
        self.responses.extend(response);
        self.waits.extend(ticket.queue_wait_seconds());
        self.resolutions.extend(ticket.resolution_seconds());
        self.ratings.extend(ticket.rating);
        let local = ticket.created_at.with_timezone(&tz);
        let cell = (
            i64::from(local.weekday().num_days_from_monday()),
            i64::from(local.hour()),
        );
        *self.cells.entry(cell).or_default() += 1;
        if let Some(agent_id) = ticket.supporter_id {
            let agent = self.agents.entry(agent_id).or_default();
            agent.name = ticket.supporter_name.clone().unwrap_or_default();
            agent.tickets += 1;
            agent.responses.extend(response);
            agent.ratings.extend(ticket.rating);
        }
    }

    fn summary(self, range: &ReportRange, resolved: i64) -> Summary {
        let mut distribution: BTreeMap<String, i64> =
            (1..=5).map(|score| (score.to_string(), 0)).collect();
        for score in &self.ratings {
            *distribution.entry(score.to_string()).or_default() += 1;
        }
        let mut by_agent: Vec<AgentFigures> = self
            .agents
            .into_iter()
            .map(|(agent_id, agent)| AgentFigures {
                agent_id,
                name: agent.name,
                tickets: agent.tickets,
                first_response_seconds: Median {
                    median: spread(agent.responses).median,
                },
                csat_average: average(&agent.ratings),
            })
            .collect();
        by_agent.sort_by(|a, b| {
            b.tickets
                .cmp(&a.tickets)
                .then_with(|| a.name.cmp(&b.name))
                .then(a.agent_id.cmp(&b.agent_id))
        });
        Summary {
            from: range.from,
            to: range.to,
            tz: range.tz.name().to_owned(),
            tickets_created: self.created,
            tickets_resolved: resolved,
            first_response_seconds: spread(self.responses),
            queue_wait_seconds: spread(self.waits),
            resolution_seconds: spread(self.resolutions),
            csat: Csat {
                average: average(&self.ratings),
                count: self.ratings.len() as i64,
                distribution,
            },
            by_hour: self
                .cells
                .into_iter()
                .map(|((day, hour), n)| [day, hour, n])
                .collect(),
            by_agent,
        }
    }
}

/// The CSV's header row.
pub const CSV_HEADER: &str = "id,created_at,status,priority,subject,visitor_name,visitor_email,agent_id,agent_name,labels,first_response_seconds,queue_wait_seconds,resolution_seconds,rating\r\n";

/// One CSV field: quoted when it must be (RFC 4180), and text that a
/// spreadsheet would run as a formula made inert with a leading `'`.
fn csv_text(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv_number(value: Option<f64>) -> String {
    value
        .map(|v| {
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        })
        .unwrap_or_default()
}

/// One ticket's CSV row, times in `tz`.
pub fn csv_row(ticket: &ReportTicket, tz: Tz) -> String {
    let fields = [
        ticket.id.to_string(),
        ticket
            .created_at
            .with_timezone(&tz)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        ticket.status.as_str().to_owned(),
        ticket.priority.as_str().to_owned(),
        csv_text(&ticket.subject),
        csv_text(&ticket.user_name),
        csv_text(ticket.user_email.as_deref().unwrap_or_default()),
        ticket
            .supporter_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        csv_text(ticket.supporter_name.as_deref().unwrap_or_default()),
        csv_text(&ticket.labels.join(";")),
        csv_number(ticket.first_response_seconds()),
        csv_number(ticket.queue_wait_seconds()),
        csv_number(ticket.resolution_seconds()),
        ticket.rating.map(|r| r.to_string()).unwrap_or_default(),
    ];
    let mut row = fields.join(",");
    row.push_str("\r\n");
    row
}

impl Chat {
    pub async fn report_summary(&self, range: &ReportRange) -> Result<Summary, ApiError> {
        let mut tally = Tally::default();
        let mut after = None;
        loop {
            let page = self
                .store
                .report_tickets(range.start, range.end, after, SUMMARY_PAGE)
                .await?;
            for ticket in &page {
                tally.add(ticket, range.tz);
            }
            match page.last() {
                Some(last) if page.len() == SUMMARY_PAGE as usize => {
                    after = Some((last.created_at, last.id))
                }
                _ => break,
            }
        }
        let resolved = self.store.count_resolved(range.start, range.end).await?;
        Ok(tally.summary(range, resolved))
    }

    /// A page of the range's tickets as CSV rows, after `after`; `None` once
    /// the range is done.
    pub async fn report_csv_page(
        &self,
        range: &ReportRange,
        after: Option<(DateTime<Utc>, i64)>,
    ) -> Result<Option<(String, Option<(DateTime<Utc>, i64)>)>, ApiError> {
        let page = self
            .store
            .report_tickets(range.start, range.end, after, CSV_PAGE)
            .await?;
        let Some(last) = page.last() else {
            return Ok(None);
        };
        let next = (page.len() == CSV_PAGE as usize).then_some((last.created_at, last.id));
        Ok(Some((
            page.iter().map(|t| csv_row(t, range.tz)).collect(),
            next,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_are_whole_days_in_the_time_zone() {
        let now = at("2026-12-07T23:30:00Z");
        let r = ReportRange::parse(
            Some("2026-12-01"),
            Some("2026-12-07"),
            Some("Europe/Berlin"),
            now,
        )
        .unwrap();
        assert_eq!(r.start, at("2026-11-30T23:00:00Z"));
        assert_eq!(r.end, at("2026-12-07T23:00:00Z"));
        // By default the 7 days to today, in the zone (already the 8th in Berlin).
        let d = ReportRange::parse(None, None, Some("Europe/Berlin"), now).unwrap();
        assert_eq!(
            (d.from.to_string(), d.to.to_string()),
            ("2026-12-02".into(), "2026-12-08".into())
        );
        for (from, to, tz, field) in [
            (Some("2026-12-08"), Some("2026-12-07"), None, "from"),
            (Some("12/01/2026"), None, None, "from"),
            (None, Some("tomorrow"), None, "to"),
            (None, None, Some("Mars/Olympus"), "tz"),
            (Some("2025-01-01"), Some("2026-12-07"), None, "from"),
        ] {
            match ReportRange::parse(from, to, tz, now) {
                Err(ApiError::Validation(err)) => assert_eq!(err.field, field),
                other => panic!("{from:?} {to:?} {tz:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.9), Some(9.0));
        assert_eq!(percentile(&values, 0.5), Some(5.0));
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_text("plain"), "plain");
        assert_eq!(csv_text("a, \"b\""), "\"a, \"\"b\"\"\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("-1+2"), "'-1+2");
        assert_eq!(csv_number(Some(80.0)), "80");
        assert_eq!(csv_number(Some(1.25)), "1.25");
        assert_eq!(csv_number(None), "");
    }
}
