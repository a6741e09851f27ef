//! livesupport: a live support chat service for storefronts.
//!
//! ```text
//!  http/ (REST routes, one module per resource)      realtime/ (WebSocket protocol, hub, sockets)
//!                    \                                   /
//!                     +------------> chat <-------------+     validate → store → publish
//!                                   /    \
//!                             store/      broker/             the record  |  fan-out between nodes
//!                     (SQLite, PostgreSQL)  (in-process, Redis)
//!                                   \    /
//!                                  domain/                    tickets, messages, agents, rules (no I/O)
//! ```
//!
//! - [`config`]: the command line and environment (clap), secrets never printed.
//! - [`app`]: [`app::Application`] wires a [`config::Config`] into a bound node;
//!   [`app::AppState`] is what HTTP handlers get; [`app::server`] accepts and
//!   serves connections under their caps and timeouts.
//! - [`domain`]: the types and rules: statuses and their transitions, validation,
//!   and the visitor context (page reports, browser and OS from a user agent).
//! - [`store`]: the [`store::Store`] trait and its SQLite and PostgreSQL backends.
//! - [`broker`]: the [`broker::Broker`] trait; in-process or Redis pub/sub.
//! - [`chat`]: the operations REST and WebSocket share; each validates, stores,
//!   then publishes a [`chat::events::Event`] (the broker carries events in a
//!   versioned envelope, never WebSocket frames); sessions and presence, and
//!   routing (issue 16): agents' presence from their dashboards, auto-assignment,
//!   going back to the queue, transfer.
//! - [`realtime`]: the socket engine on its own context: frames, the hub of
//!   local sockets (ordering, reconciliation with the store), one socket's loop,
//!   and the registry of agent sockets that closes them when their token is
//!   revoked (pushed on the broker's `control` channel) or expires; the
//!   per-node router round (`realtime::router`) that assigns waiting tickets and
//!   tells local dashboards and waiting visitors what changed.
//! - [`http`]: the REST API, health, `/metrics` (on the main port or its own
//!   listener) and static assets.
//! - [`auth`]: argon2 passwords, agent tokens, identity verification.
//! - [`error`]: one [`error::ApiError`] for every error body and error frame.
//! - [`metrics`]: every Prometheus metric, in one registry.
//! - [`storage`]: attachment files on the local filesystem or any S3-compatible store.
//!
//! A message's path: a socket's reader parses the frame → [`chat::Chat`] appends
//! it (the seq is allocated in the same transaction: the acknowledgement point) →
//! the event's envelope is published on `ticket:{id}` → every node subscribed to
//! that ticket hands it to its hub → the hub orders by seq and pushes it to each
//! local socket's bounded queue → each socket's writer sends it. Whatever the
//! broker loses, each hub finds by reconciling with the store every couple of
//! seconds (`realtime::hub`), with no later message needed.

pub mod app;
pub mod auth;
pub mod batch;
pub mod broker;
pub mod chat;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod realtime;
pub mod storage;
pub mod store;
pub mod telemetry;

pub use app::Application;
pub use config::Config;
