//! Dashboards during a chat run (`--dashboards N`, issue 20): N agent feeds
//! (`/ws/support/agent`) held open through the run, counting what they carry.
//!
//! The feed carries coalesced `notices` frames rather than every message (see
//! docs/API.md, "The feed"). Each feed counts its frames and bytes, `notices`
//! frames and the Notices in them apart from any other frame (a node before
//! issue 20 still sends `message` frames: they are "other frames", not
//! errors), and for every Notice the lag from its `at` (when the newest
//! message it covers was stored, by the node's clock) to its receipt here (by
//! this machine's clock). A feed the server closes or breaks is counted, not
//! fatal. At the end, every ticket the run stored a chat message on should
//! have been named by some chat-line Notice ("tickets noticed").
//!
//! The parsing and the tally are pure and unit-tested; [`open`] and the
//! reader tasks are the I/O.

use crate::accounting::{Latency, micros_histogram};
use crate::client::{self, Node, Ws};
use crate::{LoadError, Options, lock};
use chrono::DateTime;
use futures_util::{StreamExt, TryStreamExt, stream};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// How long after the drain the feeds are still read, for the Notices of the
/// last messages (a Notice is on its way ~500 ms after its message was
/// acknowledged, plus a database read).
pub(crate) const NOTICE_GRACE: Duration = Duration::from_secs(1);
/// How long the feeds get to close cleanly at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// One Notice of a `notices` frame: the fields the run reads (the others,
/// `preview`, `waiting_since`, `unread`, are ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub ticket_id: i64,
    pub seq: i64,
    /// `at` as microseconds since the Unix epoch.
    pub at_us: i64,
    /// `user`, `supporter` or `system` (`None` when absent).
    pub sender_type: Option<String>,
    pub visitor_messages: i64,
}

impl Notice {
    /// Whether the notice covers a chat line (what the run writes), rather
    /// than only a system note such as the agent's join.
    pub fn covers_chat(&self) -> bool {
        self.visitor_messages > 0 || !matches!(self.sender_type.as_deref(), Some("system"))
    }
}

/// What one feed frame was.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedFrame {
    /// A `notices` frame: its readable Notices, and how many entries were
    /// not (no `ticket_id`, `seq` or a readable `at`).
    Notices { notices: Vec<Notice>, bad: u64 },
    /// Any other frame, by its `type` (`None`: not a JSON object with a type).
    Other(Option<String>),
}

/// A `notices` frame whose every entry is readable, as it comes from the
/// node: parsed without building a tree (50 feeds read ~40,000 Notices a
/// second on the cores the nodes share), the strings borrowed, the fields the
/// run does not read skipped.
#[derive(Deserialize)]
struct NoticesFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: NoticesData<'a>,
}

#[derive(Deserialize)]
struct NoticesData<'a> {
    #[serde(borrow)]
    notices: Vec<NoticeEntry<'a>>,
}

#[derive(Deserialize)]
struct NoticeEntry<'a> {
    ticket_id: i64,
    seq: i64,
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(borrow, default)]
    sender_type: Option<Cow<'a, str>>,
    #[serde(default)]
    visitor_messages: Option<i64>,
}

/// A well-formed `notices` frame's Notices; `None` for any other frame, or
/// one with an entry [`parse_feed_frame`] must look at field by field.
fn parse_notices_frame(text: &str) -> Option<Vec<Notice>> {
    let frame: NoticesFrame = serde_json::from_str(text).ok()?;
    if frame.kind != "notices" {
        return None;
    }
    frame
        .data
        .notices
        .into_iter()
        .map(|entry| {
            Some(Notice {
                ticket_id: entry.ticket_id,
                seq: entry.seq,
                at_us: DateTime::parse_from_rfc3339(&entry.at)
                    .ok()?
                    .timestamp_micros(),
                sender_type: entry.sender_type.map(Cow::into_owned),
                visitor_messages: entry.visitor_messages.unwrap_or(0),
            })
        })
        .collect()
}

/// Parses one text frame of the feed; never fails (what it does not know is
/// [`FeedFrame::Other`]).
pub fn parse_feed_frame(text: &str) -> FeedFrame {
    if let Some(notices) = parse_notices_frame(text) {
        return FeedFrame::Notices { notices, bad: 0 };
    }
    parse_feed_tree(text)
}

