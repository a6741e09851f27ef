//! Whether the desk answers now (issue 18): its business hours and the agents
//! online, as the widget asks before it offers the chat or the leave-a-message
//! form, with the texts admins set and how fast agents usually reply.

use super::Chat;
use super::events::Event;
use crate::domain::{SenderType, Ticket};
use crate::error::ApiError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What `GET /api/support/availability` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Availability {
    /// Within business hours with an agent online.
    pub online: bool,
    /// Why not: `outside_hours` or `no_agents`; `None` when online.
    pub reason: Option<&'static str>,
    /// When the desk opens next, while it is outside its hours.
    pub next_open_at: Option<DateTime<Utc>>,
    /// The desk's time zone when business hours are set.
    pub timezone: Option<String>,
    pub greeting: String,
    pub offline_message: String,
    /// Whether the widget asks for a rating after the chat.
    pub csat: bool,
    /// The median time to an agent's first answer over the last 7 days, in
    /// seconds; `None` without answered tickets then.
    pub typical_reply_seconds: Option<i64>,
}

/// How long the median first reply is kept before it is measured again.
const REPLY_TIME_TTL: Duration = Duration::from_secs(60);
/// The tickets the median is taken over: the newest of the last week.
const REPLY_TIME_SAMPLE: u32 = 2000;

/// The median first reply as last measured, and when.
#[derive(Default)]
pub struct ReplyTime(Mutex<Option<(Instant, Option<i64>)>>);

impl Chat {
    /// The desk's availability at `now`, from the settings and agents the
    /// router read last (at most a round old).
    pub async fn availability(&self, now: DateTime<Utc>) -> Result<Availability, ApiError> {
        let settings = self.routing.settings();
        let schedule = match &settings.business_hours {
            Some(hours) => Some(hours.schedule()?),
            None => None,
        };
        let open = schedule.as_ref().is_none_or(|s| s.is_open(now));
        let agents_online = match self.routing.agents_online() {
            Some(n) => n as i64,
            None => self.store.queue_snapshot(&[]).await?.agents_online,
        };
        let reason = if !open {
            Some("outside_hours")
        } else if agents_online == 0 {
            Some("no_agents")
        } else {
            None
        };
        Ok(Availability {
            online: reason.is_none(),
            reason,
            next_open_at: schedule
                .as_ref()
                .filter(|_| !open)
                .and_then(|s| s.next_open(now)),
            timezone: settings.business_hours.map(|h| h.timezone),
            greeting: settings.greeting,
            offline_message: settings.offline_message,
            csat: settings.csat,
            typical_reply_seconds: self.typical_reply_seconds(now).await,
        })
    }

    /// Whether the desk is outside its business hours at `now` (then a new
    /// ticket needs an email to be answered at).
    pub fn outside_hours(&self, now: DateTime<Utc>) -> bool {
        let settings = self.routing.settings();
        match settings.business_hours.map(|h| h.schedule()) {
            Some(Ok(schedule)) => !schedule.is_open(now),
            _ => false,
        }
    }

    async fn typical_reply_seconds(&self, now: DateTime<Utc>) -> Option<i64> {
        if let Some((at, value)) = *self.reply_time.0.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < REPLY_TIME_TTL
        {
            return value;
        }
        let since = now - chrono::Duration::days(7);
        let value = match self.store.first_replies(since, REPLY_TIME_SAMPLE).await {
            Ok(pairs) => median(
                pairs
                    .iter()
                    .map(|(asked, answered)| (*answered - *asked).num_seconds())
                    .collect(),
            ),
            Err(err) => {
                tracing::warn!(cause = %err, "cannot measure the first replies");
                return None;
            }
        };
        *self.reply_time.0.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), value));
        value
    }
}

/// The longest rating comment, in characters.
pub const MAX_RATING_COMMENT_CHARS: usize = 1000;

impl Chat {
    /// The visitor rates their conversation once it is resolved or closed
    /// (issue 18); the ticket, with its rating, goes to the dashboards and the
    /// visitor's sockets. Returns the visitor's view.
    pub async fn rate(
        &self,
        ticket: &Ticket,
        score: Option<i64>,
        comment: Option<&str>,
    ) -> Result<Ticket, ApiError> {
        if !self.routing.settings().csat {
            return Err(ApiError::Forbidden("ratings are turned off for this desk"));
        }
        let score = score.filter(|s| (1..=5).contains(s)).ok_or_else(|| {
            ApiError::validation("score", "score must be a whole number from 1 to 5")
        })?;
        let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) if c.chars().count() > MAX_RATING_COMMENT_CHARS => {
                return Err(ApiError::validation(
                    "comment",
                    format!("comment must be at most {MAX_RATING_COMMENT_CHARS} characters"),
                ));
            }
            other => other,
        };
        let Some(rated) = self.store.rate_ticket(ticket.id, score, comment).await? else {
            let now = self.store.ticket_by_id(ticket.id, SenderType::User).await?;
            return Err(if now.rating.is_some() {
                ApiError::Conflict("this conversation was rated already".into())
            } else {
                ApiError::InvalidTransition(
                    "a conversation can be rated once it is resolved or closed".into(),
                )
            });
        };
        let rating = rated.rating.clone();
        self.publisher
            .publish(Event::TicketUpdated {
                ticket: rated.clone(),
            })
            .await;
        if let Some(rating) = rating {
            self.publisher
                .publish(Event::RatingCreated {
                    ticket_id: rated.id,
                    rating,
                })
                .await;
        }
        Ok(self.store.ticket_by_id(ticket.id, SenderType::User).await?)
    }
}

/// The median (the lower middle of an even count); `None` for no values.
fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_of_first_replies() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![300]), Some(300));
        assert_eq!(median(vec![900, 60, 120]), Some(120));
        assert_eq!(median(vec![60, 120, 900, 30]), Some(60));
    }
}
