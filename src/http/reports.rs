//! Reports (issue 19): the summary of a range of days, and its tickets as CSV.

use super::AppState;
use super::extract::{CurrentAgent, QueryParams};
use crate::chat::reports::{CSV_HEADER, ReportRange, Summary};
use crate::error::{ApiError, ErrorEnvelope};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/reports/summary", get(summary))
        .route("/api/support/reports/tickets.csv", get(tickets_csv))
}

/// Reports' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(summary, tickets_csv))]
pub struct Api;

/// The range of a report.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct RangeQuery {
    /// The first day, `YYYY-MM-DD` in `tz` (default 6 days before `to`).
    #[param(format = Date)]
    from: Option<String>,
    /// The last day, included (default today in `tz`); at most 366 days.
    #[param(format = Date)]
    to: Option<String>,
    /// An IANA time zone, default `UTC`.
    tz: Option<String>,
}

fn range_of(state: &AppState, params: &QueryParams) -> Result<ReportRange, ApiError> {
    ReportRange::parse(
        params.get("from"),
        params.get("to"),
        params.get("tz"),
        state.chat.store.now(),
    )
}

#[utoipa::path(
    get,
    path = "/api/support/reports/summary",
    tag = "agent",
    summary = "The desk's numbers for a range of days",
    params(RangeQuery),
    responses(
        (status = 200, description = "The figures of the tickets created in the range", body = Summary),
        (status = 400, description = "`validation_failed`: `from`, `to` or `tz`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn summary(
    State(state): State<AppState>,
    _: CurrentAgent,
    params: QueryParams,
) -> Result<Json<Summary>, ApiError> {
    let range = range_of(&state, &params)?;
    Ok(Json(state.chat.report_summary(&range).await?))
}

#[utoipa::path(
    get,
    path = "/api/support/reports/tickets.csv",
    tag = "agent",
    summary = "The range's tickets as CSV, one row each",
    params(RangeQuery),
    responses(
        (status = 200, description = "RFC 4180 CSV with a header row", content_type = "text/csv", body = String),
        (status = 400, description = "`validation_failed`: `from`, `to` or `tz`", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
/// Streams the rows a page at a time; the first page is read before the
/// answer starts, so a database that does not answer is a clean 503.
async fn tickets_csv(
    State(state): State<AppState>,
    _: CurrentAgent,
    params: QueryParams,
) -> Result<Response, ApiError> {
    let range = range_of(&state, &params)?;
    let first = state.chat.report_csv_page(&range, None).await?;
    let mut head = String::from(CSV_HEADER);
    let mut after = None;
    if let Some((rows, next)) = first {
        head.push_str(&rows);
        after = next;
    }
    let chat = state.chat.clone();
    let rest = futures_util::stream::unfold(after, move |after| {
        let chat = chat.clone();
        async move {
            let after = after?;
            match chat.report_csv_page(&range, Some(after)).await {
                Ok(Some((rows, next))) => {
                    Some((Ok::<Bytes, std::io::Error>(Bytes::from(rows)), next))
                }
                Ok(None) => None,
                Err(err) => Some((Err(std::io::Error::other(err.to_string())), None)),
            }
        }
    });
    let body =
        futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) })
            .chain(rest);
    let filename = format!("tickets-{}-{}.csv", range.from, range.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