/// Any frame, read as a tree: its type and, of a `notices` frame, which
/// entries are unreadable.
fn parse_feed_tree(text: &str) -> FeedFrame {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return FeedFrame::Other(None);
    };
    let kind = frame["type"].as_str();
    if kind != Some("notices") {
        return FeedFrame::Other(kind.map(str::to_owned));
    }
    let Some(entries) = frame["data"]["notices"].as_array() else {
        return FeedFrame::Notices {
            notices: Vec::new(),
            bad: 1,
        };
    };
    let mut notices = Vec::with_capacity(entries.len());
    let mut bad = 0;
    for entry in entries {
        let notice = (|| {
            Some(Notice {
                ticket_id: entry["ticket_id"].as_i64()?,
                seq: entry["seq"].as_i64()?,
                at_us: DateTime::parse_from_rfc3339(entry["at"].as_str()?)
                    .ok()?
                    .timestamp_micros(),
                sender_type: entry["sender_type"].as_str().map(str::to_owned),
                visitor_messages: entry["visitor_messages"].as_i64().unwrap_or(0),
            })
        })();
        match notice {
            Some(notice) => notices.push(notice),
            None => bad += 1,
        }
    }
    FeedFrame::Notices { notices, bad }
}

/// Now, as microseconds since the Unix epoch (this machine's clock).
pub fn unix_micros_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// A Notice's lag: receipt − `at`, in µs. `None` when `at` is after the
/// receipt (the two clocks disagree): such a Notice is counted apart.
pub fn lag_micros(received_us: i64, at_us: i64) -> Option<u64> {
    u64::try_from(received_us.checked_sub(at_us)?).ok()
}

/// What one feed received.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeedCounts {
    /// Text and binary frames (not pings, pongs or the close).
    pub frames: u64,
    /// Their payload bytes.
    pub bytes: u64,
    pub notices_frames: u64,
    /// Readable Notice entries in them.
    pub notices: u64,
    /// Notice entries without `ticket_id`, `seq` or a readable `at`, and
    /// `notices` frames without a list.
    pub bad_notices: u64,
    /// Frames of any other type (or not JSON).
    pub other_frames: u64,
    /// The server closed or broke this feed before the run's end.
    pub failed: bool,
}

/// The dashboards section of a report (`--dashboards N`; absent otherwise).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DashboardsReport {
    /// Feeds opened.
    pub feeds: u64,
    /// Seconds the feeds were read (from their opening to the run's close).
    pub seconds: f64,
    /// Frames over all feeds (text and binary, not control frames).
    pub frames: u64,
    pub frames_per_s: f64,
    /// Frames a second per feed: the mean, and the least and most of one feed.
    pub frames_per_s_per_feed: PerFeed,
    pub bytes: u64,
    pub bytes_per_s: f64,
    /// `notices` frames, over all feeds.
    pub notices_frames: u64,
    /// Notice entries in them.
    pub notices: u64,
    /// Notice entries that could not be read (no `ticket_id`, `seq` or `at`).
    pub bad_notices: u64,
    /// Frames of any other type, over all feeds.
    pub other_frames: u64,
    /// The other frames by type (`unreadable` when not JSON with a type).
    pub other_kinds: BTreeMap<String, u64>,
    /// Receipt − `at` of every Notice, in ms.
    pub lag_ms: Latency,
    /// Notices whose `at` was after their receipt (the node's clock ahead of
    /// this machine's); left out of `lag_ms`.
    pub lag_negative: u64,
    /// Feeds the server closed or broke during the run (not fatal).
    pub failed: u64,
    /// How they ended, by kind (`closed 1011`, `feed ended`, …).
    pub failures: BTreeMap<String, u64>,
    /// Tickets on which the run stored at least one chat message.
    pub tickets_written: u64,
    /// Of those, the tickets some feed got a chat-line Notice for.
    pub tickets_noticed: u64,
}

/// A per-feed rate: mean, least, most.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PerFeed {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// What the feeds of a run share: each feed's counts, the lag histogram, the
/// tickets noticed.
pub struct Dashboards {
    counts: Vec<Mutex<FeedCounts>>,
    lag_us: Mutex<Histogram<u64>>,
    lag_negative: AtomicU64,
    noticed: Mutex<HashSet<i64>>,
    other_kinds: Mutex<BTreeMap<String, u64>>,
    failures: Mutex<BTreeMap<String, u64>>,
    /// Set when the run closes the feeds: a close after it is no failure.
    closing: AtomicBool,
}

impl Dashboards {
    pub fn new(feeds: usize) -> Self {
        Dashboards {
            counts: (0..feeds)
                .map(|_| Mutex::new(FeedCounts::default()))
                .collect(),
            lag_us: Mutex::new(micros_histogram()),
            lag_negative: AtomicU64::new(0),
            noticed: Mutex::new(HashSet::new()),
            other_kinds: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(BTreeMap::new()),
            closing: AtomicBool::new(false),
        }
    }

