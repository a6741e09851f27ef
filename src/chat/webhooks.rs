//! Webhooks (issue 19): registering receivers, and each node's sender of the
//! delivery outbox.
//!
//! The writes of messages, tickets and ratings add their deliveries in their
//! own transactions (`store/webhook_sql.rs`), so nothing here is on the message
//! path: a slow or failing receiver slows only this worker. The worker claims
//! due deliveries with a lease (the head of each ticket's line only, so one
//! ticket's events go in order), posts each signed, at most [`IN_FLIGHT`] at
//! once, and records the outcome: delivered on a 2xx, else retried with
//! backoff until `WEBHOOK_RETRY_HOURS` after the event.
//!
//! Addresses: a URL whose host is or resolves to a non-public address is
//! refused when registered, and again at every attempt (the client's resolver
//! drops such addresses), unless `WEBHOOK_ALLOW_PRIVATE`.

use super::Chat;
use crate::domain::validation::ValidationError;
use crate::domain::webhook::{self, Delivery, Webhook, WebhookEvent};
use crate::error::ApiError;
use crate::store::{ClaimedDelivery, DeliveryOutcome, DeliveryQuery, NewWebhook};
use chrono::{DateTime, Utc};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Requests in flight at once on a node.
const IN_FLIGHT: usize = 16;
/// The most webhooks a desk registers.
pub const MAX_WEBHOOKS: u32 = 20;
/// Delivered and failed deliveries are kept this long.
const KEEP_DELIVERIES: chrono::Duration = chrono::Duration::days(7);
const MAX_URL_CHARS: usize = 2048;

/// How the sender paces itself.
#[derive(Debug, Clone, Copy)]
pub struct HookTiming {
    pub poll: Duration,
    pub timeout: Duration,
    pub retry_base: Duration,
    pub retry_for: Duration,
}

pub struct Webhooks {
    client: reqwest::Client,
    allow_private: bool,
    timing: HookTiming,
}

impl Webhooks {
    pub fn new(allow_private: bool, timing: HookTiming) -> Webhooks {
        let client = reqwest::Client::builder()
            .timeout(timing.timeout)
            .connect_timeout(timing.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("livesupport-webhooks")
            .dns_resolver(Arc::new(PublicResolver { allow_private }))
            .build()
            .expect("the webhook client builds");
        Webhooks {
            client,
            allow_private,
            timing,
        }
    }

    /// The lease on a claimed delivery: past the time-out, with room to
    /// record the outcome.
    fn lease(&self) -> Duration {
        self.timing.timeout * 2 + Duration::from_secs(30)
    }

    /// When attempt `attempts` (1 = the first) of an event of `created_at`
    /// failed at `now`: the next one, or `None` past the retry window.
    fn retry_at(
        &self,
        attempts: i64,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let next = now + super::outbox::retry_delay(self.timing.retry_base, attempts);
        let until = created_at
            + chrono::Duration::from_std(self.timing.retry_for).unwrap_or(chrono::Duration::MAX);
        (next <= until).then_some(next)
    }
}

/// Whether an address is one a webhook may reach without `WEBHOOK_ALLOW_PRIVATE`.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    const BLOCKED: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ];
    !BLOCKED
        .iter()
        .filter_map(|net| net.parse::<ipnet::IpNet>().ok())
        .any(|net| net.contains(&ip))
}

/// reqwest's resolver for deliveries: the system's, without the addresses a
/// webhook may not reach, so a name that comes to resolve to one later (DNS
/// rebinding) fails the attempt instead of reaching it.
struct PublicResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err("the host resolves to no public address".into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn url_error(message: impl Into<String>) -> ApiError {
    ApiError::Validation(ValidationError::new("url", message))
}

/// Checks a receiver's URL as registered: scheme, length, no credentials, and
/// (unless allowed) a host that is and resolves to public addresses only.
pub async fn check_url(raw: &str, allow_private: bool) -> Result<url::Url, ApiError> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(url_error(format!(
            "url must be at most {MAX_URL_CHARS} characters"
        )));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| url_error("url is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(url_error("url must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(url_error("url must not carry credentials"));
    }
    let host = url.host().ok_or_else(|| url_error("url has no host"))?;
    if allow_private {
        return Ok(url);
    }
    let addresses: Vec<IpAddr> = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => tokio::net::lookup_host((name, 0))
            .await
            .map_err(|_| url_error("url's host does not resolve"))?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err(url_error("url's host does not resolve"));
    }
    if addresses.iter().any(|ip| !is_public(*ip)) {
        return Err(url_error("private addresses are not allowed"));
    }
    Ok(url)
}

