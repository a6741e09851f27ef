//! The store contract of automatic assignment under a race: eight stores (eight
//! pools, as eight nodes would have) assign 200 tickets to 5 agents of
//! `max_chats` 3 while a ninth resolves assigned tickets to free capacity, and a
//! monitor reads every agent's open chats all along. No agent may ever hold more
//! than 3, no ticket may get two agents, and every ticket is assigned as capacity
//! frees. On PostgreSQL (row locks, `SKIP LOCKED`) and on SQLite (one writer).

mod common;

use livesupport::domain::{AgentRole, NewTicket, Priority, TicketChange, TicketStatus};
use livesupport::store::{self, MessageRange, NewAgent};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

const STORES: usize = 8;
const TICKETS: usize = 200;
const AGENTS: usize = 5;
const MAX_CHATS: i64 = 3;
const NODE: &str = "race-node";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_racing_stores_never_over_assign_nor_double_assign_on_postgres() {
    let Some(url) = common::postgres_database().await else {
        return;
    };
    race(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_racing_stores_never_over_assign_nor_double_assign_on_sqlite() {
    let (url, _dir) = common::sqlite_database();
    race(&url).await;
}

/// The race on the database at `url`; panics on the first broken rule.
async fn race(url: &str) {
    let first = store::connect(url, 4).await.expect("store connects");
    let mut stores = vec![first.clone()];
    for _ in 1..STORES {
        stores.push(store::connect(url, 4).await.expect("store connects"));
    }

    // Five agents online: a dashboard socket each on a node with a fresh heartbeat.
    first.heartbeat(NODE).await.expect("heartbeat");
    let mut agent_names = HashMap::new();
    for n in 0..AGENTS {
        let name = format!("Agent {n}");
        let agent = first
            .create_agent(&NewAgent {
                email: format!("agent{n}@race.example"),
                name: name.clone(),
                role: AgentRole::Agent,
                password_hash: format!("$argon2id$v=19$fake-hash-{n}"),
            })
            .await
            .expect("create agent");
        assert_eq!(agent.max_chats, MAX_CHATS, "the default max_chats");
        first
            .open_agent_socket(agent.id, NODE)
            .await
            .expect("open dashboard socket");
        agent_names.insert(agent.id, name);
    }
    let mut ticket_ids = HashSet::new();
    for n in 0..TICKETS {
        let priority = [
            Priority::Low,
            Priority::Medium,
            Priority::High,
            Priority::Urgent,
        ][n % 4];
        let (ticket, _) = first
            .create_ticket(&NewTicket {
                session_id: uuid::Uuid::new_v4().to_string(),
                user_id: None,
                user_name: format!("Visitor {n}"),
                user_email: None,
                subject: format!("Question {n}"),
                priority,
                first_message: None,
            })
            .await
            .expect("create ticket");
        ticket_ids.insert(ticket.id);
    }

    let done = Arc::new(AtomicBool::new(false));
    // Every assignment any store made: (ticket, agent).
    let assignments = Arc::new(Mutex::new(Vec::<(i64, i64)>::new()));
    let mut workers = Vec::new();
    for store in &stores {
        let (store, done, assignments) = (store.clone(), done.clone(), assignments.clone());
        workers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                match store.assign_next().await.expect("assign_next") {
                    Some(changed) => {
                        let (agent_id, _) =
                            changed.assigned.expect("an assignment names its agent");
                        assert_eq!(changed.ticket.supporter_id, Some(agent_id));
                        assert_eq!(changed.ticket.status, TicketStatus::Assigned);
                        assignments.lock().await.push((changed.ticket.id, agent_id));
                    }
                    None => tokio::time::sleep(Duration::from_millis(2)).await,
                }
            }
        }));
    }

    // The resolver frees capacity, a few tickets at a time.
    let resolver = {
        let (store, done, names) = (first.clone(), done.clone(), agent_names.clone());
        tokio::spawn(async move {
            let mut resolved = 0usize;
            while !done.load(Ordering::Relaxed) {
                let page = store
                    .list_tickets(&livesupport::store::TicketQuery {
                        statuses: vec![TicketStatus::Assigned],
                        priorities: Vec::new(),
                        assigned: livesupport::store::AssignedFilter::Any,
                        text: None,
                        labels: Vec::new(),
                        limit: 3,
                        after: None,
                    })
                    .await
                    .expect("list assigned");
                for ticket in page.tickets {
                    let agent = ticket
                        .supporter_id
                        .expect("an assigned ticket has an agent");
                    let change = TicketChange {
                        status: Some(TicketStatus::Resolved),
                        actor: Some((agent, names[&agent].clone())),
                        ..TicketChange::default()
                    };
                    store
                        .change_ticket(ticket.id, &change)
                        .await
                        .expect("resolve");
                    resolved += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            resolved
        })
    };

    // The monitor: at no moment does an agent hold more than max_chats.
    let monitor = {
        let (store, done) = (first.clone(), done.clone());
        tokio::spawn(async move {
            let mut samples = 0usize;
            let mut most = 0i64;
            while !done.load(Ordering::Relaxed) {
                for agent in store.list_agents().await.expect("list agents") {
                    assert!(
                        agent.open_chats <= MAX_CHATS,
                        "{} held {} chats at once (max_chats {MAX_CHATS})",
                        agent.name,
                        agent.open_chats
                    );
                    most = most.max(agent.open_chats);
                }
                samples += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (samples, most)
        })
    };

    // Until every ticket got an agent (a minute is far more than it takes).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let assigned = assignments.lock().await.len();
        if assigned >= TICKETS {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            done.store(true, Ordering::Relaxed);
            panic!("only {assigned} of {TICKETS} tickets were assigned in 60 s");
        }
        if workers.iter().any(|w| w.is_finished())
            || resolver.is_finished()
            || monitor.is_finished()
        {
            // A task that ended before `done` panicked: the awaits below surface it.
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("a worker panicked");
    }
    let resolved = resolver.await.expect("the resolver panicked");
    let (samples, most) = monitor.await.expect("the monitor saw an over-assignment");

    let assignments = assignments.lock().await.clone();
    let assigned_tickets: HashSet<i64> = assignments.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        assignments.len(),
        assigned_tickets.len(),
        "a ticket was assigned twice"
    );
    assert_eq!(assigned_tickets, ticket_ids, "every ticket was assigned");
    assert!(
        resolved > 0 && samples > 0 && most == MAX_CHATS,
        "the race ran at capacity"
    );
    // The stored record agrees: one "joined" note per ticket, by the agent returned.
    for (ticket_id, agent_id) in assignments.iter().take(40) {
        let messages = first
            .messages(
                *ticket_id,
                MessageRange {
                    after_seq: 0,
                    before_seq: None,
                    limit: 100,
                },
            )
            .await
            .expect("messages")
            .messages;
        let joined: Vec<_> = messages
            .iter()
            .filter(|m| m.message.contains("joined the chat"))
            .map(|m| m.message.clone())
            .collect();
        assert_eq!(
            joined,
            vec![format!("{} joined the chat", agent_names[agent_id])],
            "ticket {ticket_id} has one join, by its agent"
        );
    }
    for agent in first.list_agents().await.expect("list agents") {
        assert!(agent.open_chats <= MAX_CHATS);
    }
}