    /// Feed `feed` received this text frame at `received_us` (Unix µs).
    pub fn on_text(&self, feed: usize, text: &str, received_us: i64) {
        let frame = parse_feed_frame(text);
        let Some(slot) = self.counts.get(feed) else {
            return;
        };
        {
            let mut counts = lock(slot);
            counts.frames += 1;
            counts.bytes += text.len() as u64;
            match &frame {
                FeedFrame::Notices { notices, bad } => {
                    counts.notices_frames += 1;
                    counts.notices += notices.len() as u64;
                    counts.bad_notices += bad;
                }
                FeedFrame::Other(_) => counts.other_frames += 1,
            }
        }
        match frame {
            FeedFrame::Notices { notices, .. } => {
                if notices.is_empty() {
                    return;
                }
                {
                    let mut lag = lock(&self.lag_us);
                    for notice in &notices {
                        match lag_micros(received_us, notice.at_us) {
                            Some(us) => lag.saturating_record(us.max(1)),
                            None => {
                                self.lag_negative.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
                let mut noticed = lock(&self.noticed);
                for notice in notices.iter().filter(|n| n.covers_chat()) {
                    noticed.insert(notice.ticket_id);
                }
            }
            FeedFrame::Other(kind) => {
                let kind = kind.unwrap_or_else(|| "unreadable".to_owned());
                *lock(&self.other_kinds).entry(kind).or_default() += 1;
            }
        }
    }

    /// Feed `feed` received a binary frame (the feed sends none: it is an
    /// other frame).
    pub fn on_binary(&self, feed: usize, bytes: usize) {
        if let Some(slot) = self.counts.get(feed) {
            let mut counts = lock(slot);
            counts.frames += 1;
            counts.bytes += bytes as u64;
            counts.other_frames += 1;
        }
        *lock(&self.other_kinds)
            .entry("binary".to_owned())
            .or_default() += 1;
    }

    /// Feed `feed` ended as `kind`; a failure unless the run was closing it.
    pub fn on_end(&self, feed: usize, kind: &str) {
        if self.closing.load(Ordering::SeqCst) {
            return;
        }
        if let Some(slot) = self.counts.get(feed) {
            lock(slot).failed = true;
        }
        *lock(&self.failures).entry(kind.to_owned()).or_default() += 1;
    }

    pub fn set_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// The section of the report, the feeds having been read for `seconds`,
    /// the run having stored chat messages on the tickets `written`.
    pub fn summarize(&self, seconds: f64, written: &HashSet<i64>) -> DashboardsReport {
        let counts: Vec<FeedCounts> = self.counts.iter().map(|c| *lock(c)).collect();
        // A run always lasts; zero only guards the division.
        let per_s = if seconds > 0.0 { seconds } else { 1.0 };
        let rate = |n: u64| (n as f64 / per_s * 10.0).round() / 10.0;
        let sum = |f: fn(&FeedCounts) -> u64| counts.iter().map(f).sum::<u64>();
        let frames = sum(|c| c.frames);
        let bytes = sum(|c| c.bytes);
        let per_feed = counts.iter().map(|c| rate(c.frames));
        let frames_per_s_per_feed = if counts.is_empty() {
            PerFeed::default()
        } else {
            PerFeed {
                mean: (frames as f64 / per_s / counts.len() as f64 * 10.0).round() / 10.0,
                min: per_feed.clone().fold(f64::INFINITY, f64::min),
                max: per_feed.fold(0.0, f64::max),
            }
        };
        let noticed = lock(&self.noticed);
        DashboardsReport {
            feeds: counts.len() as u64,
            seconds: (seconds * 1000.0).round() / 1000.0,
            frames,
            frames_per_s: rate(frames),
            frames_per_s_per_feed,
            bytes,
            bytes_per_s: rate(bytes),
            notices_frames: sum(|c| c.notices_frames),
            notices: sum(|c| c.notices),
            bad_notices: sum(|c| c.bad_notices),
            other_frames: sum(|c| c.other_frames),
            other_kinds: lock(&self.other_kinds).clone(),
            lag_ms: Latency::from_micros(&lock(&self.lag_us)),
            lag_negative: self.lag_negative.load(Ordering::Relaxed),
            failed: counts.iter().filter(|c| c.failed).count() as u64,
            failures: lock(&self.failures).clone(),
            tickets_written: written.len() as u64,
            tickets_noticed: written.iter().filter(|id| noticed.contains(id)).count() as u64,
        }
    }
}

/// Opens `count` feeds as the run's agent (`tokens[n]` is its token on node
/// `n`), round-robin over the nodes, `--concurrency` at once; the `n`th takes
/// source address number `first_source + n`.
pub(crate) async fn open(
    options: &Options,
    nodes: &[Node],
    tokens: &[String],
    count: usize,
    first_source: usize,
) -> Result<Vec<Ws>, LoadError> {
    stream::iter(0..count)
        .map(|n| {
            let node = n % nodes.len();
            client::open_feed(
                &nodes[node],
                &tokens[node],
                options.source_ip(first_source + n),
            )
        })
        .buffered(options.concurrency)
        .try_collect()
        .await
}

/// The feeds being read, and how to stop them.
pub(crate) struct Readers {
    pub(crate) dashboards: Arc<Dashboards>,
    started: Instant,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Readers {
    /// Starts reading `feeds` (opened at `started`).
    pub(crate) fn start(feeds: Vec<Ws>, started: Instant) -> Readers {
        let dashboards = Arc::new(Dashboards::new(feeds.len()));
        let (stop, _) = watch::channel(false);
        let tasks = feeds
            .into_iter()
            .enumerate()
            .map(|(n, ws)| tokio::spawn(read_loop(n, ws, dashboards.clone(), stop.subscribe())))
            .collect();
        Readers {
            dashboards,
            started,
            stop,
            tasks,
        }
    }

    /// Closes the feeds and returns the report section.
    pub(crate) async fn finish(self, written: &HashSet<i64>) -> DashboardsReport {
        let seconds = self.started.elapsed().as_secs_f64();
        self.dashboards.set_closing();
        let _ = self.stop.send(true);
        let tasks = self.tasks;
        let all = async {
            for task in tasks.iter() {
                while !task.is_finished() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, all).await;
        for task in tasks {
            task.abort();
        }
        self.dashboards.summarize(seconds, written)
    }
}

/// Reads feed `feed` until the run stops it or the server ends it.
async fn read_loop(
    feed: usize,
    mut ws: Ws,
    dashboards: Arc<Dashboards>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            item = ws.next() => match item {
                Some(Ok(Message::Text(text))) => {
                    dashboards.on_text(feed, &text, unix_micros_now());
                }
                Some(Ok(Message::Binary(bytes))) => dashboards.on_binary(feed, bytes.len()),
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                    dashboards.on_end(feed, &format!("closed {code}"));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) => {
                    dashboards.on_end(feed, "feed failed");
                    return;
                }
                None => {
                    dashboards.on_end(feed, "feed ended");
                    return;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, ws.close(None)).await;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICES: &str = r#"{"type":"notices","data":{"notices":[
        {"ticket_id":7,"seq":12,"at":"2026-12-07T12:56:35.100Z","sender_type":"user",
         "visitor_messages":2,"preview":"hi","waiting_since":"2026-12-07T12:56:30Z","unread":2},
        {"ticket_id":8,"seq":3,"at":"2026-12-07T12:56:35.050Z","sender_type":"system",
         "visitor_messages":0,"preview":null,"waiting_since":null,"unread":0},
        {"ticket_id":9,"seq":4,"at":"yesterday","sender_type":"user"}
    ]}}"#;

    #[test]
    fn a_notices_frame_gives_its_notices_and_counts_the_unreadable_ones() {
        let FeedFrame::Notices { notices, bad } = parse_feed_frame(NOTICES) else {
            panic!("a notices frame");
        };
        assert_eq!(bad, 1);
        assert_eq!(notices.len(), 2);
        assert_eq!(
            notices[0],
            Notice {
                ticket_id: 7,
                seq: 12,
                at_us: 1_796_648_195_100_000,
                sender_type: Some("user".into()),
                visitor_messages: 2,
            }
        );
        assert!(notices[0].covers_chat());
        assert!(!notices[1].covers_chat(), "a system note only");
        assert_eq!(
            parse_feed_frame(r#"{"type":"notices","data":{}}"#),
            FeedFrame::Notices {
                notices: vec![],
                bad: 1
            }
        );
    }

    #[test]
    fn a_well_formed_frame_reads_the_same_without_a_tree() {
        let clean = NOTICES.replace(
            r#",
        {"ticket_id":9,"seq":4,"at":"yesterday","sender_type":"user"}"#,
            "",
        );
        let fast = parse_notices_frame(&clean).expect("every entry is readable");
        assert_eq!(fast.len(), 2);
        assert_eq!(
            parse_feed_tree(&clean),
            FeedFrame::Notices {
                notices: fast,
                bad: 0
            }
        );
        // An unreadable entry, or another type, goes to the tree.
        assert_eq!(parse_notices_frame(NOTICES), None);
        let renamed = clean.replace(r#""type":"notices""#, r#""type":"other""#);
        assert_eq!(parse_notices_frame(&renamed), None);
        assert_eq!(
            parse_feed_frame(&renamed),
            FeedFrame::Other(Some("other".into()))
        );
    }

    #[test]
    fn other_frames_are_told_apart_and_never_fail() {
        let message = r#"{"type":"message","message":{"seq":1,"ticket_id":7}}"#;
        assert_eq!(
            parse_feed_frame(message),
            FeedFrame::Other(Some("message".into()))
        );
        assert_eq!(
            parse_feed_frame(r#"{"type":"ticket_updated","ticket":{"id":1}}"#),
            FeedFrame::Other(Some("ticket_updated".into()))
        );
        assert_eq!(parse_feed_frame("not json"), FeedFrame::Other(None));
        assert_eq!(parse_feed_frame("[1,2]"), FeedFrame::Other(None));
    }

    #[test]
    fn lag_is_receipt_minus_at_and_a_clock_behind_is_apart() {
        assert_eq!(lag_micros(1_000_250, 1_000_000), Some(250));
        assert_eq!(lag_micros(1_000_000, 1_000_000), Some(0));
        assert_eq!(lag_micros(999_999, 1_000_000), None);
        assert_eq!(lag_micros(i64::MIN, i64::MAX), None);
    }

    #[test]
    fn the_tally_sums_the_feeds_and_checks_the_written_tickets() {
        let dashboards = Dashboards::new(2);
        let sent = 1_796_648_195_100_000; // 2026-12-07T12:56:35.100Z
        // Feed 0: the notices frame 20 ms after the first Notice's `at` (so
        // 70 ms after the second's), then a frame of an older server.
        dashboards.on_text(0, NOTICES, sent + 20_000);
        let old = r#"{"type":"message","message":{}}"#;
        dashboards.on_text(0, old, sent);
        // Feed 1: a Notice stamped after its receipt, garbage, a binary frame.
        let ahead = r#"{"type":"notices","data":{"notices":[
            {"ticket_id":10,"seq":1,"at":"2026-12-07T12:56:36Z","sender_type":"supporter"}]}}"#;
        dashboards.on_text(1, ahead, sent);
        dashboards.on_text(1, "garbage", sent);
        dashboards.on_binary(1, 5);
        dashboards.on_end(1, "closed 1011");
        dashboards.set_closing();
        dashboards.on_end(0, "closed 1000");

        let written: HashSet<i64> = [7, 8, 10, 11].into_iter().collect();
        let report = dashboards.summarize(2.0, &written);
        assert_eq!(report.feeds, 2);
        assert_eq!(report.frames, 5);
        assert_eq!(report.frames_per_s, 2.5);
        assert_eq!(
            report.frames_per_s_per_feed,
            PerFeed {
                mean: 1.3,
                min: 1.0,
                max: 1.5
            }
        );
        let bytes = (NOTICES.len() + old.len() + ahead.len() + "garbage".len() + 5) as u64;
        assert_eq!(report.bytes, bytes);
        assert_eq!(report.notices_frames, 2);
        assert_eq!(report.notices, 3);
        assert_eq!(report.bad_notices, 1);
        assert_eq!(report.other_frames, 3);
        assert_eq!(
            report.other_kinds,
            BTreeMap::from([
                ("binary".to_owned(), 1),
                ("message".to_owned(), 1),
                ("unreadable".to_owned(), 1)
            ])
        );
        assert!((report.lag_ms.p50 - 20.0).abs() < 0.1, "{report:?}");
        assert!((report.lag_ms.max - 70.0).abs() < 0.1, "{report:?}");
        assert_eq!(report.lag_negative, 1);
        // The close during the run counts; the one after `set_closing` not.
        assert_eq!(report.failed, 1);
        assert_eq!(
            report.failures,
            BTreeMap::from([("closed 1011".to_owned(), 1)])
        );
        // 7 (chat) and 10 (chat, whatever the clocks) noticed; 8 had only a
        // system note; 11 nothing.
        assert_eq!((report.tickets_written, report.tickets_noticed), (4, 2));

        let json: Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["lag_ms"]["p99"].as_f64().map(f64::round), Some(70.0));
        assert_eq!(json["frames_per_s_per_feed"]["max"], 1.5);
        assert_eq!(json["other_kinds"]["message"], 1);
    }

    #[test]
    fn no_feeds_summarize_to_zeros() {
        let report = Dashboards::new(0).summarize(0.0, &HashSet::new());
        assert_eq!(report, DashboardsReport::default());
    }
}