/// A webhook as created: the secret is in this answer only.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

impl Chat {
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
    ) -> Result<CreatedWebhook, ApiError> {
        let mut wanted = Vec::with_capacity(events.len());
        for name in events {
            let event = WebhookEvent::parse(name).ok_or_else(|| {
                ApiError::Validation(ValidationError::new(
                    "events",
                    format!("unknown event {name:?}"),
                ))
            })?;
            wanted.push(event);
        }
        if wanted.is_empty() {
            return Err(ApiError::Validation(ValidationError::new(
                "events",
                "events must name at least one event",
            )));
        }
        let url = check_url(url, self.webhooks.allow_private).await?;
        let secret = webhook::new_secret();
        let new = NewWebhook {
            url: url.to_string(),
            events: wanted,
            secret: secret.clone(),
            created_at: self.store.now(),
        };
        let webhook = self
            .store
            .create_webhook(&new, MAX_WEBHOOKS)
            .await?
            .ok_or_else(|| ApiError::Conflict(format!("at most {MAX_WEBHOOKS} webhooks")))?;
        Ok(CreatedWebhook { webhook, secret })
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, ApiError> {
        Ok(self.store.webhooks().await?)
    }

    pub async fn delete_webhook(&self, id: i64) -> Result<(), ApiError> {
        if self.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(ApiError::NotFound("webhook"))
        }
    }

    pub async fn webhook_deliveries(
        &self,
        query: DeliveryQuery,
    ) -> Result<Vec<Delivery>, ApiError> {
        if !self
            .store
            .webhooks()
            .await?
            .iter()
            .any(|w| w.id == query.webhook_id)
        {
            return Err(ApiError::NotFound("webhook"));
        }
        Ok(self.store.deliveries(&query).await?)
    }

    /// The body of a delivery: a message's event from the message as agents
    /// see it, any other from the data stored with it.
    async fn delivery_body(&self, delivery: &ClaimedDelivery) -> Result<String, String> {
        let data = match (delivery.message_id, &delivery.payload) {
            (Some(id), _) => {
                let message = self
                    .store
                    .message_by_id(id)
                    .await
                    .map_err(|err| format!("reading the message: {err}"))?;
                serde_json::json!({ "ticket_id": delivery.ticket_id, "message": message })
            }
            (None, Some(payload)) => {
                serde_json::from_str(payload).map_err(|err| format!("stored data: {err}"))?
            }
            (None, None) => serde_json::json!({ "ticket_id": delivery.ticket_id }),
        };
        Ok(webhook::envelope(
            &delivery.event_id,
            delivery.event,
            delivery.created_at,
            data,
        ))
    }

    /// One attempt at one delivery, and its outcome recorded.
    async fn deliver(&self, delivery: ClaimedDelivery) {
        let hooks = &self.webhooks;
        let (status_code, error) = match self.delivery_body(&delivery).await {
            Err(err) => (None, Some(err)),
            Ok(body) => {
                let signature = webhook::signature(&delivery.secret, Utc::now().timestamp(), &body);
                let sent = hooks
                    .client
                    .post(&delivery.url)
                    .header("content-type", "application/json")
                    .header("x-livesupport-event", delivery.event.as_str())
                    .header("x-livesupport-delivery", &delivery.event_id)
                    .header("x-livesupport-signature", signature)
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status().is_success() => {
                        (Some(i64::from(answer.status().as_u16())), None)
                    }
                    Ok(answer) => {
                        let code = answer.status().as_u16();
                        (Some(i64::from(code)), Some(format!("HTTP {code}")))
                    }
                    Err(err) if err.is_timeout() => (None, Some("timed out".to_owned())),
                    Err(err) => (None, Some(describe(&err))),
                }
            }
        };
        let at = self.store.now();
        let delivered = error.is_none();
        let outcome = DeliveryOutcome {
            at,
            delivered,
            status_code,
            retry_at: if delivered {
                None
            } else {
                hooks.retry_at(delivery.attempts, delivery.created_at, at)
            },
            error,
        };
        let m = crate::metrics::metrics();
        let result = if delivered {
            "delivered"
        } else if outcome.retry_at.is_some() {
            "retry"
        } else {
            "failed"
        };
        m.webhook_attempts.with_label_values(&[result]).inc();
        if let Err(err) = self.store.delivery_attempted(delivery.id, &outcome).await {
            // The lease runs out and the delivery is tried again.
            tracing::warn!(delivery = delivery.id, cause = %err, "recording a webhook attempt failed");
        }
    }
}

