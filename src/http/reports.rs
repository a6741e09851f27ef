//! Reports (issue 19): the summary of a range of days, and its tickets as CSV.

use super::AppState;
use super::extract::{CurrentAgent, QueryParams};
use crate::chat::reports::{CSV_HEADER, ReportRange, Summary};
use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/reports/summary", get(summary))
        .route("/api/support/reports/tickets.csv", get(tickets_csv))
}

fn range_of(state: &AppState, params: &HashMap<String, String>) -> Result<ReportRange, ApiError> {
    let param = |name: &str| params.get(name).map(String::as_str);
    ReportRange::parse(
        param("from"),
        param("to"),
        param("tz"),
        state.chat.store.now(),
    )
}

async fn summary(
    State(state): State<AppState>,
    _: CurrentAgent,
    QueryParams(params): QueryParams,
) -> Result<Json<Summary>, ApiError> {
    let range = range_of(&state, &params)?;
    Ok(Json(state.chat.report_summary(&range).await?))
}

/// Streams the rows a page at a time; the first page is read before the
/// answer starts, so a database that does not answer is a clean 503.
async fn tickets_csv(
    State(state): State<AppState>,
    _: CurrentAgent,
    QueryParams(params): QueryParams,
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