/// An error's causes in one line (reqwest's top level says little).
fn describe(err: &reqwest::Error) -> String {
    let mut text = String::from("request failed");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// The node's webhook sender: every `WEBHOOK_POLL_SECONDS`, and whenever a
/// request ends, it claims what is due (up to [`IN_FLIGHT`] in flight) and
/// sends it; once an hour it deletes deliveries older than a week.
pub async fn run(chat: Chat, stop: CancellationToken) {
    let mut tick = tokio::time::interval(chat.webhooks.timing.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
        let room = IN_FLIGHT.saturating_sub(in_flight.len());
        if room > 0 {
            let now = chat.store.now();
            let lease =
                chrono::Duration::from_std(chat.webhooks.lease()).unwrap_or(chrono::Duration::MAX);
            match chat
                .store
                .claim_deliveries(&chat.node_id, now, now + lease, room as u32)
                .await
            {
                Ok(claimed) => {
                    for delivery in claimed {
                        let chat = chat.clone();
                        in_flight.spawn(async move { chat.deliver(delivery).await });
                    }
                }
                Err(err) => {
                    tracing::warn!(cause = %err, "claiming webhook deliveries failed; retried next round")
                }
            }
        }
        if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
            last_prune = Some(tokio::time::Instant::now());
            if let Err(err) = chat
                .store
                .prune_deliveries(chat.store.now() - KEEP_DELIVERIES)
                .await
            {
                tracing::warn!(cause = %err, "pruning webhook deliveries failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks() -> Webhooks {
        Webhooks::new(
            false,
            HookTiming {
                poll: Duration::from_secs(1),
                timeout: Duration::from_secs(10),
                retry_base: Duration::from_secs(30),
                retry_for: Duration::from_secs(24 * 3600),
            },
        )
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked_before_they_are_stored() {
        for (url, why) in [
            ("ftp://example.com/x", "http or https"),
            ("not a url", "not a valid URL"),
            ("http://user:pw@93.184.216.34/", "credentials"),
            ("http://127.0.0.1:9000/hook", "private"),
            ("http://[::1]/hook", "private"),
            ("http://localhost/hook", "private"),
            ("http://169.254.169.254/latest/meta-data", "private"),
        ] {
            let err = check_url(url, false).await.expect_err(url).to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
        assert!(check_url("http://127.0.0.1:9000/hook", true).await.is_ok());
        assert!(check_url("https://93.184.216.34/hook", false).await.is_ok());
    }

    #[test]
    fn retries_double_up_to_an_hour_within_the_window() {
        let hooks = hooks();
        let created = Utc::now();
        assert_eq!(
            hooks.retry_at(1, created, created),
            Some(created + chrono::Duration::seconds(30))
        );
        assert_eq!(
            hooks.retry_at(3, created, created),
            Some(created + chrono::Duration::seconds(120))
        );
        assert_eq!(
            hooks.retry_at(30, created, created),
            Some(created + chrono::Duration::hours(1))
        );
        let late = created + chrono::Duration::hours(23) + chrono::Duration::minutes(59);
        assert_eq!(hooks.retry_at(30, created, late), None);
    }
}
