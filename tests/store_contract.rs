//! The store contract: every rule of the `Store` trait, written once as an async fn
//! taking `Arc<dyn Store>` and run against both backends. SQLite gets a temp file;
//! PostgreSQL gets a fresh schema from `common::postgres_database()`, and its cases
//! skip (with a notice) when `LIVESUPPORT_TEST_POSTGRES_URL` is not set. The cases of
//! the group commit that look into the database, or run two stores on one, are
//! per backend (`mod group_commit`, `mod sqlite_group_commit`).

mod common;

use chrono::{DateTime, SubsecRound, Timelike, Utc};
use livesupport::domain::visitor::{PageReport, VisitorInfo};
use livesupport::domain::{
    AgentRole, AgentStatus, AssignmentMode, CannedResponse, CannedUpdate, MessageDraft, NewCanned,
    NewTicket, Priority, SenderType, Settings, Ticket, TicketChange, TicketStatus, TransitionError,
    Visibility,
};
use livesupport::store::{
    self, AgentStanding, AgentUpdate, AssignedFilter, MessageRange, NewAgent, NewSession, Presence,
    Store, StoreError, TicketQuery, TicketSummary,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Enough connections for the concurrency test's eight writers; on PostgreSQL
/// two of them are the group commit's (a quarter of the pool).
const POOL_SIZE: u32 = 8;

/// Generates one `#[tokio::test]` per backend for each contract fn.
macro_rules! store_contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let (url, _dir) = crate::common::sqlite_database();
                    let store = crate::store::connect(&url, crate::POOL_SIZE)
                        .await
                        .expect("SQLite store connects");
                    crate::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(url) = crate::common::postgres_database().await else {
                        return;
                    };
                    let store = crate::store::connect(&url, crate::POOL_SIZE)
                        .await
                        .expect("PostgreSQL store connects");
                    crate::$name(store).await;
                }
            )*
        }
    };
}

store_contract!(
    a_ticket_opened_with_a_message_stores_it_as_seq_1,
    a_ticket_opened_without_a_message_has_no_messages,
    queue_rows_carry_the_newest_lines_preview_and_how_long_the_visitor_waits,
    tickets_are_found_by_session_and_by_id,
    unknown_tickets_are_not_found,
    appended_messages_get_gapless_seqs,
    a_repeated_client_msg_id_returns_the_first_message_and_consumes_no_seq,
    client_msg_ids_are_scoped_to_their_ticket,
    client_msg_ids_are_scoped_to_their_sender,
    a_stored_client_msg_id_with_another_text_is_refused,
    appending_to_a_closed_ticket_fails_with_ticket_closed,
    the_assigned_agents_first_message_starts_the_work,
    other_messages_on_an_assigned_ticket_change_nothing,
    a_visitor_message_reopens_a_resolved_ticket,
    every_transition_of_the_table_is_allowed_and_every_other_refused,
    assigning_an_open_ticket_makes_it_assigned_with_a_note,
    changes_are_stored_as_system_messages_in_order,
    every_note_is_stored_with_its_visibility,
    private_notes_take_a_seq_but_no_place_in_the_visitors_numbering,
    the_visitors_stream_pages_by_public_seq_and_maps_back_to_seq,
    closing_sets_closed_at_and_closed_is_final,
    a_change_that_changes_nothing_stores_nothing,
    going_back_to_open_releases_the_agent,
    reads_are_counted_for_each_viewer_separately,
    the_queue_filters_by_status_priority_and_assignment,
    the_queue_searches_subject_name_email_and_messages,
    search_takes_like_wildcards_literally,
    search_finds_non_ascii_text_as_written,
    the_queue_is_ordered_by_priority_then_age,
    the_queue_pages_by_cursor_without_overlap,
    ticket_counts_are_grouped_by_status,
    messages_page_forwards_from_after_seq,
    messages_page_backwards_from_before_seq_in_ascending_order,
    agents_are_created_listed_counted_and_found,
    a_second_agent_with_the_same_email_is_a_conflict,
    agent_standings_answer_generations_and_disabling_for_many_agents_at_once,
    sessions_track_presence_until_they_end,
    sessions_opened_together_get_a_row_each_and_are_read_together,
    only_sessions_of_nodes_with_a_fresh_heartbeat_count,
    sessions_another_node_ended_are_revived_with_their_side,
    ended_sessions_are_deleted_after_the_retention,
    open_dashboards_of_a_node_silent_past_the_retention_are_deleted,
    last_seqs_of_many_tickets_come_in_one_call,
    changed_tickets_are_found_by_updated_at_oldest_first,
    tickets_are_read_together_by_id_and_session_as_each_side_sees_them,
    messages_of_many_ranges_are_read_together,
    ticket_summaries_are_the_queue_rows_of_tickets,
    online_agents_are_those_with_an_active_socket,
    a_message_with_unicode_html_and_newlines_comes_back_byte_identical,
    timestamps_read_back_exactly_as_written,
    eight_concurrent_writers_get_seqs_1_to_1600_without_gap_or_duplicate,
    forty_tickets_opened_at_once_are_all_stored,
    concurrent_resends_of_one_client_msg_id_store_it_once,
    fifty_tickets_with_four_concurrent_writers_each_get_gapless_seqs_in_send_order,
    a_burst_of_mixed_appends_gets_what_one_by_one_appends_get,
    canned_responses_are_listed_most_used_first_then_by_shortcut,
    canned_responses_are_searched_in_shortcut_title_and_body,
    a_duplicate_canned_shortcut_is_a_conflict_on_create_and_on_update,
    canned_responses_are_updated_and_deleted_and_unknown_ids_are_not_found,
    labels_replace_the_set_move_updated_at_and_store_no_note,
    labels_come_back_on_every_agent_view_and_never_on_the_visitors,
    the_queue_filters_by_any_of_several_labels,
    label_counts_count_the_tickets_of_any_status_carrying_each,
    visitor_pages_come_newest_first_and_only_the_newest_are_kept,
    a_page_report_sets_the_locale_and_time_zone_over_the_browser_s_fallback,
    previous_tickets_share_the_user_id_or_the_email_in_any_case_newest_first,
    an_agents_status_follows_their_dashboard_sockets_and_chosen_away,
    auto_assignment_goes_by_priority_then_age_to_the_agent_with_most_room,
    auto_assignment_prefers_the_agent_assigned_least_recently_among_equals,
    auto_assignment_gives_nothing_to_away_offline_or_full_agents,
    tickets_of_an_agent_gone_offline_return_to_the_queue_unless_answered,
    a_transfer_notes_who_moved_it_and_announces_the_new_agent,
    queue_positions_follow_the_assignment_order_and_count_online_agents,
    settings_read_as_defaults_until_saved_and_keep_unknown_fields,
    racing_assignments_never_exceed_max_chats_nor_assign_a_ticket_twice,
    a_message_takes_its_pending_upload_and_history_shows_the_file,
    an_abandoned_upload_can_be_taken_by_no_message,
    the_sweep_finds_orphans_and_files_past_the_retention,
    claimed_emails_are_leased_to_one_node_until_sent_failed_or_the_lease_ends,
    the_outbox_pages_newest_first_and_counts_its_backlog,
    a_follow_up_moves_the_emailed_mark_once,
);

// ---------------------------------------------------------------------------
// Helpers

fn new_ticket(subject: &str) -> NewTicket {
    NewTicket {
        session_id: uuid::Uuid::new_v4().to_string(),
        user_id: None,
        user_name: "John Doe".into(),
        user_email: Some("john@example.com".into()),
        subject: subject.into(),
        priority: Priority::Medium,
        first_message: None,
    }
}

async fn open_ticket(store: &Arc<dyn Store>, subject: &str) -> Ticket {
    store
        .create_ticket(&new_ticket(subject))
        .await
        .expect("create ticket")
        .0
}

async fn open_ticket_with(store: &Arc<dyn Store>, new: NewTicket) -> Ticket {
    store.create_ticket(&new).await.expect("create ticket").0
}

fn from_user(text: &str) -> MessageDraft {
    MessageDraft {
        sender_type: SenderType::User,
        sender_id: None,
        sender_name: Some("John Doe".into()),
        text: text.into(),
        client_msg_id: None,
        visibility: Default::default(),
        attachments: Vec::new(),
    }
}

fn from_agent(agent_id: i64, text: &str) -> MessageDraft {
    MessageDraft {
        sender_type: SenderType::Supporter,
        sender_id: Some(agent_id),
        sender_name: Some(format!("Agent {agent_id}")),
        text: text.into(),
        client_msg_id: None,
        visibility: Default::default(),
        attachments: Vec::new(),
    }
}

fn with_key(mut draft: MessageDraft, key: &str) -> MessageDraft {
    draft.client_msg_id = Some(key.into());
    draft
}

async fn new_agent(store: &Arc<dyn Store>, email: &str, name: &str) -> i64 {
    store
        .create_agent(&NewAgent {
            email: email.into(),
            name: name.into(),
            role: AgentRole::Agent,
            password_hash: format!("$argon2id$v=19$fake-hash-of-{name}"),
        })
        .await
        .expect("create agent")
        .id
}

fn assign(agent_id: i64, name: &str) -> TicketChange {
    TicketChange {
        assign_to: Some((agent_id, name.into())),
        actor: Some((agent_id, name.into())),
        ..TicketChange::default()
    }
}

fn set_status(status: TicketStatus, actor: Option<(i64, &str)>) -> TicketChange {
    TicketChange {
        status: Some(status),
        actor: actor.map(|(id, name)| (id, name.to_owned())),
        ..TicketChange::default()
    }
}

fn set_priority(priority: Priority) -> TicketChange {
    TicketChange {
        priority: Some(priority),
        ..TicketChange::default()
    }
}

async fn all_messages(store: &Arc<dyn Store>, ticket_id: i64) -> Vec<livesupport::domain::Message> {
    store
        .messages(
            ticket_id,
            MessageRange {
                after_seq: 0,
                before_seq: None,
                limit: 10_000,
            },
        )
        .await
        .expect("messages")
        .messages
}

fn seqs(messages: &[livesupport::domain::Message]) -> Vec<i64> {
    messages.iter().map(|m| m.seq).collect()
}

fn query(statuses: &[TicketStatus]) -> TicketQuery {
    TicketQuery {
        statuses: statuses.to_vec(),
        priorities: Vec::new(),
        assigned: AssignedFilter::Any,
        text: None,
        labels: Vec::new(),
        limit: 200,
        after: None,
    }
}

async fn listed_ids(store: &Arc<dyn Store>, query: TicketQuery) -> Vec<i64> {
    store
        .list_tickets(&query)
        .await
        .expect("list tickets")
        .tickets
        .iter()
        .map(|t| t.id)
        .collect()
}

/// Drives a fresh ticket to `status` along allowed transitions.
async fn ticket_in_status(store: &Arc<dyn Store>, agent_id: i64, status: TicketStatus) -> Ticket {
    let ticket = open_ticket(store, &format!("Ticket to be {status}")).await;
    let steps: &[TicketStatus] = match status {
        TicketStatus::Open => &[],
        TicketStatus::Assigned => &[TicketStatus::Assigned],
        TicketStatus::InProgress => &[TicketStatus::Assigned, TicketStatus::InProgress],
        TicketStatus::Resolved => &[TicketStatus::Assigned, TicketStatus::Resolved],
        TicketStatus::Closed => &[TicketStatus::Closed],
    };
    for step in steps {
        let change = if *step == TicketStatus::Assigned {
            assign(agent_id, "Alice")
        } else {
            set_status(*step, Some((agent_id, "Alice")))
        };
        store
            .change_ticket(ticket.id, &change)
            .await
            .unwrap_or_else(|e| panic!("driving a ticket to {status}: step {step}: {e}"));
    }
    let ticket = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(ticket.status, status, "set-up reached {status}");
    ticket
}

// ---------------------------------------------------------------------------
// Tickets

async fn a_ticket_opened_with_a_message_stores_it_as_seq_1(store: Arc<dyn Store>) {
    let mut new = new_ticket("Order not arrived");
    new.priority = Priority::High;
    new.first_message = Some("Hello!".into());
    let (ticket, first) = store.create_ticket(&new).await.unwrap();

    let first = first.expect("the first message is returned");
    assert_eq!(first.seq, 1);
    assert_eq!(first.ticket_id, ticket.id);
    assert_eq!(first.sender_type, SenderType::User);
    assert_eq!(first.sender_name.as_deref(), Some("John Doe"));
    assert_eq!(first.message, "Hello!");
    assert!(!first.is_read);
    assert_eq!(ticket.last_seq, 1);
    assert_eq!(ticket.status, TicketStatus::Open);
    assert_eq!(ticket.priority, Priority::High);
    assert_eq!(ticket.session_id, new.session_id);
    assert_eq!(ticket.subject, "Order not arrived");
    assert_eq!(ticket.user_email.as_deref(), Some("john@example.com"));
    assert_eq!(ticket.supporter_id, None);
    assert_eq!(ticket.supporter_name, None);
    assert_eq!(ticket.closed_at, None);
    assert_eq!(seqs(&all_messages(&store, ticket.id).await), [1]);
    let as_agent = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(
        as_agent.unread_count, 1,
        "the agent has the visitor's message to read"
    );
    assert_eq!(
        ticket.unread_count, 1,
        "the returned ticket is the agents' view: the opening message is unread"
    );
    assert_eq!(ticket.last_message_preview.as_deref(), Some("Hello!"));
    assert_eq!(ticket.waiting_since, Some(first.created_at));
}

async fn queue_rows_carry_the_newest_lines_preview_and_how_long_the_visitor_waits(
    store: Arc<dyn Store>,
) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Preview").await;
    assert_eq!(ticket.last_message_preview, None);
    assert_eq!(ticket.waiting_since, None);
    let agents_view = |store: Arc<dyn Store>| async move {
        store
            .ticket_by_id(ticket.id, SenderType::Supporter)
            .await
            .unwrap()
    };

    let asked = store
        .append_message(ticket.id, &from_user("Where is my order?"))
        .await
        .unwrap()
        .message;
    store
        .append_message(ticket.id, &from_user("It is late"))
        .await
        .unwrap();
    let t = agents_view(store.clone()).await;
    assert_eq!(t.last_message_preview.as_deref(), Some("It is late"));
    assert_eq!(
        t.waiting_since,
        Some(asked.created_at),
        "waiting since the first unanswered message"
    );

    store
        .change_ticket(ticket.id, &assign(alice, "Alice"))
        .await
        .unwrap();
    let t = agents_view(store.clone()).await;
    assert_eq!(
        t.last_message_preview.as_deref(),
        Some("It is late"),
        "a system note is no preview"
    );
    assert_eq!(
        t.waiting_since,
        Some(asked.created_at),
        "joining is no answer"
    );

    store
        .append_message(ticket.id, &from_agent(alice, "Let me check"))
        .await
        .unwrap();
    let t = agents_view(store.clone()).await;
    assert_eq!(t.last_message_preview.as_deref(), Some("Let me check"));
    assert_eq!(t.waiting_since, None, "the agent had the last word");

    let long = format!("Ärger {}", "é".repeat(300));
    let again = store
        .append_message(ticket.id, &from_user(&long))
        .await
        .unwrap()
        .message;
    let t = agents_view(store.clone()).await;
    let expected: String = long
        .chars()
        .take(livesupport::domain::PREVIEW_CHARS)
        .collect();
    assert_eq!(
        t.last_message_preview.as_deref(),
        Some(expected.as_str()),
        "the preview is the first 140 characters, not bytes"
    );
    assert_eq!(t.waiting_since, Some(again.created_at));

    let guest = store
        .ticket_by_session(&ticket.session_id, SenderType::User)
        .await
        .unwrap();
    assert_eq!(guest.last_message_preview, t.last_message_preview);
    let listed = store
        .list_tickets(&query(&[TicketStatus::InProgress]))
        .await
        .unwrap()
        .tickets;
    let row = listed.iter().find(|r| r.id == ticket.id).expect("listed");
    assert_eq!(row.last_message_preview, t.last_message_preview);
    assert_eq!(row.waiting_since, Some(again.created_at));
}

async fn a_ticket_opened_without_a_message_has_no_messages(store: Arc<dyn Store>) {
    let (ticket, first) = store
        .create_ticket(&new_ticket("Just a question"))
        .await
        .unwrap();
    assert!(first.is_none());
    assert_eq!(ticket.last_seq, 0);
    assert_eq!(ticket.unread_count, 0);
    assert!(all_messages(&store, ticket.id).await.is_empty());
    let appended = store
        .append_message(ticket.id, &from_user("first words"))
        .await
        .unwrap();
    assert_eq!(appended.message.seq, 1, "numbering starts at 1");
}

async fn tickets_are_found_by_session_and_by_id(store: Arc<dyn Store>) {
    let mut new = new_ticket("Find me");
    new.user_id = Some("shop-user-42".into());
    let created = open_ticket_with(&store, new.clone()).await;
    let _other = open_ticket(&store, "Someone else").await;

    let by_session = store
        .ticket_by_session(&new.session_id, SenderType::User)
        .await
        .unwrap();
    let by_id = store
        .ticket_by_id(created.id, SenderType::User)
        .await
        .unwrap();
    assert_eq!(by_session, created);
    assert_eq!(by_id, created);
    assert_eq!(by_id.user_id.as_deref(), Some("shop-user-42"));
}

async fn unknown_tickets_are_not_found(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Exists").await;
    let missing = ticket.id + 1000;
    let unknown_session = uuid::Uuid::new_v4().to_string();
    assert!(matches!(
        store
            .ticket_by_session(&unknown_session, SenderType::User)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.ticket_by_id(missing, SenderType::Supporter).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.append_message(missing, &from_user("hi")).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .change_ticket(missing, &set_status(TicketStatus::Closed, None))
            .await,
        Err(StoreError::NotFound)
    ));
}

// ---------------------------------------------------------------------------
// Appending

async fn appended_messages_get_gapless_seqs(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Numbering").await;
    let other = open_ticket(&store, "Numbered on its own").await;
    let mut got = Vec::new();
    for i in 0..5 {
        let draft = if i % 2 == 0 {
            from_user(&format!("user {i}"))
        } else {
            from_agent(alice, &format!("agent {i}"))
        };
        let appended = store.append_message(ticket.id, &draft).await.unwrap();
        assert!(!appended.duplicate);
        got.push(appended.message.seq);
    }
    let elsewhere = store
        .append_message(other.id, &from_user("elsewhere"))
        .await
        .unwrap();

    assert_eq!(got, [1, 2, 3, 4, 5]);
    assert_eq!(
        elsewhere.message.seq, 1,
        "each ticket has its own numbering"
    );
    assert_eq!(
        seqs(&all_messages(&store, ticket.id).await),
        [1, 2, 3, 4, 5]
    );
    let ticket = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(ticket.last_seq, 5);
}

async fn a_repeated_client_msg_id_returns_the_first_message_and_consumes_no_seq(
    store: Arc<dyn Store>,
) {
    let ticket = open_ticket(&store, "Idempotency").await;
    let first = store
        .append_message(ticket.id, &with_key(from_user("once"), "c0ffee-1"))
        .await
        .unwrap();
    let again = store
        .append_message(ticket.id, &with_key(from_user("once"), "c0ffee-1"))
        .await
        .unwrap();

    assert!(!first.duplicate);
    assert!(again.duplicate, "the second send is recognised");
    assert_eq!(again.message, first.message, "the first message comes back");
    assert_eq!(again.message.client_msg_id.as_deref(), Some("c0ffee-1"));
    assert!(again.status_change.is_none());
    let next = store
        .append_message(ticket.id, &from_user("next"))
        .await
        .unwrap();
    assert_eq!(next.message.seq, 2, "the duplicate consumed no seq");
    let stored = all_messages(&store, ticket.id).await;
    assert_eq!(seqs(&stored), [1, 2]);
    assert_eq!(stored[0].message, "once");
}

async fn client_msg_ids_are_scoped_to_their_ticket(store: Arc<dyn Store>) {
    let one = open_ticket(&store, "One").await;
    let two = open_ticket(&store, "Two").await;
    store
        .append_message(one.id, &with_key(from_user("a"), "same-key"))
        .await
        .unwrap();
    let on_two = store
        .append_message(two.id, &with_key(from_user("b"), "same-key"))
        .await
        .unwrap();
    assert!(!on_two.duplicate, "a key is per ticket");
    assert_eq!(on_two.message.ticket_id, two.id);
    assert_eq!(on_two.message.message, "b");
}

async fn client_msg_ids_are_scoped_to_their_sender(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let ticket = open_ticket(&store, "Shared key").await;
    let mut firsts = Vec::new();
    for (sender, draft) in [
        ("the visitor", from_user("from the visitor")),
        ("Alice", from_agent(alice, "from Alice")),
        ("Bob", from_agent(bob, "from Bob")),
    ] {
        let appended = store
            .append_message(ticket.id, &with_key(draft, "same-key"))
            .await
            .unwrap_or_else(|e| panic!("{sender}: {e}"));
        assert!(!appended.duplicate, "{sender}: a key is per sender");
        firsts.push(appended.message);
    }
    assert_eq!(seqs(&firsts), [1, 2, 3]);

    // Each sender's resend finds its own message, not another sender's.
    for (first, draft) in firsts.iter().zip([
        from_user("from the visitor"),
        from_agent(alice, "from Alice"),
        from_agent(bob, "from Bob"),
    ]) {
        let again = store
            .append_message(ticket.id, &with_key(draft, "same-key"))
            .await
            .unwrap();
        assert!(
            again.duplicate,
            "{}: the resend is recognised",
            first.message
        );
        assert_eq!(&again.message, first);
    }
    assert_eq!(all_messages(&store, ticket.id).await, firsts);
}

async fn a_stored_client_msg_id_with_another_text_is_refused(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Key reused").await;
    let mut stored = Vec::new();
    for (sender, first, other) in [
        (
            "the visitor",
            from_user("first text"),
            from_user("another text"),
        ),
        (
            "Alice",
            from_agent(alice, "first text"),
            from_agent(alice, "another text"),
        ),
    ] {
        stored.push(
            store
                .append_message(ticket.id, &with_key(first, "reused"))
                .await
                .unwrap()
                .message,
        );
        let refused = store
            .append_message(ticket.id, &with_key(other, "reused"))
            .await;
        assert!(
            matches!(refused, Err(StoreError::ClientMsgIdReused)),
            "{sender}: another text under a stored key is refused: {refused:?}"
        );
    }
    assert_eq!(
        all_messages(&store, ticket.id).await,
        stored,
        "nothing more stored"
    );
    let next = store
        .append_message(ticket.id, &from_user("next"))
        .await
        .unwrap();
    assert_eq!(next.message.seq, 3, "the refusals consumed no seq");
}

async fn appending_to_a_closed_ticket_fails_with_ticket_closed(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Closing").await;
    store
        .append_message(ticket.id, &from_user("before"))
        .await
        .unwrap();
    store
        .change_ticket(ticket.id, &set_status(TicketStatus::Closed, None))
        .await
        .unwrap();
    let before = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();

    let result = store.append_message(ticket.id, &from_user("after")).await;
    assert!(
        matches!(result, Err(StoreError::TicketClosed)),
        "got {result:?}"
    );
    let keyed = store
        .append_message(ticket.id, &with_key(from_user("after"), "k"))
        .await;
    assert!(
        matches!(keyed, Err(StoreError::TicketClosed)),
        "got {keyed:?}"
    );
    let after = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(after, before, "nothing about the ticket changed");
}

async fn the_assigned_agents_first_message_starts_the_work(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;
    let seq_before = ticket.last_seq;

    let appended = store
        .append_message(ticket.id, &from_agent(alice, "Hi, I'm on it"))
        .await
        .unwrap();
    let (note, changed) = appended
        .status_change
        .expect("the first message moves the ticket on");
    assert_eq!(appended.message.seq, seq_before + 1);
    assert_eq!(note.seq, seq_before + 2, "the note takes the next seq");
    assert_eq!(note.sender_type, SenderType::System);
    assert_eq!(note.message, "Status changed from assigned to in_progress");
    assert_eq!(changed.status, TicketStatus::InProgress);
    assert_eq!(changed.last_seq, seq_before + 2);

    let second = store
        .append_message(ticket.id, &from_agent(alice, "Still here"))
        .await
        .unwrap();
    assert!(
        second.status_change.is_none(),
        "only the first message does it"
    );
    assert_eq!(second.message.seq, seq_before + 3);
    let stored = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(stored.status, TicketStatus::InProgress);
}

async fn other_messages_on_an_assigned_ticket_change_nothing(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;
    let open = open_ticket(&store, "Still open").await;

    for (case, ticket_id, draft) in [
        ("another agent writes", ticket.id, from_agent(bob, "hello")),
        ("the visitor writes", ticket.id, from_user("hello?")),
        (
            "an agent writes on an open ticket",
            open.id,
            from_agent(alice, "hi"),
        ),
    ] {
        let appended = store.append_message(ticket_id, &draft).await.unwrap();
        assert!(appended.status_change.is_none(), "{case}");
    }
    let after = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(after.status, TicketStatus::Assigned);
    let open = store
        .ticket_by_id(open.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(open.status, TicketStatus::Open);
}

async fn a_visitor_message_reopens_a_resolved_ticket(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Resolved).await;

    let appended = store
        .append_message(ticket.id, &from_user("It happened again"))
        .await
        .unwrap();
    let (note, changed) = appended.status_change.expect("the ticket reopens");
    assert_eq!(note.seq, appended.message.seq + 1);
    assert_eq!(note.message, "Status changed from resolved to in_progress");
    assert_eq!(changed.status, TicketStatus::InProgress);
    assert_eq!(
        changed.supporter_id,
        Some(alice),
        "the agent keeps the ticket"
    );
}

// ---------------------------------------------------------------------------
// Changes

async fn every_transition_of_the_table_is_allowed_and_every_other_refused(store: Arc<dyn Store>) {
    use TicketStatus::*;
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let allowed = [
        (Open, Assigned),
        (Open, Closed),
        (Assigned, InProgress),
        (Assigned, Open),
        (Assigned, Resolved),
        (Assigned, Closed),
        (InProgress, Assigned),
        (InProgress, Resolved),
        (InProgress, Closed),
        (Resolved, InProgress),
        (Resolved, Closed),
    ];
    for from in TicketStatus::ALL {
        for to in TicketStatus::ALL {
            if from == to {
                continue;
            }
            let ticket = ticket_in_status(&store, alice, from).await;
            let result = store
                .change_ticket(ticket.id, &set_status(to, Some((alice, "Alice"))))
                .await;
            if allowed.contains(&(from, to)) {
                let changed = result.unwrap_or_else(|e| panic!("{from} -> {to} is allowed: {e}"));
                assert_eq!(changed.ticket.status, to, "{from} -> {to}");
                assert!(!changed.notes.is_empty(), "{from} -> {to} leaves a note");
            } else {
                match result {
                    Err(StoreError::Transition(TransitionError::Invalid { from: f, to: t })) => {
                        assert_eq!((f, t), (from, to), "{from} -> {to} names the transition")
                    }
                    other => panic!("{from} -> {to} must be refused, got {other:?}"),
                }
                let unchanged = store
                    .ticket_by_id(ticket.id, SenderType::Supporter)
                    .await
                    .unwrap();
                assert_eq!(
                    unchanged, ticket,
                    "a refused {from} -> {to} changes nothing"
                );
            }
        }
    }
}

async fn assigning_an_open_ticket_makes_it_assigned_with_a_note(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let ticket = open_ticket(&store, "Assign me").await;

    let by_bob = TicketChange {
        assign_to: Some((alice, "Alice".into())),
        actor: Some((bob, "Bob".into())),
        ..TicketChange::default()
    };
    let changed = store.change_ticket(ticket.id, &by_bob).await.unwrap();
    assert_eq!(changed.ticket.status, TicketStatus::Assigned);
    assert_eq!(changed.ticket.supporter_id, Some(alice));
    assert_eq!(changed.ticket.supporter_name.as_deref(), Some("Alice"));
    assert_eq!(changed.assigned, Some((alice, "Alice".into())));
    let notes: Vec<&str> = changed.notes.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(notes, ["Ticket assigned to Alice by Bob"]);
    assert_eq!(changed.notes[0].seq, 1);

    let to_bob = store
        .change_ticket(ticket.id, &assign(bob, "Bob"))
        .await
        .unwrap();
    assert_eq!(to_bob.ticket.supporter_id, Some(bob));
    assert_eq!(to_bob.ticket.status, TicketStatus::Assigned);
    assert_eq!(to_bob.notes[0].message, "Ticket assigned to Bob");
}

async fn changes_are_stored_as_system_messages_in_order(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;
    store
        .append_message(ticket.id, &from_user("hello"))
        .await
        .unwrap();
    let seq_before = ticket.last_seq + 1;

    let change = TicketChange {
        status: Some(TicketStatus::Resolved),
        priority: Some(Priority::Urgent),
        actor: Some((alice, "Alice".into())),
        ..TicketChange::default()
    };
    let changed = store.change_ticket(ticket.id, &change).await.unwrap();
    let notes: Vec<(i64, &str)> = changed
        .notes
        .iter()
        .map(|n| (n.seq, n.message.as_str()))
        .collect();
    assert_eq!(
        notes,
        [
            (
                seq_before + 1,
                "This conversation was marked as resolved \u{2014} write to reopen it"
            ),
            (
                seq_before + 2,
                "Priority changed from medium to urgent by Alice"
            ),
        ]
    );
    assert_eq!(changed.ticket.priority, Priority::Urgent);
    assert_eq!(changed.ticket.last_seq, seq_before + 2);
    assert!(
        changed.ticket.updated_at > ticket.updated_at,
        "the change moved updated_at"
    );

    let stored = all_messages(&store, ticket.id).await;
    let tail: Vec<_> = stored[stored.len() - 2..]
        .iter()
        .map(|m| (m.seq, m.sender_type, m.sender_id, m.message.as_str()))
        .collect();
    assert_eq!(
        tail,
        [
            (
                seq_before + 1,
                SenderType::System,
                None,
                "This conversation was marked as resolved \u{2014} write to reopen it"
            ),
            (
                seq_before + 2,
                SenderType::System,
                None,
                "Priority changed from medium to urgent by Alice"
            ),
        ]
    );
    assert_eq!(
        seqs(&stored),
        (1..=seq_before + 2).collect::<Vec<_>>(),
        "system notes share the gapless numbering"
    );
}

/// Issue 14 point 2: assignment and priority notes are stored for agents only,
/// a resolve and the visitor's own messages for everyone; the visibility is read
/// back with every message.
async fn every_note_is_stored_with_its_visibility(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;
    store
        .append_message(ticket.id, &from_user("hello"))
        .await
        .unwrap();
    let change = TicketChange {
        status: Some(TicketStatus::Resolved),
        priority: Some(Priority::High),
        actor: Some((alice, "Alice".into())),
        ..TicketChange::default()
    };
    let changed = store.change_ticket(ticket.id, &change).await.unwrap();
    let audiences: Vec<_> = changed.notes.iter().map(|n| n.visibility).collect();
    assert_eq!(audiences, [Visibility::Public, Visibility::Internal]);
    let stored = all_messages(&store, ticket.id).await;
    let read_back: Vec<_> = stored
        .iter()
        .map(|m| (m.sender_type, m.visibility))
        .collect();
    let assigned = stored
        .iter()
        .find(|m| m.message.starts_with("Ticket assigned"))
        .expect("the assignment note");
    assert_eq!(assigned.visibility, Visibility::Internal);
    assert_eq!(
        read_back[read_back.len() - 3..],
        [
            (SenderType::User, Visibility::Public),
            (SenderType::System, Visibility::Public),
            (SenderType::System, Visibility::Internal),
        ]
    );
}

fn note(agent_id: i64, text: &str) -> MessageDraft {
    MessageDraft {
        visibility: Visibility::Internal,
        attachments: Vec::new(),
        ..from_agent(agent_id, text)
    }
}

/// Issue 15: a private note is numbered in `seq` (the agents' stream, gapless
/// over everything) and has no `public_seq`; the visitor's numbering counts
/// public messages only, gapless too. A note changes no status, is never
/// unread, and is no preview.
async fn private_notes_take_a_seq_but_no_place_in_the_visitors_numbering(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;
    let before = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    let hello = store
        .append_message(ticket.id, &from_user("hello"))
        .await
        .unwrap()
        .message;
    let vip = store
        .append_message(ticket.id, &note(alice, "VIP customer, be nice"))
        .await
        .unwrap()
        .message;
    assert_eq!(vip.visibility, Visibility::Internal);
    assert_eq!(
        vip.public_seq, None,
        "a note has no place in the visitor's numbering"
    );
    assert_eq!(vip.seq, hello.seq + 1, "but the next seq");
    let after_note = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(
        after_note.status,
        TicketStatus::Assigned,
        "the assigned agent's note does not start the work"
    );
    assert_eq!(after_note.last_seq, vip.seq);
    assert_eq!(after_note.last_public_seq, hello.public_seq.unwrap());
    assert_eq!(after_note.last_message_preview.as_deref(), Some("hello"));

    let reply = store
        .append_message(ticket.id, &from_agent(alice, "Hi there"))
        .await
        .unwrap();
    let (start_note, _) = reply.status_change.expect("the reply starts the work");
    assert_eq!(start_note.public_seq, None, "the workflow note is internal");
    assert_eq!(
        reply.message.public_seq,
        Some(hello.public_seq.unwrap() + 1),
        "the visitor's numbering skips the note"
    );

    // A resend of a note's key stores nothing and consumes no number.
    let keyed = with_key(note(alice, "check the order"), "n-1");
    let first = store.append_message(ticket.id, &keyed).await.unwrap();
    let again = store.append_message(ticket.id, &keyed).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.message.id, first.message.id);

    let stored = all_messages(&store, ticket.id).await;
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "seq is gapless"
    );
    let publics: Vec<i64> = stored.iter().filter_map(|m| m.public_seq).collect();
    assert_eq!(
        before.last_public_seq, 0,
        "the set-up left internal notes only"
    );
    assert_eq!(
        publics,
        (1..=publics.len() as i64).collect::<Vec<_>>(),
        "public_seq is gapless and ascending"
    );
    assert!(
        stored
            .iter()
            .all(|m| m.public_seq.is_some() == (m.visibility == Visibility::Public)),
        "exactly the public messages have a public_seq"
    );
    assert_eq!(
        unread(&store, &ticket, SenderType::User).await,
        1,
        "a note is never unread for the visitor"
    );
    let visitor_view = store
        .ticket_by_session(&ticket.session_id, SenderType::User)
        .await
        .unwrap();
    assert_eq!(
        visitor_view.last_seq,
        *publics.last().unwrap(),
        "the visitor's ticket counts in its own numbering"
    );
}

/// The visitor's stream is read by `public_seq`, and a visitor's `since` maps
/// to the seq the replay starts after.
async fn the_visitors_stream_pages_by_public_seq_and_maps_back_to_seq(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Numbering").await;
    store
        .append_message(ticket.id, &from_user("p1"))
        .await
        .unwrap();
    store
        .append_message(ticket.id, &note(alice, "n1"))
        .await
        .unwrap();
    store
        .append_message(ticket.id, &note(alice, "n2"))
        .await
        .unwrap();
    let p2 = store
        .append_message(ticket.id, &from_user("p2"))
        .await
        .unwrap()
        .message;
    store
        .append_message(ticket.id, &from_user("p3"))
        .await
        .unwrap();
    assert_eq!((p2.seq, p2.public_seq), (4, Some(2)));

    let page = |after_seq, before_seq, limit| MessageRange {
        after_seq,
        before_seq,
        limit,
    };
    let texts = |slice: &store::MessageSlice| -> Vec<(String, Option<i64>)> {
        slice
            .messages
            .iter()
            .map(|m| (m.message.clone(), m.public_seq))
            .collect()
    };
    let all = store
        .public_messages(ticket.id, page(0, None, 100))
        .await
        .unwrap();
    assert_eq!(
        texts(&all),
        [
            ("p1".to_owned(), Some(1)),
            ("p2".to_owned(), Some(2)),
            ("p3".to_owned(), Some(3))
        ]
    );
    let after_1 = store
        .public_messages(ticket.id, page(1, None, 1))
        .await
        .unwrap();
    assert_eq!(texts(&after_1), [("p2".to_owned(), Some(2))]);
    assert!(after_1.has_more);
    let back = store
        .public_messages(ticket.id, page(0, Some(3), 100))
        .await
        .unwrap();
    assert_eq!(
        texts(&back),
        [("p1".to_owned(), Some(1)), ("p2".to_owned(), Some(2))],
        "scrolling back, still ascending"
    );
    let visitor: Vec<i64> = all
        .messages
        .iter()
        .map(|m| m.for_visitor().expect("public").seq)
        .collect();
    assert_eq!(visitor, [1, 2, 3], "the visitor's view is renumbered");

    assert_eq!(store.seq_of_public(ticket.id, 0).await.unwrap(), 0);
    assert_eq!(store.seq_of_public(ticket.id, 1).await.unwrap(), 1);
    assert_eq!(store.seq_of_public(ticket.id, 2).await.unwrap(), 4);
    assert_eq!(
        store.seq_of_public(ticket.id, 99).await.unwrap(),
        5,
        "past the end: the newest"
    );
    let quiet = open_ticket(&store, "Quiet").await;
    let mut together = store
        .seqs_of_public(&[
            (ticket.id, 2),
            (quiet.id, 5),
            (ticket.id, 0),
            (ticket.id, 99),
        ])
        .await
        .unwrap();
    together.sort_unstable();
    assert_eq!(
        together,
        [
            (ticket.id, 0, 0),
            (ticket.id, 2, 4),
            (ticket.id, 99, 5),
            (quiet.id, 5, 0),
        ],
        "read together, each as it is read alone"
    );
    assert!(store.seqs_of_public(&[]).await.unwrap().is_empty());
}

async fn closing_sets_closed_at_and_closed_is_final(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::InProgress).await;
    assert_eq!(ticket.closed_at, None);

    let closed = store
        .change_ticket(ticket.id, &set_status(TicketStatus::Closed, None))
        .await
        .unwrap()
        .ticket;
    assert_eq!(closed.status, TicketStatus::Closed);
    let closed_at = closed.closed_at.expect("closed_at is set on close");
    assert_eq!(closed_at, closed.updated_at);

    let again = store
        .change_ticket(ticket.id, &set_status(TicketStatus::Closed, None))
        .await
        .unwrap();
    assert!(again.notes.is_empty(), "closing again is a harmless no-op");
    assert_eq!(again.ticket.closed_at, Some(closed_at), "closed_at stays");

    let reopen = store
        .change_ticket(
            ticket.id,
            &set_status(TicketStatus::Open, Some((alice, "Alice"))),
        )
        .await;
    assert!(
        matches!(
            reopen,
            Err(StoreError::Transition(TransitionError::Invalid {
                from: TicketStatus::Closed,
                to: TicketStatus::Open
            }))
        ),
        "closed -> open is not in the table: got {reopen:?}"
    );
    let cases = [
        ("reprioritise", set_priority(Priority::Urgent)),
        ("assign", assign(alice, "Alice")),
    ];
    for (case, change) in cases {
        let result = store.change_ticket(ticket.id, &change).await;
        assert!(
            matches!(result, Err(StoreError::Transition(TransitionError::Closed))),
            "{case} on a closed ticket: got {result:?}"
        );
    }
    let after = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(after, again.ticket);
}

async fn a_change_that_changes_nothing_stores_nothing(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;

    let cases = [
        ("same priority", set_priority(Priority::Medium)),
        (
            "same status",
            set_status(TicketStatus::Assigned, Some((alice, "Alice"))),
        ),
        ("same agent", assign(alice, "Alice")),
        ("nothing at all", TicketChange::default()),
    ];
    for (case, change) in cases {
        let changed = store.change_ticket(ticket.id, &change).await.unwrap();
        assert!(changed.notes.is_empty(), "{case}: no note");
        assert_eq!(changed.assigned, None, "{case}: nobody newly assigned");
        let after = store
            .ticket_by_id(ticket.id, SenderType::Supporter)
            .await
            .unwrap();
        assert_eq!(
            after, ticket,
            "{case}: the ticket is untouched (updated_at too)"
        );
    }
}

async fn going_back_to_open_releases_the_agent(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::Assigned).await;
    let changed = store
        .change_ticket(
            ticket.id,
            &set_status(TicketStatus::Open, Some((alice, "Alice"))),
        )
        .await
        .unwrap();
    assert_eq!(changed.ticket.status, TicketStatus::Open);
    assert_eq!(changed.ticket.supporter_id, None);
    assert_eq!(changed.ticket.supporter_name, None);
    let unassigned = listed_ids(
        &store,
        TicketQuery {
            assigned: AssignedFilter::Unassigned,
            ..query(&[])
        },
    )
    .await;
    assert_eq!(unassigned, [ticket.id]);
}

// ---------------------------------------------------------------------------
// Reads

/// The ticket's unread count as `viewer` sees it: agents by id, the guest by session.
async fn unread(store: &Arc<dyn Store>, ticket: &Ticket, viewer: SenderType) -> i64 {
    let seen = match viewer {
        SenderType::User => store.ticket_by_session(&ticket.session_id, viewer).await,
        _ => store.ticket_by_id(ticket.id, viewer).await,
    };
    seen.expect("ticket").unread_count
}

async fn reads_are_counted_for_each_viewer_separately(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = ticket_in_status(&store, alice, TicketStatus::InProgress).await;
    // Set-up left system notes only; they count for nobody.
    assert_eq!(
        unread(&store, &ticket, SenderType::Supporter).await,
        0,
        "system notes are not unread"
    );
    assert_eq!(unread(&store, &ticket, SenderType::User).await, 0);

    let u1 = store
        .append_message(ticket.id, &from_user("u1"))
        .await
        .unwrap();
    let _a1 = store
        .append_message(ticket.id, &from_agent(alice, "a1"))
        .await
        .unwrap();
    let u2 = store
        .append_message(ticket.id, &from_user("u2"))
        .await
        .unwrap();
    let _u3 = store
        .append_message(ticket.id, &from_user("u3"))
        .await
        .unwrap();
    let a2 = store
        .append_message(ticket.id, &from_agent(alice, "a2"))
        .await
        .unwrap();
    assert_eq!(
        unread(&store, &ticket, SenderType::Supporter).await,
        3,
        "three visitor messages"
    );
    assert_eq!(
        unread(&store, &ticket, SenderType::User).await,
        2,
        "two agent messages"
    );

    let marked = store
        .mark_read(ticket.id, SenderType::Supporter, u2.message.seq)
        .await
        .unwrap();
    assert_eq!(marked.marked, 2, "the agent read u1 and u2");
    assert_eq!(marked.seq, u2.message.seq);
    assert_eq!(
        Some(marked.public_seq),
        u2.message.public_seq,
        "the mark in the visitor's numbering"
    );
    assert_eq!(unread(&store, &ticket, SenderType::Supporter).await, 1);
    assert_eq!(
        unread(&store, &ticket, SenderType::User).await,
        2,
        "the agent's reading changes nothing for the guest"
    );
    let again = store
        .mark_read(ticket.id, SenderType::Supporter, u2.message.seq)
        .await
        .unwrap();
    assert_eq!(again.marked, 0, "reading again changes nothing");

    // The visitor counts in its own numbering.
    let visitors_mark = a2.message.public_seq.expect("a public message");
    assert!(visitors_mark < a2.message.seq, "internal notes came first");
    let marked = store
        .mark_read(ticket.id, SenderType::User, visitors_mark)
        .await
        .unwrap();
    assert_eq!(marked.marked, 2, "the guest read a1 and a2");
    assert_eq!(marked.seq, a2.message.seq, "the mark in seq");
    assert_eq!(unread(&store, &ticket, SenderType::User).await, 0);
    assert_eq!(unread(&store, &ticket, SenderType::Supporter).await, 1);

    let stored = all_messages(&store, ticket.id).await;
    let read: Vec<(&str, bool)> = stored
        .iter()
        .filter(|m| m.sender_type != SenderType::System)
        .map(|m| (m.message.as_str(), m.is_read))
        .collect();
    assert_eq!(
        read,
        [
            ("u1", true),
            ("a1", true),
            ("u2", true),
            ("u3", false),
            ("a2", true)
        ]
    );
    assert!(u1.message.seq < u2.message.seq);
}

// ---------------------------------------------------------------------------
// The queue

async fn the_queue_filters_by_status_priority_and_assignment(store: Arc<dyn Store>) {
    use TicketStatus::*;
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let open = ticket_in_status(&store, alice, Open).await;
    let assigned = ticket_in_status(&store, alice, Assigned).await;
    let working = ticket_in_status(&store, alice, InProgress).await;
    let resolved = ticket_in_status(&store, alice, Resolved).await;
    let closed = ticket_in_status(&store, alice, Closed).await;
    let bobs = open_ticket(&store, "Bob's").await;
    store
        .change_ticket(bobs.id, &assign(bob, "Bob"))
        .await
        .unwrap();
    let urgent = open_ticket_with(
        &store,
        NewTicket {
            priority: Priority::Urgent,
            ..new_ticket("Urgent")
        },
    )
    .await;
    let low = open_ticket_with(
        &store,
        NewTicket {
            priority: Priority::Low,
            ..new_ticket("Low")
        },
    )
    .await;

    let cases: Vec<(&str, TicketQuery, Vec<i64>)> = vec![
        (
            "every status",
            query(&[]),
            vec![
                urgent.id,
                open.id,
                assigned.id,
                working.id,
                resolved.id,
                closed.id,
                bobs.id,
                low.id,
            ],
        ),
        (
            "the active statuses",
            query(&TicketStatus::ACTIVE),
            vec![urgent.id, open.id, assigned.id, working.id, bobs.id, low.id],
        ),
        ("resolved only", query(&[Resolved]), vec![resolved.id]),
        (
            "resolved and closed",
            query(&[Resolved, Closed]),
            vec![resolved.id, closed.id],
        ),
        (
            "urgent and low",
            TicketQuery {
                priorities: vec![Priority::Urgent, Priority::Low],
                ..query(&[])
            },
            vec![urgent.id, low.id],
        ),
        (
            "unassigned",
            TicketQuery {
                assigned: AssignedFilter::Unassigned,
                ..query(&[])
            },
            vec![urgent.id, open.id, closed.id, low.id],
        ),
        (
            "assigned to bob",
            TicketQuery {
                assigned: AssignedFilter::To(bob),
                ..query(&[])
            },
            vec![bobs.id],
        ),
        (
            "assigned to alice and active",
            TicketQuery {
                assigned: AssignedFilter::To(alice),
                ..query(&TicketStatus::ACTIVE)
            },
            vec![assigned.id, working.id],
        ),
        (
            "nobody's medium tickets",
            TicketQuery {
                assigned: AssignedFilter::Unassigned,
                priorities: vec![Priority::Medium],
                ..query(&[Open])
            },
            vec![open.id],
        ),
    ];
    for (case, q, expected) in cases {
        assert_eq!(listed_ids(&store, q).await, expected, "{case}");
    }
}

async fn the_queue_searches_subject_name_email_and_messages(store: Arc<dyn Store>) {
    let by_subject = open_ticket(&store, "Parcel never arrived").await;
    let by_name = open_ticket_with(
        &store,
        NewTicket {
            user_name: "Zelda Quintero".into(),
            ..new_ticket("Question")
        },
    )
    .await;
    let by_email = open_ticket_with(
        &store,
        NewTicket {
            user_email: Some("buyer@shop-xyzzy.example".into()),
            ..new_ticket("Question")
        },
    )
    .await;
    let by_message = open_ticket(&store, "Question").await;
    store
        .append_message(by_message.id, &from_user("my refund REFERENCE is 88-441"))
        .await
        .unwrap();
    let no_email = open_ticket_with(
        &store,
        NewTicket {
            user_email: None,
            ..new_ticket("Question")
        },
    )
    .await;

    let cases = [
        ("subject, any case", "PARCEL", vec![by_subject.id]),
        ("name", "quintero", vec![by_name.id]),
        ("email", "xyzzy", vec![by_email.id]),
        ("message text", "reference is 88", vec![by_message.id]),
        ("two characters (no trigram)", "88", vec![by_message.id]),
        ("nothing matches", "no such words", vec![]),
        (
            "shared words match all",
            "question",
            vec![by_name.id, by_email.id, by_message.id, no_email.id],
        ),
    ];
    for (case, text, expected) in cases {
        let q = TicketQuery {
            text: Some(text.into()),
            ..query(&[])
        };
        assert_eq!(listed_ids(&store, q).await, expected, "{case}: {text:?}");
    }
}

async fn search_takes_like_wildcards_literally(store: Arc<dyn Store>) {
    let percent = open_ticket(&store, "50% off was not applied").await;
    let _digits = open_ticket(&store, "500 off was not applied").await;
    let underscore = open_ticket(&store, "code a_b failed").await;
    let _letter = open_ticket(&store, "code axb failed").await;
    let backslash = open_ticket(&store, r"path C:\temp is wrong").await;
    let _no_backslash = open_ticket(&store, "path C:temp is wrong").await;
    let quoted = open_ticket(&store, r#"He said "hi there" twice"#).await;

    let cases = [
        ("percent", "50%", vec![percent.id]),
        ("underscore", "a_b", vec![underscore.id]),
        ("backslash", r"C:\temp", vec![backslash.id]),
        ("a lone percent", "%", vec![percent.id]),
        ("a lone underscore", "_", vec![underscore.id]),
        ("double quotes", r#""hi t"#, vec![quoted.id]),
        ("a phrase operator as text", "hi OR x", vec![]),
    ];
    for (case, text, expected) in cases {
        let q = TicketQuery {
            text: Some(text.into()),
            ..query(&[])
        };
        assert_eq!(listed_ids(&store, q).await, expected, "{case}: {text:?}");
    }
}

async fn search_finds_non_ascii_text_as_written(store: Arc<dyn Store>) {
    let german = open_ticket(&store, "Ärger mit der Lieferung").await;
    let _other = open_ticket(&store, "Arger").await;
    let greek = open_ticket_with(
        &store,
        NewTicket {
            user_name: "Ωmega Σmith".into(),
            ..new_ticket("Question")
        },
    )
    .await;

    for (case, text, expected) in [
        ("capital umlaut as written", "Ärger", vec![german.id]),
        ("greek capitals as written", "Ωmega Σ", vec![greek.id]),
        ("ascii part any case", "LIEFERUNG", vec![german.id]),
    ] {
        let q = TicketQuery {
            text: Some(text.into()),
            ..query(&[])
        };
        assert_eq!(listed_ids(&store, q).await, expected, "{case}: {text:?}");
    }
}

async fn the_queue_is_ordered_by_priority_then_age(store: Arc<dyn Store>) {
    let priorities = [
        Priority::Low,
        Priority::High,
        Priority::Medium,
        Priority::Urgent,
        Priority::High,
        Priority::Low,
        Priority::Urgent,
    ];
    let mut created = Vec::new();
    for (i, priority) in priorities.into_iter().enumerate() {
        let ticket = open_ticket_with(
            &store,
            NewTicket {
                priority,
                ..new_ticket(&format!("ticket {i}"))
            },
        )
        .await;
        created.push(ticket);
    }
    let page = store.list_tickets(&query(&[])).await.unwrap();
    let order: Vec<(Priority, i64)> = page.tickets.iter().map(|t| (t.priority, t.id)).collect();
    let ids = |is: &[usize]| is.iter().map(|&i| created[i].id).collect::<Vec<_>>();
    assert_eq!(
        order.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
        ids(&[3, 6, 1, 4, 2, 0, 5]),
        "urgent first, then high, medium, low; oldest first within one priority: {order:?}"
    );
    for pair in page.tickets.windows(2) {
        assert!(
            pair[0].created_at <= pair[1].created_at || pair[0].priority != pair[1].priority,
            "within one priority, the older ticket comes first"
        );
    }
    assert!(page.next.is_none(), "everything fit in one page");
}

async fn the_queue_pages_by_cursor_without_overlap(store: Arc<dyn Store>) {
    let priorities = [
        Priority::Medium,
        Priority::Urgent,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
        Priority::Low,
    ];
    for (i, priority) in priorities.into_iter().enumerate() {
        open_ticket_with(
            &store,
            NewTicket {
                priority,
                ..new_ticket(&format!("paged {i}"))
            },
        )
        .await;
    }
    let everything = listed_ids(&store, query(&[])).await;
    assert_eq!(everything.len(), 7);

    let mut paged = Vec::new();
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_tickets(&TicketQuery {
                limit: 3,
                after,
                ..query(&[])
            })
            .await
            .unwrap();
        pages.push(page.tickets.len());
        paged.extend(page.tickets.iter().map(|t| t.id));
        match page.next {
            Some(cursor) => {
                let last = page.tickets.last().unwrap();
                assert_eq!((cursor.rank, cursor.id), (last.priority.rank(), last.id));
                after = Some(cursor);
            }
            None => break,
        }
        assert!(pages.len() < 10, "paging ends");
    }
    assert_eq!(pages, [3, 3, 1]);
    assert_eq!(
        paged, everything,
        "the pages, joined, are the whole queue in order"
    );
    let unique: HashSet<i64> = paged.iter().copied().collect();
    assert_eq!(unique.len(), paged.len(), "no ticket appears twice");

    let exact = store
        .list_tickets(&TicketQuery {
            limit: 7,
            ..query(&[])
        })
        .await
        .unwrap();
    assert!(
        exact.next.is_none(),
        "a page that holds the rest has no cursor"
    );
}

async fn ticket_counts_are_grouped_by_status(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    ticket_in_status(&store, alice, TicketStatus::Open).await;
    ticket_in_status(&store, alice, TicketStatus::Open).await;
    ticket_in_status(&store, alice, TicketStatus::Closed).await;
    ticket_in_status(&store, alice, TicketStatus::Resolved).await;
    let mut counts = store
        .ticket_counts_by_status(&TicketStatus::ALL)
        .await
        .unwrap();
    counts.sort_by_key(|(status, _)| status.as_str());
    assert_eq!(
        counts,
        [
            (TicketStatus::Closed, 1),
            (TicketStatus::Open, 2),
            (TicketStatus::Resolved, 1)
        ]
    );
    let live = store
        .ticket_counts_by_status(&[TicketStatus::Open, TicketStatus::Assigned])
        .await
        .unwrap();
    assert_eq!(
        live,
        [(TicketStatus::Open, 2)],
        "only the statuses asked for"
    );
    assert!(store.ticket_counts_by_status(&[]).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Message paging

async fn ticket_with_messages(store: &Arc<dyn Store>, n: usize) -> Ticket {
    let ticket = open_ticket(store, "History").await;
    for i in 1..=n {
        store
            .append_message(ticket.id, &from_user(&format!("message {i}")))
            .await
            .unwrap();
    }
    ticket
}

async fn page(
    store: &Arc<dyn Store>,
    ticket_id: i64,
    after_seq: i64,
    before_seq: Option<i64>,
    limit: u32,
) -> (Vec<i64>, bool) {
    let slice = store
        .messages(
            ticket_id,
            MessageRange {
                after_seq,
                before_seq,
                limit,
            },
        )
        .await
        .unwrap();
    (seqs(&slice.messages), slice.has_more)
}

async fn messages_page_forwards_from_after_seq(store: Arc<dyn Store>) {
    let ticket = ticket_with_messages(&store, 10).await;
    let cases = [
        ("first page", 0, 4, (vec![1, 2, 3, 4], true)),
        ("middle page", 4, 4, (vec![5, 6, 7, 8], true)),
        ("last, short page", 8, 4, (vec![9, 10], false)),
        (
            "a page that ends exactly at the end",
            6,
            4,
            (vec![7, 8, 9, 10], false),
        ),
        ("past the end", 10, 4, (vec![], false)),
        ("everything", 0, 100, ((1..=10).collect(), false)),
    ];
    for (case, after, limit, expected) in cases {
        assert_eq!(
            page(&store, ticket.id, after, None, limit).await,
            expected,
            "{case}"
        );
    }
    let messages = all_messages(&store, ticket.id).await;
    assert_eq!(messages[0].message, "message 1");
    assert_eq!(messages[9].message, "message 10");
}

async fn messages_page_backwards_from_before_seq_in_ascending_order(store: Arc<dyn Store>) {
    let ticket = ticket_with_messages(&store, 10).await;
    let cases = [
        ("the newest page", None, 11, 4, (vec![7, 8, 9, 10], true)),
        ("scrolling back", None, 7, 4, (vec![3, 4, 5, 6], true)),
        ("the oldest page, short", None, 3, 4, (vec![1, 2], false)),
        (
            "a page that ends exactly at seq 1",
            None,
            5,
            4,
            (vec![1, 2, 3, 4], false),
        ),
        ("nothing before seq 1", None, 1, 4, (vec![], false)),
        (
            "between two seqs",
            Some(2),
            7,
            10,
            (vec![3, 4, 5, 6], false),
        ),
        (
            "between two seqs, limited",
            Some(2),
            9,
            3,
            (vec![6, 7, 8], true),
        ),
    ];
    for (case, after, before, limit, expected) in cases {
        assert_eq!(
            page(&store, ticket.id, after.unwrap_or(0), Some(before), limit).await,
            expected,
            "{case}"
        );
    }
}

// ---------------------------------------------------------------------------
// Agents

async fn agents_are_created_listed_counted_and_found(store: Arc<dyn Store>) {
    assert_eq!(store.count_agents().await.unwrap(), 0);
    assert!(store.list_agents().await.unwrap().is_empty());

    let admin = store
        .create_agent(&NewAgent {
            email: "root@example.com".into(),
            name: "Root".into(),
            role: AgentRole::Admin,
            password_hash: "$argon2id$v=19$root-hash".into(),
        })
        .await
        .unwrap();
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    assert_eq!(admin.email, "root@example.com");
    assert_eq!(admin.name, "Root");
    assert_eq!(admin.role, AgentRole::Admin);
    assert!(!admin.disabled);

    assert_eq!(store.count_agents().await.unwrap(), 2);
    let listed: Vec<(i64, String, AgentRole)> = store
        .list_agents()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.name, a.role))
        .collect();
    assert_eq!(
        listed,
        [
            (admin.id, "Root".into(), AgentRole::Admin),
            (alice, "Alice".into(), AgentRole::Agent)
        ]
    );

    let found = store
        .agent_by_email("root@example.com")
        .await
        .unwrap()
        .expect("found by email");
    assert_eq!(found.agent, admin);
    assert_eq!(found.password_hash, "$argon2id$v=19$root-hash");
    assert!(
        !format!("{found:?}").contains("root-hash"),
        "the hash never shows in Debug output"
    );
    assert_eq!(
        store.agent_by_id(admin.id).await.unwrap(),
        Some(admin.clone())
    );
    assert!(
        store
            .agent_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.agent_by_id(alice + 1000).await.unwrap().is_none());
}

async fn a_second_agent_with_the_same_email_is_a_conflict(store: Arc<dyn Store>) {
    new_agent(&store, "alice@example.com", "Alice").await;
    let second = store
        .create_agent(&NewAgent {
            email: "alice@example.com".into(),
            name: "Another Alice".into(),
            role: AgentRole::Admin,
            password_hash: "other".into(),
        })
        .await;
    assert!(
        matches!(second, Err(StoreError::Conflict(_))),
        "got {second:?}"
    );
    assert_eq!(store.count_agents().await.unwrap(), 1);
    let kept = store
        .agent_by_email("alice@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.agent.name, "Alice", "the first account is untouched");
    assert_eq!(kept.agent.role, AgentRole::Agent);
}

async fn agent_standings_answer_generations_and_disabling_for_many_agents_at_once(
    store: Arc<dyn Store>,
) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let carol = new_agent(&store, "carol@example.com", "Carol").await;
    assert!(store.agent_standings(&[]).await.unwrap().is_empty());
    let logout = AgentUpdate {
        revoke_tokens: true,
        ..AgentUpdate::default()
    };
    store.update_agent(alice, &logout).await.unwrap();
    store.update_agent(alice, &logout).await.unwrap();
    let disable = AgentUpdate {
        disabled: Some(true),
        ..AgentUpdate::default()
    };
    store.update_agent(bob, &disable).await.unwrap();
    let unknown = carol + 1000;
    let mut standings = store
        .agent_standings(&[carol, alice, unknown, bob])
        .await
        .unwrap();
    standings.sort_by_key(|s| s.agent_id);
    let expected = [
        AgentStanding {
            agent_id: alice,
            token_generation: 2,
            disabled: false,
        },
        AgentStanding {
            agent_id: bob,
            token_generation: 1,
            disabled: true,
        },
        AgentStanding {
            agent_id: carol,
            token_generation: 0,
            disabled: false,
        },
    ];
    assert_eq!(standings, expected, "unknown ids are left out");
}

// ---------------------------------------------------------------------------
// Sessions

fn session(ticket_id: i64, role: SenderType, supporter_id: Option<i64>, node: &str) -> NewSession {
    NewSession {
        ticket_id,
        role,
        user_id: None,
        supporter_id,
        node_id: node.into(),
    }
}

async fn sessions_track_presence_until_they_end(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Presence").await;
    let other = open_ticket(&store, "Elsewhere").await;
    let nobody = Presence::default();
    assert_eq!(store.presence(ticket.id).await.unwrap(), nobody);
    for node in ["node-a", "node-b"] {
        store.heartbeat(node).await.unwrap();
    }

    let guest = store
        .open_session(&session(ticket.id, SenderType::User, None, "node-a"))
        .await
        .unwrap();
    assert_eq!(
        store.presence(ticket.id).await.unwrap(),
        Presence {
            user_connected: true,
            supporter_connected: false
        }
    );
    let agent = store
        .open_session(&session(
            ticket.id,
            SenderType::Supporter,
            Some(alice),
            "node-b",
        ))
        .await
        .unwrap();
    assert_ne!(guest, agent, "each socket has its own session row");
    assert_eq!(
        store.presence(ticket.id).await.unwrap(),
        Presence {
            user_connected: true,
            supporter_connected: true
        }
    );
    assert_eq!(
        store.presence(other.id).await.unwrap(),
        nobody,
        "per ticket"
    );

    store.end_session(guest).await.unwrap();
    assert_eq!(
        store.presence(ticket.id).await.unwrap(),
        Presence {
            user_connected: false,
            supporter_connected: true
        }
    );
    store.end_session(agent).await.unwrap();
    assert_eq!(store.presence(ticket.id).await.unwrap(), nobody);
}

async fn sessions_opened_together_get_a_row_each_and_are_read_together(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let first = open_ticket(&store, "First").await;
    let second = open_ticket(&store, "Second").await;
    store.heartbeat("n").await.unwrap();
    assert!(store.open_sessions(&[]).await.unwrap().is_empty());

    // The same visitor twice (two tabs: equal rows), the agent, another ticket.
    let visitor = NewSession {
        user_id: Some("visitor-1".into()),
        ..session(first.id, SenderType::User, None, "n")
    };
    let batch = [
        visitor.clone(),
        session(first.id, SenderType::Supporter, Some(alice), "n"),
        session(second.id, SenderType::User, None, "n"),
        visitor,
    ];
    let ids = store.open_sessions(&batch).await.unwrap();
    assert_eq!(ids.len(), 4);
    let distinct: std::collections::HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "a row each, equal sessions included");
    let both = Presence {
        user_connected: true,
        supporter_connected: true,
    };
    assert_eq!(store.presence(first.id).await.unwrap(), both);
    // Read together: a ticket nobody is on is left out.
    let nobody = open_ticket(&store, "Nobody").await;
    let mut together = store
        .presences(&[nobody.id, second.id, first.id])
        .await
        .unwrap();
    together.sort_by_key(|(id, _)| *id);
    let visitor_only = Presence {
        user_connected: true,
        supporter_connected: false,
    };
    assert_eq!(together, vec![(first.id, both), (second.id, visitor_only)]);
    assert!(store.presences(&[]).await.unwrap().is_empty());

    // Each id is its own session's row: ending the agent's leaves the
    // visitor's two tabs, ending one tab leaves the other.
    store.end_session(ids[1]).await.unwrap();
    assert_eq!(store.presence(first.id).await.unwrap(), visitor_only);
    assert_eq!(store.presence(second.id).await.unwrap(), visitor_only);
    store.end_session(ids[0]).await.unwrap();
    assert_eq!(store.presence(first.id).await.unwrap(), visitor_only);
    store.end_session(ids[3]).await.unwrap();
    assert_eq!(store.presence(first.id).await.unwrap(), Presence::default());
    store.end_session(ids[2]).await.unwrap();
    assert_eq!(
        store.presence(second.id).await.unwrap(),
        Presence::default()
    );

    // More than one statement's worth: a row each.
    let many: Vec<NewSession> = (0..store::MAX_IDS_PER_QUERY + 5)
        .map(|i| {
            session(
                if i % 2 == 0 { first.id } else { second.id },
                SenderType::User,
                None,
                "n",
            )
        })
        .collect();
    let ids = store.open_sessions(&many).await.unwrap();
    assert_eq!(ids.len(), many.len());
    let distinct: std::collections::HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), many.len());
}

async fn only_sessions_of_nodes_with_a_fresh_heartbeat_count(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Liveness").await;
    store.heartbeat("live-node").await.unwrap();
    store.heartbeat("live-node").await.unwrap(); // a second beat updates the row
    store
        .open_session(&session(ticket.id, SenderType::User, None, "live-node"))
        .await
        .unwrap();
    // A node that never wrote a heartbeat (or stopped long ago) is dead.
    store
        .open_session(&session(
            ticket.id,
            SenderType::Supporter,
            Some(alice),
            "silent-node",
        ))
        .await
        .unwrap();
    assert_eq!(
        store.presence(ticket.id).await.unwrap(),
        Presence {
            user_connected: true,
            supporter_connected: false
        },
        "a silent node's sockets do not count"
    );
    assert_eq!(
        store.presences(&[ticket.id]).await.unwrap(),
        vec![(
            ticket.id,
            Presence {
                user_connected: true,
                supporter_connected: false
            }
        )],
        "nor when read with other tickets"
    );
    assert!(
        store.online_agent_ids().await.unwrap().is_empty(),
        "nor its agents"
    );
    assert_eq!(
        store
            .end_stale_sessions(store::NODE_STALE_AFTER)
            .await
            .unwrap(),
        1,
        "only the silent node's session ends"
    );
    assert_eq!(
        store
            .end_stale_sessions(store::NODE_STALE_AFTER)
            .await
            .unwrap(),
        0,
        "ended sessions are not ended again"
    );
    store.heartbeat("silent-node").await.unwrap();
    assert!(
        !store.presence(ticket.id).await.unwrap().supporter_connected,
        "a heartbeat does not bring an ended session back"
    );
    assert!(store.presence(ticket.id).await.unwrap().user_connected);
}

async fn sessions_another_node_ended_are_revived_with_their_side(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Outage").await;
    store.heartbeat("n").await.unwrap();
    let guest = store
        .open_session(&session(ticket.id, SenderType::User, None, "n"))
        .await
        .unwrap();
    let agent = store
        .open_session(&session(ticket.id, SenderType::Supporter, Some(alice), "n"))
        .await
        .unwrap();
    // Another node took this one for dead during an outage.
    store.end_session(guest).await.unwrap();
    store.end_session(agent).await.unwrap();
    assert_eq!(
        store.presence(ticket.id).await.unwrap(),
        Presence::default()
    );

    let revived = store
        .revive_sessions(&[(guest, SenderType::User), (agent, SenderType::Supporter)])
        .await
        .unwrap();
    assert_eq!(revived, 2);
    assert_eq!(
        store.presence(ticket.id).await.unwrap(),
        Presence {
            user_connected: true,
            supporter_connected: true
        }
    );
    assert_eq!(store.online_agent_ids().await.unwrap(), [alice]);
    assert_eq!(store.revive_sessions(&[]).await.unwrap(), 0);
}

/// A node that died with dashboards open never closes their rows: once it has
/// been silent for the retention they go, while a live node's stay.
async fn open_dashboards_of_a_node_silent_past_the_retention_are_deleted(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    store.heartbeat("live").await.unwrap();
    store.heartbeat("gone").await.unwrap();
    let live = store.open_agent_socket(alice, "live").await.unwrap();
    let gone = store.open_agent_socket(alice, "gone").await.unwrap();
    let retention = std::time::Duration::from_secs(1);
    assert_eq!(
        store.prune_sessions(retention).await.unwrap(),
        0,
        "too recent"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    store.heartbeat("live").await.unwrap();
    assert_eq!(
        store.prune_sessions(retention).await.unwrap(),
        1,
        "the dead node's"
    );
    assert_eq!(
        store.revive_agent_sockets(&[gone]).await.unwrap(),
        0,
        "deleted"
    );
    assert_eq!(
        store.revive_agent_sockets(&[live]).await.unwrap(),
        1,
        "kept"
    );
}

async fn ended_sessions_are_deleted_after_the_retention(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Retention").await;
    store.heartbeat("n").await.unwrap();
    let ended = store
        .open_session(&session(ticket.id, SenderType::User, None, "n"))
        .await
        .unwrap();
    store
        .open_session(&session(ticket.id, SenderType::User, None, "n"))
        .await
        .unwrap();
    store.end_session(ended).await.unwrap();
    let hour = std::time::Duration::from_secs(3600);
    assert_eq!(store.prune_sessions(hour).await.unwrap(), 0, "too recent");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        store
            .prune_sessions(std::time::Duration::ZERO)
            .await
            .unwrap(),
        1,
        "the ended one only"
    );
    // The node's own heartbeat row was as old as the retention too.
    store.heartbeat("n").await.unwrap();
    assert!(
        store.presence(ticket.id).await.unwrap().user_connected,
        "the live one stays"
    );
    assert!(
        store
            .revive_sessions(&[(ended, SenderType::User)])
            .await
            .unwrap()
            == 0,
        "a deleted session is gone"
    );
}

async fn last_seqs_of_many_tickets_come_in_one_call(store: Arc<dyn Store>) {
    let busy = open_ticket(&store, "Busy").await;
    let quiet = open_ticket(&store, "Quiet").await;
    for text in ["one", "two"] {
        store
            .append_message(busy.id, &from_user(text))
            .await
            .unwrap();
    }
    let mut found = store
        .last_seqs(&[busy.id, quiet.id, 999_999])
        .await
        .unwrap();
    found.sort();
    assert_eq!(
        found,
        [(busy.id, 2), (quiet.id, 0)],
        "unknown ids are left out"
    );
    assert!(store.last_seqs(&[]).await.unwrap().is_empty());
}

async fn changed_tickets_are_found_by_updated_at_oldest_first(store: Arc<dyn Store>) {
    let before = Utc::now().trunc_subsecs(6) - chrono::Duration::milliseconds(1);
    let first = open_ticket(&store, "First").await;
    let second = open_ticket(&store, "Second").await;
    let appended = store
        .append_message(first.id, &from_user("moves it on"))
        .await
        .unwrap();
    let until = Utc::now() + chrono::Duration::seconds(1);
    let changes = store.changed_tickets(before, until, 10).await.unwrap();
    assert_eq!(
        changes,
        [
            (second.id, second.updated_at),
            (first.id, appended.message.created_at)
        ],
        "oldest change first; a message moves updated_at to its created_at"
    );
    let limited = store.changed_tickets(before, until, 1).await.unwrap();
    assert_eq!(limited, [(second.id, second.updated_at)]);
    let later = store
        .changed_tickets(second.updated_at, until, 10)
        .await
        .unwrap();
    assert_eq!(
        later,
        [(first.id, appended.message.created_at)],
        "after is exclusive"
    );
    let none = store
        .changed_tickets(
            before,
            second.updated_at - chrono::Duration::microseconds(1),
            10,
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "until bounds the window");
}

/// The batched reads a reconnect storm goes through: each ticket as the one
/// read of it would answer, unknown ids and session ids left out.
async fn tickets_are_read_together_by_id_and_session_as_each_side_sees_them(store: Arc<dyn Store>) {
    let agent = new_agent(&store, "ids@example.com", "Ids").await;
    let first = open_ticket(&store, "First").await;
    let second = open_ticket(&store, "Second").await;
    store
        .append_message(second.id, &from_user("unread"))
        .await
        .unwrap();
    store
        .append_message(second.id, &note(agent, "internal"))
        .await
        .unwrap();
    store
        .change_ticket(second.id, &relabel(&["vip"]))
        .await
        .unwrap();
    let unknown_session = uuid::Uuid::new_v4().to_string();
    for viewer in [SenderType::User, SenderType::Supporter] {
        let mut one_by_one = Vec::new();
        for id in [first.id, second.id] {
            one_by_one.push(store.ticket_by_id(id, viewer).await.unwrap());
        }
        let by_ids = store
            .tickets_by_ids(&[second.id, 999_999, first.id], viewer)
            .await
            .unwrap();
        assert_eq!(by_ids, one_by_one, "by ids, as {viewer:?} sees them");
        let by_sessions = store
            .tickets_by_sessions(
                &[
                    second.session_id.clone(),
                    unknown_session.clone(),
                    first.session_id.clone(),
                ],
                viewer,
            )
            .await
            .unwrap();
        assert_eq!(
            by_sessions, one_by_one,
            "by sessions, as {viewer:?} sees them"
        );
        assert!(store.tickets_by_ids(&[], viewer).await.unwrap().is_empty());
        assert!(
            store
                .tickets_by_sessions(&[], viewer)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let agents_view = store
        .tickets_by_ids(&[second.id], SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(agents_view[0].unread_count, 1, "the agents' unread count");
    assert_eq!(agents_view[0].last_seq, 2, "the message and the note");
    assert_eq!(agents_view[0].labels, ["vip"]);
    let visitors_view = store
        .tickets_by_sessions(std::slice::from_ref(&second.session_id), SenderType::User)
        .await
        .unwrap();
    assert_eq!(visitors_view[0].last_seq, 1, "the visitor's numbering");
}

/// The replays of a reconnect storm, read together: each range's messages,
/// each message once (ranges of one ticket may overlap), by ticket then seq,
/// as they are read one ticket at a time.
async fn messages_of_many_ranges_are_read_together(store: Arc<dyn Store>) {
    let first = open_ticket(&store, "First").await;
    let second = open_ticket(&store, "Second").await;
    for i in 0..5 {
        store
            .append_message(first.id, &from_user(&format!("f{i}")))
            .await
            .unwrap();
    }
    for i in 0..3 {
        store
            .append_message(second.id, &from_user(&format!("s{i}")))
            .await
            .unwrap();
    }
    let read = store
        .messages_in_ranges(&[
            (second.id, 1, 3),
            (first.id, 0, 2),
            (first.id, 1, 4),
            (first.id, 4, 4),
            (999_999, 0, 10),
        ])
        .await
        .unwrap();
    let places: Vec<(i64, i64)> = read.iter().map(|m| (m.ticket_id, m.seq)).collect();
    assert_eq!(
        places,
        [
            (first.id, 1),
            (first.id, 2),
            (first.id, 3),
            (first.id, 4),
            (second.id, 2),
            (second.id, 3),
        ]
    );
    for (ticket_id, mine) in [(first.id, &read[..4]), (second.id, &read[4..])] {
        let one_by_one = store
            .messages(
                ticket_id,
                MessageRange {
                    after_seq: mine[0].seq - 1,
                    before_seq: None,
                    limit: mine.len() as u32,
                },
            )
            .await
            .unwrap();
        assert_eq!(one_by_one.messages, mine, "as read one ticket at a time");
    }
    assert!(store.messages_in_ranges(&[]).await.unwrap().is_empty());
}

async fn ticket_summaries_are_the_queue_rows_of_tickets(store: Arc<dyn Store>) {
    let agent = new_agent(&store, "sum@example.com", "Sum").await;
    let first = open_ticket(&store, "First").await;
    let second = open_ticket(&store, "Second").await;
    for text in ["one", "two"] {
        store
            .append_message(second.id, &from_user(text))
            .await
            .unwrap();
    }
    store
        .change_ticket(
            first.id,
            &TicketChange {
                assign_to: Some((agent, "Sum".into())),
                ..TicketChange::default()
            },
        )
        .await
        .unwrap();
    let summaries = store
        .ticket_summaries(&[second.id, 999_999, first.id])
        .await
        .unwrap();
    let by_ids = store
        .tickets_by_ids(&[first.id, second.id], SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(summaries.len(), 2, "the unknown id left out");
    for (summary, ticket) in summaries.iter().zip(&by_ids) {
        assert_eq!(
            *summary,
            TicketSummary {
                ticket_id: ticket.id,
                supporter_id: ticket.supporter_id,
                unread_count: ticket.unread_count,
                last_message_preview: ticket.last_message_preview.clone(),
                waiting_since: ticket.waiting_since,
            },
            "the same row as the ticket's"
        );
    }
    assert_eq!(summaries[0].supporter_id, Some(agent));
    assert_eq!(summaries[1].unread_count, 2);
    assert_eq!(summaries[1].last_message_preview.as_deref(), Some("two"));
    assert!(summaries[1].waiting_since.is_some());
    assert!(store.ticket_summaries(&[]).await.unwrap().is_empty());
}

async fn online_agents_are_those_with_an_active_socket(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let ticket = open_ticket(&store, "Online").await;
    let second = open_ticket(&store, "Online too").await;
    assert!(store.online_agent_ids().await.unwrap().is_empty());
    store.heartbeat("n").await.unwrap();

    let _guest = store
        .open_session(&session(ticket.id, SenderType::User, None, "n"))
        .await
        .unwrap();
    let a1 = store
        .open_session(&session(ticket.id, SenderType::Supporter, Some(alice), "n"))
        .await
        .unwrap();
    let a2 = store
        .open_session(&session(second.id, SenderType::Supporter, Some(alice), "n"))
        .await
        .unwrap();
    let b1 = store
        .open_session(&session(ticket.id, SenderType::Supporter, Some(bob), "n"))
        .await
        .unwrap();
    let mut online = store.online_agent_ids().await.unwrap();
    online.sort();
    assert_eq!(
        online,
        [alice, bob],
        "each agent once, however many sockets"
    );

    store.end_session(b1).await.unwrap();
    store.end_session(a1).await.unwrap();
    assert_eq!(
        store.online_agent_ids().await.unwrap(),
        [alice],
        "alice has one socket left"
    );
    store.end_session(a2).await.unwrap();
    assert!(store.online_agent_ids().await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Fidelity

async fn a_message_with_unicode_html_and_newlines_comes_back_byte_identical(store: Arc<dyn Store>) {
    let text = "  <script>alert('x')</script> &amp; \"quoted\"\n\
                \tÜmlaut, 日本語, emoji 🙂👍🏽, RTL עברית\r\n\
                back\\slash, 100% _under_ 'single' --; DROP TABLE support_messages;\n  ";
    let mut new = new_ticket("Fidelity: <b>bold</b> & 🙂");
    new.first_message = Some(text.into());
    new.user_name = "Zoë O'Brien <zoe>".into();
    let (ticket, first) = store.create_ticket(&new).await.unwrap();
    let appended = store
        .append_message(ticket.id, &with_key(from_user(text), "ключ-🙂"))
        .await
        .unwrap();

    assert_eq!(first.unwrap().message.as_bytes(), text.as_bytes());
    assert_eq!(appended.message.message.as_bytes(), text.as_bytes());
    let stored = all_messages(&store, ticket.id).await;
    for message in &stored {
        assert_eq!(
            message.message.as_bytes(),
            text.as_bytes(),
            "seq {}",
            message.seq
        );
    }
    assert_eq!(stored[1].client_msg_id.as_deref(), Some("ключ-🙂"));
    let ticket = store
        .ticket_by_session(&new.session_id, SenderType::User)
        .await
        .unwrap();
    assert_eq!(ticket.subject, "Fidelity: <b>bold</b> & 🙂");
    assert_eq!(ticket.user_name, "Zoë O'Brien <zoe>");
}

async fn timestamps_read_back_exactly_as_written(store: Arc<dyn Store>) {
    let before = Utc::now();
    let (ticket, first) = {
        let mut new = new_ticket("Clock");
        new.first_message = Some("tick".into());
        store.create_ticket(&new).await.unwrap()
    };
    let first = first.unwrap();
    let appended = store
        .append_message(ticket.id, &from_user("tock"))
        .await
        .unwrap()
        .message;
    let closed = store
        .change_ticket(ticket.id, &set_status(TicketStatus::Closed, None))
        .await
        .unwrap()
        .ticket;
    let agent_id = new_agent(&store, "clock@example.com", "Clock").await;
    let after = Utc::now();

    let read_ticket = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    let read_messages = all_messages(&store, ticket.id).await;
    let agent = store.agent_by_id(agent_id).await.unwrap().unwrap();

    assert_eq!(read_ticket.created_at, ticket.created_at);
    assert_eq!(read_ticket.updated_at, closed.updated_at);
    assert_eq!(read_ticket.closed_at, closed.closed_at);
    assert_eq!(read_messages[0].created_at, first.created_at);
    assert_eq!(read_messages[1].created_at, appended.created_at);
    assert_eq!(
        first.created_at, ticket.created_at,
        "one instant for the ticket and its first message"
    );

    let stamps: [(&str, DateTime<Utc>); 6] = [
        ("ticket created_at", read_ticket.created_at),
        ("ticket updated_at", read_ticket.updated_at),
        ("ticket closed_at", read_ticket.closed_at.unwrap()),
        ("first message", read_messages[0].created_at),
        ("second message", read_messages[1].created_at),
        ("agent created_at", agent.created_at),
    ];
    for (what, stamp) in stamps {
        assert!(
            before.trunc_subsecs(6) <= stamp && stamp <= after,
            "{what} {stamp} lies between {before} and {after}"
        );
        assert_eq!(
            stamp.nanosecond() % 1000,
            0,
            "{what} is kept to the microsecond"
        );
    }
    assert!(read_messages[0].created_at <= read_messages[1].created_at);
}

// ---------------------------------------------------------------------------
// Concurrency

async fn eight_concurrent_writers_get_seqs_1_to_1600_without_gap_or_duplicate(
    store: Arc<dyn Store>,
) {
    const WRITERS: usize = 8;
    const EACH: usize = 200;
    let ticket = open_ticket(&store, "Busy").await;

    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(EACH);
            for i in 0..EACH {
                let draft = with_key(
                    from_user(&format!("w{writer} m{i}")),
                    &format!("w{writer}-{i}"),
                );
                let appended = store
                    .append_message(ticket.id, &draft)
                    .await
                    .unwrap_or_else(|e| panic!("writer {writer} message {i}: {e}"));
                assert!(!appended.duplicate);
                seqs.push(appended.message.seq);
            }
            seqs
        }));
    }
    let mut all = Vec::with_capacity(WRITERS * EACH);
    for task in tasks {
        let seqs = task.await.expect("writer task");
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one writer's messages are numbered in the order it sent them"
        );
        all.extend(seqs);
    }
    all.sort_unstable();
    let expected: Vec<i64> = (1..=(WRITERS * EACH) as i64).collect();
    assert_eq!(all, expected, "acknowledged seqs are exactly 1..=1600");

    let stored = all_messages(&store, ticket.id).await;
    assert_eq!(
        seqs(&stored),
        expected,
        "stored seqs are exactly 1..=1600, in order"
    );
    let ticket = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(ticket.last_seq, (WRITERS * EACH) as i64);
    let texts: HashSet<&str> = stored.iter().map(|m| m.message.as_str()).collect();
    assert_eq!(texts.len(), WRITERS * EACH, "every message stored once");
}

/// Ticket creations racing each other and the group commit: on SQLite each
/// waits for the write lock (a transaction that had read first, as the search
/// index's trigger does, would be refused SQLITE_BUSY at once instead).
async fn forty_tickets_opened_at_once_are_all_stored(store: Arc<dyn Store>) {
    let busy = open_ticket(&store, "Busy").await;
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let ticket = open_ticket(&store, &format!("Opened at once {n}")).await;
            store
                .append_message(busy.id, &from_user(&format!("meanwhile {n}")))
                .await
                .expect("append");
            ticket.id
        }));
    }
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("every creation succeeds"));
    }
    assert_eq!(ids.len(), 40);
    assert_eq!(all_messages(&store, busy.id).await.len(), 40);
}

async fn concurrent_resends_of_one_client_msg_id_store_it_once(store: Arc<dyn Store>) {
    const SENDS: usize = 8;
    let ticket = open_ticket(&store, "Flaky network").await;
    let mut tasks = Vec::new();
    for _ in 0..SENDS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let draft = with_key(from_user("sent while the network flickers"), "resent-key");
            store
                .append_message(ticket.id, &draft)
                .await
                .expect("append")
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("sender task"));
    }
    let stored_once: Vec<_> = results.iter().filter(|r| !r.duplicate).collect();
    assert_eq!(stored_once.len(), 1, "exactly one send stores the message");
    let first = &stored_once[0].message;
    for result in &results {
        assert_eq!(
            &result.message, first,
            "every send answers with the stored message"
        );
    }
    assert_eq!(first.seq, 1);
    let stored = all_messages(&store, ticket.id).await;
    assert_eq!(stored.len(), 1);
    let ticket = store
        .ticket_by_id(ticket.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(ticket.last_seq, 1, "duplicates consumed no seq");
}

async fn fifty_tickets_with_four_concurrent_writers_each_get_gapless_seqs_in_send_order(
    store: Arc<dyn Store>,
) {
    write_to_many_tickets_at_once(&store).await;
}

/// How many tickets, writers per ticket and messages per writer the many-writers
/// cases use: 200 writers at once, 10,000 messages.
const BUSY_TICKETS: usize = 50;
const WRITERS_PER_TICKET: usize = 4;
const MESSAGES_PER_WRITER: usize = 50;

/// Spawns every writer of every ticket at once; each sends its messages one
/// after the other (the next once the previous is acknowledged). Checks the
/// outcome and returns how many messages were stored.
async fn write_to_many_tickets_at_once(store: &Arc<dyn Store>) -> usize {
    let mut tickets = Vec::with_capacity(BUSY_TICKETS);
    for t in 0..BUSY_TICKETS {
        tickets.push(open_ticket(store, &format!("Busy {t}")).await.id);
    }
    let mut writers = Vec::new();
    for &ticket_id in &tickets {
        for w in 0..WRITERS_PER_TICKET {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let mut acks = Vec::with_capacity(MESSAGES_PER_WRITER);
                for i in 0..MESSAGES_PER_WRITER {
                    let key = format!("t{ticket_id}-w{w}-{i}");
                    let draft = with_key(from_user(&key), &key);
                    let appended = store
                        .append_message(ticket_id, &draft)
                        .await
                        .unwrap_or_else(|e| panic!("{key}: {e}"));
                    assert!(!appended.duplicate, "{key} is new");
                    assert!(appended.status_change.is_none(), "{key} changes nothing");
                    acks.push(appended.message);
                }
                acks
            }));
        }
    }
    let mut acks = Vec::with_capacity(writers.len());
    for writer in writers {
        acks.push(writer.await.expect("writer task"));
    }
    assert_acknowledged_as_stored(
        store,
        &tickets,
        &acks,
        WRITERS_PER_TICKET * MESSAGES_PER_WRITER,
    )
    .await;
    BUSY_TICKETS * WRITERS_PER_TICKET * MESSAGES_PER_WRITER
}

/// `acks` holds each writer's acknowledged messages in its send order. Every
/// ticket must hold exactly seqs 1..=`per_ticket`, each acknowledged once and
/// as stored, and each writer's messages on a ticket must be numbered in the
/// order it sent them.
async fn assert_acknowledged_as_stored(
    store: &Arc<dyn Store>,
    tickets: &[i64],
    acks: &[Vec<livesupport::domain::Message>],
    per_ticket: usize,
) {
    let mut acked = std::collections::HashMap::new();
    for (writer, sent) in acks.iter().enumerate() {
        for &ticket_id in tickets {
            let seqs: Vec<i64> = sent
                .iter()
                .filter(|m| m.ticket_id == ticket_id)
                .map(|m| m.seq)
                .collect();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "writer {writer} on ticket {ticket_id}: numbered in send order, got {seqs:?}"
            );
        }
        for message in sent {
            let earlier = acked.insert((message.ticket_id, message.seq), message);
            assert!(
                earlier.is_none(),
                "seq {} of ticket {} acknowledged twice",
                message.seq,
                message.ticket_id
            );
        }
    }
    let expected: Vec<i64> = (1..=per_ticket as i64).collect();
    for &ticket_id in tickets {
        let stored = all_messages(store, ticket_id).await;
        assert_eq!(seqs(&stored), expected, "ticket {ticket_id}: gapless seqs");
        for message in &stored {
            assert_eq!(
                acked.get(&(ticket_id, message.seq)).copied(),
                Some(message),
                "ticket {ticket_id} seq {}: acknowledged as stored",
                message.seq
            );
        }
        let ticket = store
            .ticket_by_id(ticket_id, SenderType::Supporter)
            .await
            .unwrap();
        assert_eq!(ticket.last_seq, per_ticket as i64, "ticket {ticket_id}");
    }
}

/// Tickets in every state an append can meet, for one burst of appends.
struct MixedBurst {
    alice: i64,
    bob: i64,
    open: [i64; 2],
    keyed: i64,
    in_progress: i64,
    closed: Ticket,
    assigned: i64,
    assigned_to_visit: i64,
    resolved: i64,
    resent: i64,
    first_of_resent: livesupport::domain::Message,
    unknown: i64,
}

async fn prepare_mixed_burst(store: &Arc<dyn Store>) -> MixedBurst {
    let alice = new_agent(store, "alice@example.com", "Alice").await;
    let bob = new_agent(store, "bob@example.com", "Bob").await;
    let resent = open_ticket(store, "Resent").await.id;
    let first_of_resent = store
        .append_message(resent, &with_key(from_user("once"), "k-old"))
        .await
        .unwrap()
        .message;
    let closed = ticket_in_status(store, alice, TicketStatus::Closed).await;
    MixedBurst {
        alice,
        bob,
        open: [
            open_ticket(store, "Open 1").await.id,
            open_ticket(store, "Open 2").await.id,
        ],
        keyed: open_ticket(store, "Keyed").await.id,
        in_progress: ticket_in_status(store, alice, TicketStatus::InProgress)
            .await
            .id,
        closed,
        assigned: ticket_in_status(store, alice, TicketStatus::Assigned)
            .await
            .id,
        assigned_to_visit: ticket_in_status(store, alice, TicketStatus::Assigned)
            .await
            .id,
        resolved: ticket_in_status(store, alice, TicketStatus::Resolved)
            .await
            .id,
        resent,
        first_of_resent,
        unknown: i64::from(i32::MAX),
    }
}

type AppendTask = tokio::task::JoinHandle<Result<store::Appended, StoreError>>;

/// Sends every append of the burst at once; the answers come in this order.
fn send_mixed_burst(store: &Arc<dyn Store>, burst: &MixedBurst) -> Vec<AppendTask> {
    let appends = [
        (burst.open[0], from_user("plain 1")),
        (burst.open[1], from_agent(burst.bob, "plain 2")),
        (burst.keyed, with_key(from_user("keyed"), "k-new")),
        (burst.in_progress, from_agent(burst.alice, "working")),
        (burst.assigned_to_visit, from_user("anyone there?")),
        (burst.closed.id, from_user("too late")),
        (burst.assigned, from_agent(burst.alice, "on it")),
        (burst.resolved, from_user("again")),
        (burst.resent, with_key(from_user("once"), "k-old")),
        (burst.unknown, from_user("nobody")),
    ];
    appends
        .into_iter()
        .map(|(ticket_id, draft)| {
            let store = store.clone();
            tokio::spawn(async move { store.append_message(ticket_id, &draft).await })
        })
        .collect()
}

/// Checks each answer against what the one-by-one appends give (the cases
/// above), and returns the ids of the messages stored without a transaction:
/// those a batch statement stores.
async fn check_mixed_burst(
    store: &Arc<dyn Store>,
    burst: &MixedBurst,
    tasks: Vec<AppendTask>,
) -> Vec<i64> {
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("append task"));
    }
    let mut plain = Vec::new();
    for (case, answer) in [
        "open 1",
        "open 2",
        "new key",
        "in progress",
        "visitor on assigned",
    ]
    .iter()
    .zip(answers.drain(..5))
    {
        let appended = answer.unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(!appended.duplicate, "{case}");
        assert!(appended.status_change.is_none(), "{case}");
        let stored = all_messages(store, appended.message.ticket_id).await;
        assert_eq!(
            seqs(&stored),
            (1..=stored.len() as i64).collect::<Vec<_>>(),
            "{case}: gapless"
        );
        assert_eq!(stored.last(), Some(&appended.message), "{case}: as stored");
        plain.push(appended.message.id);
    }
    let [closed, assigned, resolved, resent, unknown] =
        <[_; 5]>::try_from(answers).expect("five more answers");

    assert!(
        matches!(closed, Err(StoreError::TicketClosed)),
        "closed: {closed:?}"
    );
    let closed_after = store
        .ticket_by_id(burst.closed.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(
        closed_after, burst.closed,
        "nothing about the closed ticket changed"
    );

    for (case, ticket_id, answer, from) in [
        ("assigned", burst.assigned, assigned, "assigned"),
        ("resolved", burst.resolved, resolved, "resolved"),
    ] {
        let appended = answer.unwrap_or_else(|e| panic!("{case}: {e}"));
        let (note, changed) = appended
            .status_change
            .unwrap_or_else(|| panic!("{case}: the message moves the ticket on"));
        assert_eq!(
            note.seq,
            appended.message.seq + 1,
            "{case}: the note follows"
        );
        assert_eq!(
            note.message,
            format!("Status changed from {from} to in_progress")
        );
        assert_eq!(changed.status, TicketStatus::InProgress, "{case}");
        assert_eq!(changed.last_seq, note.seq, "{case}");
        let stored = all_messages(store, ticket_id).await;
        assert_eq!(
            seqs(&stored),
            (1..=note.seq).collect::<Vec<_>>(),
            "{case}: gapless"
        );
    }

    let resent = resent.expect("resend");
    assert!(resent.duplicate, "the resend is recognised");
    assert_eq!(
        resent.message, burst.first_of_resent,
        "the first message answers"
    );
    assert_eq!(
        seqs(&all_messages(store, burst.resent).await),
        [1],
        "no seq consumed"
    );

    assert!(
        matches!(unknown, Err(StoreError::NotFound)),
        "unknown: {unknown:?}"
    );
    let visited = store
        .ticket_by_id(burst.assigned_to_visit, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(
        visited.status,
        TicketStatus::Assigned,
        "a visitor message changes nothing"
    );
    plain
}

async fn a_burst_of_mixed_appends_gets_what_one_by_one_appends_get(store: Arc<dyn Store>) {
    let burst = prepare_mixed_burst(&store).await;
    let tasks = send_mixed_burst(&store, &burst);
    check_mixed_burst(&store, &burst, tasks).await;
}

// ---------------------------------------------------------------------------
// Group commit (PostgreSQL): several appends to one statement

/// PostgreSQL-only cases: they look into the database (`xmin`, row locks) or run
/// two stores on one database.
mod group_commit {
    use super::*;
    use sqlx::PgPool;
    use std::time::Duration;

    /// A fresh PostgreSQL schema, a store on it and a plain pool into it; `None`
    /// when the PostgreSQL suites are not configured.
    async fn postgres() -> Option<(Arc<dyn Store>, PgPool, String)> {
        let url = crate::common::postgres_database().await?;
        let store = store::connect(&url, POOL_SIZE)
            .await
            .expect("PostgreSQL store connects");
        let raw = PgPool::connect(&url).await.expect("plain pool");
        Some((store, raw, url))
    }

    /// How many transactions stored these messages (rows of one transaction
    /// share their `xmin`).
    async fn transactions_that_stored(raw: &PgPool, ids: &[i64]) -> usize {
        let xmins: Vec<String> =
            sqlx::query_scalar("SELECT xmin::text FROM support_messages WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(raw)
                .await
                .unwrap();
        assert_eq!(xmins.len(), ids.len(), "every message is stored");
        xmins.into_iter().collect::<HashSet<_>>().len()
    }

    fn batch_histogram() -> (f64, u64) {
        let h = &livesupport::metrics::metrics().store_append_batch_size;
        (h.get_sample_sum(), h.get_sample_count())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_are_committed_several_to_a_statement() {
        let Some((store, raw, _)) = postgres().await else {
            return;
        };
        let (sum_before, count_before) = batch_histogram();
        let messages = write_to_many_tickets_at_once(&store).await;
        let (sum_after, count_after) = batch_histogram();

        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM support_messages")
            .fetch_all(&raw)
            .await
            .unwrap();
        assert_eq!(ids.len(), messages);
        let commits = transactions_that_stored(&raw, &ids).await;
        assert!(
            commits < messages / 2,
            "{messages} messages took {commits} commits: appends were not batched"
        );
        // The histogram is the process's: other tests add to it, never take away.
        assert!(
            sum_after - sum_before > (count_after - count_before) as f64,
            "livesupport_store_append_batch_size saw a batch of more than one message"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_nodes_appending_to_the_same_tickets_in_opposite_orders_never_deadlock() {
        const TICKETS: usize = 20;
        const WRITERS_PER_NODE: usize = 24;
        const ROUNDS: usize = 10;
        let Some((one, _raw, url)) = postgres().await else {
            return;
        };
        let two = store::connect(&url, POOL_SIZE)
            .await
            .expect("second node's store connects");
        let mut tickets = Vec::with_capacity(TICKETS);
        for t in 0..TICKETS {
            tickets.push(open_ticket(&one, &format!("Shared {t}")).await.id);
        }

        // Every writer goes round all tickets, one message each, ROUNDS times:
        // node one's writers in ascending id order, node two's in descending,
        // each starting at a ticket of its own.
        let mut writers = Vec::new();
        for (node, store) in [(1, &one), (2, &two)] {
            for w in 0..WRITERS_PER_NODE {
                let store = store.clone();
                let mut order = tickets.clone();
                if node == 2 {
                    order.reverse();
                }
                order.rotate_left(w % TICKETS);
                writers.push(tokio::spawn(async move {
                    let mut acks = Vec::new();
                    for round in 0..ROUNDS {
                        for &ticket_id in &order {
                            let text = format!("node {node} writer {w} round {round}");
                            let appended = store
                                .append_message(ticket_id, &from_user(&text))
                                .await
                                .unwrap_or_else(|e| panic!("{text} on {ticket_id}: {e}"));
                            acks.push(appended.message);
                        }
                    }
                    acks
                }));
            }
        }
        let mut acks = Vec::new();
        for writer in writers {
            acks.push(writer.await.expect("writer task"));
        }
        assert_acknowledged_as_stored(&one, &tickets, &acks, 2 * WRITERS_PER_NODE * ROUNDS).await;
    }

    /// A store on a fresh schema with a pool of 4 (1 kept for appends, 3 for
    /// the rest) and a statement timeout, and a plain pool into the schema.
    async fn small_pool(timeout: Option<Duration>) -> Option<(Arc<dyn Store>, PgPool)> {
        let url = crate::common::postgres_database().await?;
        let options = store::StoreOptions {
            statement_timeout: timeout,
            ..store::StoreOptions::with_pool_size(4)
        };
        let store = store::connect_signing(&url, &options, None, store::Clock::default())
            .await
            .expect("PostgreSQL store connects");
        let raw = PgPool::connect(&url).await.expect("plain pool");
        Some((store, raw))
    }

    /// Locks the canned responses against readers until the transaction ends:
    /// a listing of them waits, holding its pool connection.
    async fn block_canned_reads(raw: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
        let mut lock = raw.begin().await.unwrap();
        sqlx::query("LOCK TABLE support_canned_responses IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *lock)
            .await
            .unwrap();
        lock
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn appends_go_on_while_reads_hold_every_other_connection() {
        let Some((store, raw)) = small_pool(None).await else {
            return;
        };
        let ticket = open_ticket(&store, "Busy node").await;
        let lock = block_canned_reads(&raw).await;
        let readers: Vec<_> = (0..6)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.list_canned(None).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        for n in 1..=20 {
            let appended = tokio::time::timeout(
                Duration::from_secs(10),
                store.append_message(ticket.id, &from_user(&format!("message {n}"))),
            )
            .await
            .expect("an append is not held up by the readers")
            .expect("append");
            assert_eq!(appended.message.seq, n);
        }
        assert!(
            readers.iter().all(|r| !r.is_finished()),
            "the readers were still waiting all along"
        );
        lock.rollback().await.unwrap();
        for reader in readers {
            reader
                .await
                .unwrap()
                .expect("a reader goes on once the lock is gone");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_statement_running_past_the_timeout_is_cancelled() {
        let Some((store, raw)) = small_pool(Some(Duration::from_millis(500))).await else {
            return;
        };
        let lock = block_canned_reads(&raw).await;
        let started = std::time::Instant::now();
        let read = tokio::time::timeout(Duration::from_secs(20), store.list_canned(None))
            .await
            .expect("the statement was cancelled, not left waiting");
        assert!(read.is_err(), "a cancelled statement is an error: {read:?}");
        assert!(started.elapsed() >= Duration::from_millis(500));
        lock.rollback().await.unwrap();
        store.list_canned(None).await.expect("the store goes on");
    }

    /// Fills every batch slot of the store's appender with an append that waits
    /// on a ticket's row lock, taken from outside the store: whatever is sent
    /// next queues, and goes out as one batch once [`Jam::release`] is called.
    struct Jam {
        lock: sqlx::Transaction<'static, sqlx::Postgres>,
        stuck: Vec<AppendTask>,
    }

    /// More than the appender's batches in flight (4), so they are all stuck.
    const STUCK_APPENDS: usize = 6;
    /// Long enough for a spawned append to reach the appender's queue.
    const SETTLE: Duration = Duration::from_millis(200);

    impl Jam {
        async fn start(store: &Arc<dyn Store>, raw: &PgPool) -> Jam {
            let ticket = open_ticket(store, "Jammed").await;
            let mut lock = raw.begin().await.unwrap();
            sqlx::query("SELECT id FROM support_tickets WHERE id = $1 FOR UPDATE")
                .bind(ticket.id)
                .execute(&mut *lock)
                .await
                .unwrap();
            let mut stuck = Vec::new();
            for i in 0..STUCK_APPENDS {
                let store = store.clone();
                stuck.push(tokio::spawn(async move {
                    store
                        .append_message(ticket.id, &from_user(&format!("stuck {i}")))
                        .await
                }));
                // One at a time, so that each takes a batch of its own.
                tokio::time::sleep(SETTLE).await;
            }
            Jam { lock, stuck }
        }

        async fn release(self) {
            tokio::time::sleep(SETTLE).await;
            self.lock.rollback().await.unwrap();
            for task in self.stuck {
                task.await.unwrap().expect("a stuck append goes through");
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_batch_leaves_closed_status_changing_resent_and_unknown_messages_to_the_transaction()
    {
        let Some((store, raw, _)) = postgres().await else {
            return;
        };
        let burst = prepare_mixed_burst(&store).await;
        let jam = Jam::start(&store, &raw).await;
        let tasks = send_mixed_burst(&store, &burst);
        jam.release().await;
        let plain = check_mixed_burst(&store, &burst, tasks).await;
        assert_eq!(
            transactions_that_stored(&raw, &plain).await,
            1,
            "the plain messages of the burst were stored by one statement"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_key_from_two_senders_in_one_batch_stores_both_in_one_statement() {
        let Some((store, raw, _)) = postgres().await else {
            return;
        };
        let alice = new_agent(&store, "alice@example.com", "Alice").await;
        let ticket = open_ticket(&store, "Shared key in a batch").await;
        let jam = Jam::start(&store, &raw).await;
        let tasks: Vec<AppendTask> = [from_user("the visitor's"), from_agent(alice, "Alice's")]
            .into_iter()
            .map(|draft| {
                let store = store.clone();
                let draft = with_key(draft, "shared");
                tokio::spawn(async move { store.append_message(ticket.id, &draft).await })
            })
            .collect();
        jam.release().await;
        let mut ids = Vec::new();
        for task in tasks {
            let appended = task.await.unwrap().expect("append");
            assert!(!appended.duplicate, "{}: stored", appended.message.message);
            ids.push(appended.message.id);
        }
        assert_eq!(seqs(&all_messages(&store, ticket.id).await), [1, 2]);
        assert_eq!(
            transactions_that_stored(&raw, &ids).await,
            1,
            "the batch statement stored both"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_new_client_msg_id_twice_in_one_batch_is_stored_once() {
        let Some((store, raw, _)) = postgres().await else {
            return;
        };
        let ticket = open_ticket(&store, "Double send").await;
        let other = open_ticket(&store, "Bystander").await;
        let jam = Jam::start(&store, &raw).await;
        let appends = [
            (ticket.id, with_key(from_user("sent twice"), "twice")),
            (ticket.id, with_key(from_user("sent twice"), "twice")),
            (ticket.id, from_user("plain")),
            (other.id, from_user("elsewhere")),
        ];
        let tasks: Vec<AppendTask> = appends
            .into_iter()
            .map(|(ticket_id, draft)| {
                let store = store.clone();
                tokio::spawn(async move { store.append_message(ticket_id, &draft).await })
            })
            .collect();
        jam.release().await;
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap().expect("append"));
        }

        let keyed: Vec<_> = answers[..2].iter().filter(|a| !a.duplicate).collect();
        assert_eq!(keyed.len(), 1, "exactly one send of the key stores it");
        let first = &keyed[0].message;
        assert!(
            answers[..2].iter().all(|a| &a.message == first),
            "both answer with it"
        );
        assert!(!answers[2].duplicate && !answers[3].duplicate);
        let stored = all_messages(&store, ticket.id).await;
        assert_eq!(
            seqs(&stored),
            [1, 2],
            "the key once, the plain message once"
        );
        assert!(stored.contains(first) && stored.contains(&answers[2].message));
        assert_eq!(
            all_messages(&store, other.id).await,
            [answers[3].message.clone()]
        );
    }
}

// ---------------------------------------------------------------------------
// Group commit (SQLite): several appends to one transaction of the writer

/// SQLite-only cases: an outside connection holds the database's write lock, so
/// that appends queue for the group commit's writer and go out as one batch.
mod sqlite_group_commit {
    use super::*;
    use sqlx::{Connection, SqliteConnection};

    /// Long enough for a spawned append to reach the writer's queue.
    const SETTLE: Duration = Duration::from_millis(200);

    async fn sqlite() -> (Arc<dyn Store>, String, tempfile::TempDir) {
        let (url, dir) = crate::common::sqlite_database();
        let store = store::connect(&url, POOL_SIZE)
            .await
            .expect("SQLite store connects");
        (store, url, dir)
    }

    /// Messages and batches the group commit has stored in this process so far
    /// (nextest runs each test in a process of its own).
    fn batches() -> (u64, u64) {
        let h = &livesupport::metrics::metrics().store_append_batch_size;
        (h.get_sample_sum() as u64, h.get_sample_count())
    }

    /// SQLite's write lock, held by a connection from outside the store, with
    /// one append stuck behind it in the writer's first batch: whatever is sent
    /// next queues, and goes out as the next batch once [`WriteLock::release`]
    /// is called.
    struct WriteLock {
        conn: SqliteConnection,
        stuck: AppendTask,
    }

    impl WriteLock {
        async fn take(store: &Arc<dyn Store>, url: &str) -> WriteLock {
            let ticket = open_ticket(store, "Stuck").await;
            let mut conn = SqliteConnection::connect(url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            let stuck = {
                let store = store.clone();
                tokio::spawn(
                    async move { store.append_message(ticket.id, &from_user("stuck")).await },
                )
            };
            tokio::time::sleep(SETTLE).await;
            WriteLock { conn, stuck }
        }

        async fn release(mut self) {
            tokio::time::sleep(SETTLE).await;
            sqlx::query("ROLLBACK")
                .execute(&mut self.conn)
                .await
                .unwrap();
            self.stuck
                .await
                .unwrap()
                .expect("the stuck append goes through");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn appends_queued_behind_the_write_lock_are_committed_as_one_batch() {
        let (store, url, _dir) = sqlite().await;
        let mut tickets = Vec::new();
        for t in 0..20 {
            tickets.push(open_ticket(&store, &format!("Ticket {t}")).await.id);
        }
        let lock = WriteLock::take(&store, &url).await;
        let (messages_before, batches_before) = batches();
        let tasks: Vec<AppendTask> = tickets
            .iter()
            .flat_map(|&ticket_id| {
                (0..3).map(move |n| (ticket_id, from_user(&format!("message {n}"))))
            })
            .map(|(ticket_id, draft)| {
                let store = store.clone();
                tokio::spawn(async move { store.append_message(ticket_id, &draft).await })
            })
            .collect();
        lock.release().await;
        for task in tasks {
            let appended = task.await.unwrap().expect("append");
            assert!(!appended.duplicate && appended.status_change.is_none());
        }
        let (messages_after, batches_after) = batches();
        assert_eq!(
            (
                messages_after - messages_before,
                batches_after - batches_before
            ),
            (60, 1),
            "the 60 queued appends went out as one batch"
        );
        for ticket_id in tickets {
            let stored = all_messages(&store, ticket_id).await;
            assert_eq!(seqs(&stored), [1, 2, 3], "gapless");
            // Sent concurrently: stored once each, in whatever order they queued.
            let mut texts: Vec<_> = stored.iter().map(|m| m.message.as_str()).collect();
            texts.sort();
            assert_eq!(texts, ["message 0", "message 1", "message 2"]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_batch_leaves_closed_status_changing_resent_and_unknown_messages_to_the_transaction()
    {
        let (store, url, _dir) = sqlite().await;
        let burst = prepare_mixed_burst(&store).await;
        let lock = WriteLock::take(&store, &url).await;
        let (messages_before, batches_before) = batches();
        let tasks = send_mixed_burst(&store, &burst);
        lock.release().await;
        check_mixed_burst(&store, &burst, tasks).await;
        let (messages_after, batches_after) = batches();
        assert_eq!(
            (
                messages_after - messages_before,
                batches_after - batches_before
            ),
            (10, 1),
            "the burst went to the writer as one batch"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_new_client_msg_id_twice_in_one_batch_is_stored_once() {
        let (store, url, _dir) = sqlite().await;
        let alice = new_agent(&store, "alice@example.com", "Alice").await;
        let ticket = open_ticket(&store, "Double send").await;
        let lock = WriteLock::take(&store, &url).await;
        let appends = [
            with_key(from_user("sent twice"), "twice"),
            with_key(from_user("sent twice"), "twice"),
            with_key(from_agent(alice, "Alice's"), "twice"),
            from_user("plain"),
        ];
        let tasks: Vec<AppendTask> = appends
            .into_iter()
            .map(|draft| {
                let store = store.clone();
                tokio::spawn(async move { store.append_message(ticket.id, &draft).await })
            })
            .collect();
        lock.release().await;
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap().expect("append"));
        }
        let keyed: Vec<_> = answers[..2].iter().filter(|a| !a.duplicate).collect();
        assert_eq!(keyed.len(), 1, "exactly one send of the key stores it");
        assert_eq!(
            answers[0].message, answers[1].message,
            "both answer with it"
        );
        assert!(!answers[2].duplicate, "another sender may use the same key");
        assert!(!answers[3].duplicate);
        let stored = all_messages(&store, ticket.id).await;
        assert_eq!(seqs(&stored), [1, 2, 3]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_acknowledged_append_is_committed_for_every_other_connection() {
        let (store, url, _dir) = sqlite().await;
        let ticket = open_ticket(&store, "Durable").await;
        let mut outside = SqliteConnection::connect(&url).await.unwrap();
        for n in 1..=20 {
            let appended = store
                .append_message(ticket.id, &from_user(&format!("message {n}")))
                .await
                .unwrap();
            // Read at once by a connection of its own: the writer answered after
            // its COMMIT, not before.
            let text: String =
                sqlx::query_scalar("SELECT message FROM support_messages WHERE id = $1")
                    .bind(appended.message.id)
                    .fetch_one(&mut outside)
                    .await
                    .unwrap();
            assert_eq!(text, format!("message {n}"));
        }
    }
}

// ---------------------------------------------------------------------------
// Migration 0004 (client_msg_id per sender) on a database already in use

/// The migration that scopes `client_msg_id` per sender, applied to a database
/// that a node of the previous release filled: every row survives unchanged, a
/// visitor's resend is still recognised, and an agent may reuse the visitor's key.
mod per_sender_key_migration {
    use super::*;
    use chrono::Utc;
    use sqlx::migrate::Migrator;
    use std::path::Path;
    use std::str::FromStr;

    /// A directory with the backend's migrations before 0004 (the release before it).
    fn migrations_before_0004(backend: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        for entry in std::fs::read_dir(source).expect("migrations directory") {
            let path = entry.expect("migration file").path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if name.as_str() < "0004" {
                std::fs::copy(&path, dir.path().join(name)).expect("copy migration");
            }
        }
        dir
    }

    /// Migrates `$pool` (a fresh database) to 0003 and stores, as the previous
    /// release did, agent 1 and ticket 1 holding messages 1 to 4: a visitor
    /// message keyed `k-visitor`, an agent message keyed `k-agent`, a system
    /// note, a plain message; and message 5, deleted since (ids are never reused).
    macro_rules! fill_previous_release {
        ($pool:expr, $backend:expr) => {{
            let pool = $pool;
            let dir = migrations_before_0004($backend);
            Migrator::new(dir.path())
                .await
                .expect("migrations before 0004")
                .run(&pool)
                .await
                .expect("migrate to 0003");
            let at = Utc::now();
            sqlx::query(
                "INSERT INTO support_agents (email, name, password_hash, role, created_at) \
                 VALUES ('alice@example.com', 'Alice', 'hash', 'agent', $1)",
            )
            .bind(at)
            .execute(&pool)
            .await
            .expect("agent");
            sqlx::query(
                "INSERT INTO support_tickets (subject, status, priority, session_id, user_name, created_at, updated_at, last_seq) \
                 VALUES ('Before the upgrade', 'in_progress', 'medium', 'session-1', 'John Doe', $1, $1, 4)",
            )
            .bind(at)
            .execute(&pool)
            .await
            .expect("ticket");
            for (seq, sender_type, sender_id, text, key) in [
                (1_i64, "user", None, "hello", Some("k-visitor")),
                (2, "supporter", Some(1_i64), "hi, Alice here", Some("k-agent")),
                (3, "system", None, "Status changed from assigned to in_progress", None),
                (4, "user", None, "thanks", None),
                (5, "user", None, "deleted since", None),
            ] {
                sqlx::query(
                    "INSERT INTO support_messages (ticket_id, seq, sender_type, sender_id, sender_name, message, is_read, created_at, client_msg_id) \
                     VALUES (1, $1, $2, $3, 'someone', $4, FALSE, $5, $6)",
                )
                .bind(seq)
                .bind(sender_type)
                .bind(sender_id)
                .bind(text)
                .bind(at)
                .bind(key)
                .execute(&pool)
                .await
                .expect("message");
            }
            sqlx::query("DELETE FROM support_messages WHERE seq = 5")
                .execute(&pool)
                .await
                .expect("delete");
            pool.close().await;
        }};
    }

    /// Upgrades (the store runs 0004 as it connects) and checks the result.
    async fn upgrade_and_check(url: &str) {
        let store = store::connect(url, POOL_SIZE)
            .await
            .expect("the store migrates the filled database");
        let before = all_messages(&store, 1).await;
        let texts: Vec<_> = before.iter().map(|m| m.message.as_str()).collect();
        assert_eq!(
            texts,
            [
                "hello",
                "hi, Alice here",
                "Status changed from assigned to in_progress",
                "thanks"
            ],
            "every row survives"
        );
        assert_eq!(
            before.iter().map(|m| m.id).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(before[0].client_msg_id.as_deref(), Some("k-visitor"));
        assert_eq!(before[1].client_msg_id.as_deref(), Some("k-agent"));
        assert_eq!(before[1].sender_id, Some(1));

        let resend = store
            .append_message(1, &with_key(from_user("hello"), "k-visitor"))
            .await
            .unwrap();
        assert!(resend.duplicate, "a visitor's resend is still recognised");
        assert_eq!(resend.message, before[0]);
        let agent = store
            .append_message(1, &with_key(from_agent(1, "the agent's own"), "k-visitor"))
            .await
            .unwrap();
        assert!(
            !agent.duplicate,
            "the agent may reuse the visitor's key: {agent:?}"
        );
        assert_eq!(agent.message.seq, 5);
        assert!(
            agent.message.id > 5,
            "ids are not reused: {}",
            agent.message.id
        );
        let visitor = store
            .append_message(1, &with_key(from_user("the visitor's own"), "k-agent"))
            .await
            .unwrap();
        assert!(!visitor.duplicate, "the visitor may reuse the agent's key");
        assert_eq!(visitor.message.seq, 6);
    }

    #[tokio::test]
    async fn sqlite_keeps_every_row_and_scopes_keys_per_sender_after_the_upgrade() {
        let (url, _dir) = crate::common::sqlite_database();
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        fill_previous_release!(pool, "sqlite");
        upgrade_and_check(&url).await;
    }

    #[tokio::test]
    async fn postgres_keeps_every_row_and_scopes_keys_per_sender_after_the_upgrade() {
        let Some(url) = crate::common::postgres_database().await else {
            return;
        };
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        fill_previous_release!(pool, "postgres");
        upgrade_and_check(&url).await;
    }
}

// ---------------------------------------------------------------------------
// Agent tools: canned responses and labels

fn canned(shortcut: &str, title: &str, body: &str) -> NewCanned {
    NewCanned {
        shortcut: shortcut.into(),
        title: title.into(),
        body: body.into(),
    }
}

fn relabel(labels: &[&str]) -> TicketChange {
    TicketChange {
        labels: Some(labels.iter().map(|l| (*l).to_owned()).collect()),
        ..TicketChange::default()
    }
}

fn shortcuts(list: &[CannedResponse]) -> Vec<&str> {
    list.iter().map(|c| c.shortcut.as_str()).collect()
}

async fn canned_responses_are_listed_most_used_first_then_by_shortcut(store: Arc<dyn Store>) {
    let refund = store
        .create_canned(&canned("refund", "Refunds", "We refund in 5 days"))
        .await
        .unwrap();
    let hello = store
        .create_canned(&canned("hello", "Greeting", "Hi {{visitor.name}}!"))
        .await
        .unwrap();
    let bye = store
        .create_canned(&canned("bye", "Goodbye", "Bye from {{agent.name}}"))
        .await
        .unwrap();
    assert_eq!(hello.uses, 0);
    assert_eq!(
        hello.body, "Hi {{visitor.name}}!",
        "placeholders are stored as written"
    );
    assert_eq!(
        shortcuts(&store.list_canned(None).await.unwrap()),
        ["bye", "hello", "refund"],
        "no uses: by shortcut"
    );
    for _ in 0..2 {
        store.record_canned_use(refund.id).await.unwrap();
    }
    store.record_canned_use(hello.id).await.unwrap();
    let listed = store.list_canned(None).await.unwrap();
    assert_eq!(shortcuts(&listed), ["refund", "hello", "bye"]);
    assert_eq!(listed[0].uses, 2);
    assert_eq!(listed[0].updated_at, refund.updated_at, "a use is no edit");
    assert_eq!(listed[2].id, bye.id);
    assert!(matches!(
        store.record_canned_use(bye.id + 1000).await,
        Err(StoreError::NotFound)
    ));
}

async fn canned_responses_are_searched_in_shortcut_title_and_body(store: Arc<dyn Store>) {
    store
        .create_canned(&canned("refund", "Money back", "We refund within 5 days"))
        .await
        .unwrap();
    store
        .create_canned(&canned("hello", "Greeting", "Hi there, 100% happy to help"))
        .await
        .unwrap();
    store
        .create_canned(&canned("ship", "Shipping TIMES", "Parcels leave daily"))
        .await
        .unwrap();
    let found = |q: &'static str| {
        let store = store.clone();
        async move {
            shortcuts(&store.list_canned(Some(q)).await.unwrap())
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("REF").await, ["refund"], "shortcut, any case");
    assert_eq!(found("greet").await, ["hello"], "title");
    assert_eq!(found("times").await, ["ship"], "title, any case");
    assert_eq!(found("parcels").await, ["ship"], "body");
    assert_eq!(found("0%").await, ["hello"], "% is literal");
    assert_eq!(found("_").await, Vec::<String>::new(), "_ is literal");
    assert!(found("nothing like it").await.is_empty());
}

async fn a_duplicate_canned_shortcut_is_a_conflict_on_create_and_on_update(store: Arc<dyn Store>) {
    store
        .create_canned(&canned("refund", "Refunds", "Body"))
        .await
        .unwrap();
    let other = store
        .create_canned(&canned("hello", "Hello", "Body"))
        .await
        .unwrap();
    let again = store
        .create_canned(&canned("refund", "Another", "Other body"))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "create: {again:?}"
    );
    let renamed = store
        .update_canned(
            other.id,
            &CannedUpdate {
                shortcut: Some("refund".into()),
                ..CannedUpdate::default()
            },
        )
        .await;
    assert!(
        matches!(renamed, Err(StoreError::Conflict(_))),
        "update: {renamed:?}"
    );
    let listed = store.list_canned(None).await.unwrap();
    assert_eq!(shortcuts(&listed), ["hello", "refund"], "nothing changed");
    assert_eq!(listed[1].title, "Refunds");
}

async fn canned_responses_are_updated_and_deleted_and_unknown_ids_are_not_found(
    store: Arc<dyn Store>,
) {
    let created = store
        .create_canned(&canned("refund", "Refunds", "Old body"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let updated = store
        .update_canned(
            created.id,
            &CannedUpdate {
                body: Some("New body".into()),
                ..CannedUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.shortcut.as_str(),
            updated.title.as_str(),
            updated.body.as_str()
        ),
        ("refund", "Refunds", "New body")
    );
    assert!(
        updated.updated_at > created.updated_at,
        "an edit moves updated_at"
    );
    let renamed = store
        .update_canned(
            created.id,
            &CannedUpdate {
                shortcut: Some("money-back".into()),
                title: Some("Money".into()),
                body: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            renamed.shortcut.as_str(),
            renamed.title.as_str(),
            renamed.body.as_str()
        ),
        ("money-back", "Money", "New body")
    );
    let unknown = created.id + 1000;
    assert!(matches!(
        store
            .update_canned(
                unknown,
                &CannedUpdate {
                    title: Some("x".into()),
                    ..CannedUpdate::default()
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));
    store.delete_canned(created.id).await.unwrap();
    assert!(store.list_canned(None).await.unwrap().is_empty());
    assert!(
        matches!(
            store.delete_canned(created.id).await,
            Err(StoreError::NotFound)
        ),
        "deleting twice"
    );
    // The shortcut is free again once deleted.
    store
        .create_canned(&canned("money-back", "Money", "Body"))
        .await
        .unwrap();
}

async fn labels_replace_the_set_move_updated_at_and_store_no_note(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Where is my parcel?").await;
    assert!(ticket.labels.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let changed = store
        .change_ticket(ticket.id, &relabel(&["billing", "vip"]))
        .await
        .unwrap();
    assert!(changed.relabelled && changed.changed_anything());
    assert!(changed.notes.is_empty(), "a label change leaves no note");
    assert_eq!(changed.ticket.labels, ["billing", "vip"]);
    assert!(
        changed.ticket.updated_at > ticket.updated_at,
        "updated_at moves"
    );
    assert_eq!(changed.ticket.last_seq, 0, "no seq is used");

    let same = store
        .change_ticket(ticket.id, &relabel(&["billing", "vip"]))
        .await
        .unwrap();
    assert!(
        !same.changed_anything(),
        "the same set again changes nothing"
    );
    assert_eq!(same.ticket.updated_at, changed.ticket.updated_at);

    let replaced = store
        .change_ticket(ticket.id, &relabel(&["refund"]))
        .await
        .unwrap();
    assert_eq!(
        replaced.ticket.labels,
        ["refund"],
        "the set is replaced, not merged"
    );

    // With a status change in the same request; and on a closed ticket.
    let both = TicketChange {
        status: Some(TicketStatus::Closed),
        ..relabel(&["refund", "spam"])
    };
    let closed = store.change_ticket(ticket.id, &both).await.unwrap();
    assert_eq!(closed.ticket.status, TicketStatus::Closed);
    assert_eq!(closed.ticket.labels, ["refund", "spam"]);
    assert_eq!(closed.notes.len(), 1, "the status change's note only");
    let cleared = store.change_ticket(ticket.id, &relabel(&[])).await.unwrap();
    assert!(
        cleared.relabelled && cleared.ticket.labels.is_empty(),
        "a closed ticket can be relabelled"
    );
}

async fn labels_come_back_on_every_agent_view_and_never_on_the_visitors(store: Arc<dyn Store>) {
    let mut new = new_ticket("Labelled");
    new.user_id = Some("u-1".into());
    let ticket = open_ticket_with(&store, new).await;
    let other = open_ticket(&store, "Unlabelled").await;
    store
        .change_ticket(ticket.id, &relabel(&["vip", "billing"]))
        .await
        .unwrap();
    let expected = ["billing", "vip"];

    assert_eq!(
        store
            .ticket_by_id(ticket.id, SenderType::Supporter)
            .await
            .unwrap()
            .labels,
        expected
    );
    assert_eq!(
        store
            .ticket_by_session(&ticket.session_id, SenderType::Supporter)
            .await
            .unwrap()
            .labels,
        expected
    );
    let by_ids = store
        .tickets_by_ids(&[ticket.id, other.id], SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(by_ids[0].labels, expected);
    assert!(by_ids[1].labels.is_empty());
    let listed = store.list_tickets(&query(&[])).await.unwrap().tickets;
    let row = listed.iter().find(|t| t.id == ticket.id).unwrap();
    assert_eq!(row.labels, expected, "queue rows");

    // The agent's first message moves the ticket on: the ticket it returns has them too.
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    store
        .change_ticket(ticket.id, &assign(alice, "Alice"))
        .await
        .unwrap();
    let appended = store
        .append_message(ticket.id, &from_agent(alice, "Hello"))
        .await
        .unwrap();
    assert_eq!(appended.status_change.unwrap().1.labels, expected);

    assert!(
        store
            .ticket_by_id(ticket.id, SenderType::User)
            .await
            .unwrap()
            .labels
            .is_empty()
    );
    assert!(
        store
            .ticket_by_session(&ticket.session_id, SenderType::User)
            .await
            .unwrap()
            .labels
            .is_empty()
    );
    assert!(
        store.tickets_of_user("u-1", 10).await.unwrap()[0]
            .labels
            .is_empty()
    );
}

async fn the_queue_filters_by_any_of_several_labels(store: Arc<dyn Store>) {
    let billing = open_ticket(&store, "billing").await;
    let both = open_ticket(&store, "both").await;
    let vip = open_ticket(&store, "vip").await;
    let none = open_ticket(&store, "none").await;
    store
        .change_ticket(billing.id, &relabel(&["billing"]))
        .await
        .unwrap();
    store
        .change_ticket(both.id, &relabel(&["billing", "vip"]))
        .await
        .unwrap();
    store
        .change_ticket(vip.id, &relabel(&["vip"]))
        .await
        .unwrap();
    let with = |labels: &[&str]| TicketQuery {
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        ..query(&[])
    };
    assert_eq!(
        listed_ids(&store, with(&["billing"])).await,
        [billing.id, both.id]
    );
    assert_eq!(
        listed_ids(&store, with(&["billing", "vip"])).await,
        [billing.id, both.id, vip.id],
        "any of them, each once"
    );
    assert_eq!(
        listed_ids(&store, with(&["nobody"])).await,
        Vec::<i64>::new()
    );
    assert_eq!(
        listed_ids(&store, with(&[])).await,
        [billing.id, both.id, vip.id, none.id],
        "no filter"
    );
    // Together with another filter, and paged.
    store
        .change_ticket(both.id, &set_priority(Priority::Urgent))
        .await
        .unwrap();
    let urgent_billing = TicketQuery {
        priorities: vec![Priority::Urgent],
        ..with(&["billing"])
    };
    assert_eq!(listed_ids(&store, urgent_billing).await, [both.id]);
    let first = store
        .list_tickets(&TicketQuery {
            limit: 1,
            ..with(&["vip"])
        })
        .await
        .unwrap();
    assert_eq!(first.tickets[0].id, both.id);
    let second = store
        .list_tickets(&TicketQuery {
            limit: 1,
            after: first.next,
            ..with(&["vip"])
        })
        .await
        .unwrap();
    assert_eq!(second.tickets[0].id, vip.id);
    assert!(second.next.is_none());
}

async fn label_counts_count_the_tickets_of_any_status_carrying_each(store: Arc<dyn Store>) {
    assert!(store.label_counts().await.unwrap().is_empty());
    let a = open_ticket(&store, "a").await;
    let b = open_ticket(&store, "b").await;
    let c = open_ticket(&store, "c").await;
    store
        .change_ticket(a.id, &relabel(&["billing", "vip"]))
        .await
        .unwrap();
    store
        .change_ticket(b.id, &relabel(&["billing"]))
        .await
        .unwrap();
    store
        .change_ticket(c.id, &relabel(&["zebra", "vip", "billing"]))
        .await
        .unwrap();
    store
        .change_ticket(c.id, &set_status(TicketStatus::Closed, None))
        .await
        .unwrap();
    let counts: Vec<(String, i64)> = store
        .label_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("billing".into(), 3),
            ("vip".into(), 2),
            ("zebra".into(), 1)
        ],
        "closed tickets count too"
    );
    store.change_ticket(c.id, &relabel(&[])).await.unwrap();
    let counts: Vec<(String, i64)> = store
        .label_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.count))
        .collect();
    assert_eq!(
        counts,
        [("billing".into(), 2), ("vip".into(), 1)],
        "a label on no ticket is gone"
    );
}

// ---------------------------------------------------------------------------
// Visitor context (issue 15, point 4)

fn page_report(url: &str) -> PageReport {
    PageReport {
        url: url.into(),
        title: format!("Title of {url}"),
        referrer: None,
        locale: None,
        timezone: None,
    }
}

async fn visitor_pages_come_newest_first_and_only_the_newest_are_kept(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Pages").await;
    let other = open_ticket(&store, "Other pages").await;
    let start = Utc::now().trunc_subsecs(6);
    store
        .record_page(
            other.id,
            &page_report("https://shop.example/other"),
            start,
            20,
        )
        .await
        .unwrap();
    for i in 0..25 {
        let at = start + chrono::Duration::seconds(i);
        let mut page = page_report(&format!("https://shop.example/p/{i}"));
        page.referrer = (i == 24).then(|| "https://search.example/".to_owned());
        store.record_page(ticket.id, &page, at, 20).await.unwrap();
    }
    let pages = store.visitor_pages(ticket.id, 50).await.unwrap();
    let urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
    let expected: Vec<String> = (5..25)
        .rev()
        .map(|i| format!("https://shop.example/p/{i}"))
        .collect();
    assert_eq!(urls, expected, "the newest 20, newest first");
    assert_eq!(
        pages[0].at,
        start + chrono::Duration::seconds(24),
        "its time reads back exactly"
    );
    assert_eq!(pages[0].title, "Title of https://shop.example/p/24");
    assert_eq!(
        pages[0].referrer.as_deref(),
        Some("https://search.example/")
    );
    assert_eq!(pages[1].referrer, None);
    assert_eq!(
        store.visitor_pages(ticket.id, 3).await.unwrap().len(),
        3,
        "the limit holds"
    );
    let others = store.visitor_pages(other.id, 20).await.unwrap();
    assert_eq!(others.len(), 1, "another ticket's pages are not pruned");
    assert!(
        matches!(
            store
                .record_page(999_999, &page_report("https://a.example/"), start, 20)
                .await,
            Err(StoreError::NotFound)
        ),
        "a page of an unknown ticket is not found"
    );
    assert!(store.visitor_pages(999_999, 20).await.unwrap().is_empty());
}

async fn a_page_report_sets_the_locale_and_time_zone_over_the_browser_s_fallback(
    store: Arc<dyn Store>,
) {
    let ticket = open_ticket(&store, "Browser").await;
    assert_eq!(
        store.visitor_info(ticket.id).await.unwrap(),
        VisitorInfo::default()
    );
    store
        .record_visitor_browser(
            ticket.id,
            Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"),
            Some("fr-FR"),
        )
        .await
        .unwrap();
    let info = store.visitor_info(ticket.id).await.unwrap();
    assert_eq!(
        info.locale.as_deref(),
        Some("fr-FR"),
        "Accept-Language is the fallback"
    );
    assert_eq!(
        info.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0")
    );

    let mut page = page_report("https://shop.example/");
    page.locale = Some("de-DE".into());
    page.timezone = Some("Europe/Berlin".into());
    store
        .record_page(ticket.id, &page, Utc::now().trunc_subsecs(6), 20)
        .await
        .unwrap();
    // A later socket: a new user agent wins, its Accept-Language does not replace the app's locale.
    store
        .record_visitor_browser(ticket.id, Some("Chrome/120"), Some("en-US"))
        .await
        .unwrap();
    // A page without locale or time zone keeps both.
    store
        .record_page(
            ticket.id,
            &page_report("https://shop.example/cart"),
            Utc::now().trunc_subsecs(6),
            20,
        )
        .await
        .unwrap();
    let info = store.visitor_info(ticket.id).await.unwrap();
    assert_eq!(
        info,
        VisitorInfo {
            user_agent: Some("Chrome/120".into()),
            locale: Some("de-DE".into()),
            timezone: Some("Europe/Berlin".into()),
        }
    );
    assert!(matches!(
        store.visitor_info(999_999).await,
        Err(StoreError::NotFound)
    ));
}

async fn previous_tickets_share_the_user_id_or_the_email_in_any_case_newest_first(
    store: Arc<dyn Store>,
) {
    let with = |subject: &str, user_id: Option<&str>, email: Option<&str>| NewTicket {
        user_id: user_id.map(str::to_owned),
        user_email: email.map(str::to_owned),
        ..new_ticket(subject)
    };
    let by_email = open_ticket_with(&store, with("first", None, Some("jane@example.com"))).await;
    let by_email_upper =
        open_ticket_with(&store, with("second", None, Some("JANE@Example.COM"))).await;
    let by_user = open_ticket_with(
        &store,
        with("third", Some("user-7"), Some("other@example.com")),
    )
    .await;
    let stranger = open_ticket_with(
        &store,
        with("stranger", Some("user-8"), Some("x@example.com")),
    )
    .await;
    let anonymous = open_ticket_with(&store, with("anonymous", None, None)).await;
    let current = open_ticket_with(
        &store,
        with("now", Some("user-7"), Some("jane@example.com")),
    )
    .await;

    let found = store
        .previous_tickets(current.id, Some("user-7"), Some("jane@example.com"), 20)
        .await
        .unwrap();
    let ids: Vec<i64> = found.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        vec![by_user.id, by_email_upper.id, by_email.id],
        "newest first, never this one"
    );
    assert!(!ids.contains(&stranger.id) && !ids.contains(&anonymous.id));
    assert_eq!(
        found[0].subject, "third",
        "full tickets, as agents see them"
    );

    let limited = store
        .previous_tickets(current.id, Some("user-7"), Some("jane@example.com"), 2)
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    let by_email_only = store
        .previous_tickets(current.id, None, Some("Jane@example.com"), 20)
        .await
        .unwrap();
    assert_eq!(
        by_email_only.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![by_email_upper.id, by_email.id]
    );
    assert!(
        store
            .previous_tickets(anonymous.id, None, None, 20)
            .await
            .unwrap()
            .is_empty(),
        "no user id and no email: no previous conversations"
    );
}

/// The previous-conversations query reads indexes on both backends, never the
/// whole ticket table (PostgreSQL is told to avoid sequential scans, as it would
/// on a table this small; SQLite plans by the indexes alone).
mod previous_tickets_plan {
    use livesupport::store::PREVIOUS_TICKETS_WHERE;

    const INDEXES: [&str; 2] = [
        "idx_support_tickets_user_id",
        "idx_support_tickets_user_email_lower",
    ];

    fn query(explain: &str) -> String {
        format!(
            "{explain} SELECT t.id FROM support_tickets t WHERE {PREVIOUS_TICKETS_WHERE} ORDER BY t.id DESC LIMIT 20"
        )
    }

    #[tokio::test]
    async fn sqlite_finds_previous_tickets_by_index() {
        let (url, _dir) = crate::common::sqlite_database();
        crate::store::connect(&url, 1).await.unwrap();
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&query("EXPLAIN QUERY PLAN"))
            .bind(1_i64)
            .bind("user-1")
            .bind("a@example.com")
            .fetch_all(&pool)
            .await
            .unwrap();
        let plan: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        for index in INDEXES {
            assert!(
                plan.iter().any(|step| step.contains(index)),
                "{index} unused: {plan:?}"
            );
        }
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN t")),
            "a full scan: {plan:?}"
        );
    }

    #[tokio::test]
    async fn postgres_finds_previous_tickets_by_index() {
        let Some(url) = crate::common::postgres_database().await else {
            return;
        };
        crate::store::connect(&url, 1).await.unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut conn)
            .await
            .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(&query("EXPLAIN"))
            .bind(1_i64)
            .bind("user-1")
            .bind("a@example.com")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let plan = plan.join("\n");
        for index in INDEXES {
            assert!(plan.contains(index), "{index} unused:\n{plan}");
        }
    }
}

// ---------------------------------------------------------------------------
// Presence, capacity and routing (issue 16)

/// An agent with an open dashboard socket on a live node.
async fn online_agent(store: &Arc<dyn Store>, email: &str, name: &str, max_chats: i64) -> i64 {
    let id = new_agent(store, email, name).await;
    store
        .update_agent(
            id,
            &AgentUpdate {
                max_chats: Some(max_chats),
                ..AgentUpdate::default()
            },
        )
        .await
        .unwrap();
    store.heartbeat("routing-node").await.unwrap();
    store.open_agent_socket(id, "routing-node").await.unwrap();
    id
}

async fn waiting_ticket(store: &Arc<dyn Store>, subject: &str, priority: Priority) -> Ticket {
    open_ticket_with(
        store,
        NewTicket {
            priority,
            ..new_ticket(subject)
        },
    )
    .await
}

async fn status_of(store: &Arc<dyn Store>, agent_id: i64) -> AgentStatus {
    store.agent_by_id(agent_id).await.unwrap().unwrap().status
}

/// Assigns until nothing is left; returns (ticket, agent) in order.
async fn assign_all(store: &Arc<dyn Store>) -> Vec<(i64, i64)> {
    let mut assigned = Vec::new();
    while let Some(changed) = store.assign_next().await.unwrap() {
        let (agent_id, _) = changed.assigned.clone().expect("names the agent");
        assigned.push((changed.ticket.id, agent_id));
        assert!(assigned.len() < 100, "assign_next must run dry");
    }
    assigned
}

async fn an_agents_status_follows_their_dashboard_sockets_and_chosen_away(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let agent = store.agent_by_id(alice).await.unwrap().unwrap();
    assert_eq!(agent.status, AgentStatus::Offline, "no dashboard yet");
    assert_eq!((agent.max_chats, agent.open_chats), (3, 0), "the defaults");
    store.heartbeat("node-a").await.unwrap();
    let first = store.open_agent_socket(alice, "node-a").await.unwrap();
    let second = store.open_agent_socket(alice, "node-a").await.unwrap();
    assert_eq!(status_of(&store, alice).await, AgentStatus::Online);
    store
        .close_agent_socket(first, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        status_of(&store, alice).await,
        AgentStatus::Online,
        "another tab is open"
    );
    store
        .close_agent_socket(second, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        status_of(&store, alice).await,
        AgentStatus::Online,
        "within the grace of a reload"
    );
    store.revive_agent_sockets(&[second]).await.unwrap();
    let away = store.set_away(alice, true).await.unwrap();
    assert_eq!(away.status, AgentStatus::Away, "a chosen away");
    let back = store.set_away(alice, false).await.unwrap();
    assert_eq!(back.status, AgentStatus::Online);
    store
        .close_agent_socket(second, Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        status_of(&store, alice).await,
        AgentStatus::Offline,
        "every socket closed"
    );
    // A socket on a node without a fresh heartbeat does not count.
    store.open_agent_socket(alice, "silent-node").await.unwrap();
    assert_eq!(status_of(&store, alice).await, AgentStatus::Offline);
}

async fn auto_assignment_goes_by_priority_then_age_to_the_agent_with_most_room(
    store: Arc<dyn Store>,
) {
    let low = waiting_ticket(&store, "Old but low", Priority::Low).await;
    let medium = waiting_ticket(&store, "Medium", Priority::Medium).await;
    let urgent = waiting_ticket(&store, "Urgent", Priority::Urgent).await;
    let medium_later = waiting_ticket(&store, "Medium later", Priority::Medium).await;
    assert!(
        store.assign_next().await.unwrap().is_none(),
        "no agent online"
    );
    let alice = online_agent(&store, "alice@example.com", "Alice", 1).await;
    let bob = online_agent(&store, "bob@example.com", "Bob", 2).await;

    let first = store.assign_next().await.unwrap().expect("an assignment");
    assert_eq!(first.ticket.id, urgent.id, "the highest priority first");
    assert_eq!(first.ticket.status, TicketStatus::Assigned);
    assert_eq!(
        first.ticket.supporter_id,
        Some(alice),
        "both have room; the lower id"
    );
    assert_eq!(first.notes.len(), 1);
    assert_eq!(first.notes[0].message, "Alice joined the chat");
    assert_eq!(
        first.notes[0].visibility,
        Visibility::Public,
        "the visitor sees the join"
    );
    assert_eq!(first.notes[0].sender_type, SenderType::System);

    let rest = assign_all(&store).await;
    assert_eq!(
        rest,
        vec![(medium.id, bob), (medium_later.id, bob)],
        "then by age; Alice is full at 1, Bob at 2"
    );
    let bob_now = store.agent_by_id(bob).await.unwrap().unwrap();
    assert_eq!(bob_now.open_chats, 2);
    let waiting = store
        .ticket_by_id(low.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(
        (waiting.status, waiting.supporter_id),
        (TicketStatus::Open, None),
        "nobody has room"
    );

    // Freeing room assigns the rest.
    store
        .change_ticket(
            urgent.id,
            &set_status(TicketStatus::Resolved, Some((alice, "Alice"))),
        )
        .await
        .unwrap();
    assert_eq!(assign_all(&store).await, vec![(low.id, alice)]);
}

async fn auto_assignment_prefers_the_agent_assigned_least_recently_among_equals(
    store: Arc<dyn Store>,
) {
    let alice = online_agent(&store, "alice@example.com", "Alice", 5).await;
    let bob = online_agent(&store, "bob@example.com", "Bob", 5).await;
    let first = waiting_ticket(&store, "First", Priority::Medium).await;
    assert_eq!(assign_all(&store).await, vec![(first.id, alice)]);
    // Alice's ticket is done: both hold none, Bob waited longer.
    store
        .change_ticket(
            first.id,
            &set_status(TicketStatus::Resolved, Some((alice, "Alice"))),
        )
        .await
        .unwrap();
    let second = waiting_ticket(&store, "Second", Priority::Medium).await;
    assert_eq!(assign_all(&store).await, vec![(second.id, bob)]);
    let third = waiting_ticket(&store, "Third", Priority::Medium).await;
    assert_eq!(
        assign_all(&store).await,
        vec![(third.id, alice)],
        "the fewest open chats first"
    );
}

async fn auto_assignment_gives_nothing_to_away_offline_or_full_agents(store: Arc<dyn Store>) {
    let away = online_agent(&store, "away@example.com", "Away", 3).await;
    store.set_away(away, true).await.unwrap();
    let _offline = new_agent(&store, "off@example.com", "Off").await;
    let _never = online_agent(&store, "zero@example.com", "Zero", 0).await;
    let ticket = waiting_ticket(&store, "Anyone?", Priority::Urgent).await;
    assert!(store.assign_next().await.unwrap().is_none());
    let disabled = online_agent(&store, "dis@example.com", "Dis", 3).await;
    store
        .update_agent(
            disabled,
            &AgentUpdate {
                disabled: Some(true),
                ..AgentUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(
        store.assign_next().await.unwrap().is_none(),
        "nor to a disabled agent"
    );
    store.set_away(away, false).await.unwrap();
    assert_eq!(
        assign_all(&store).await,
        vec![(ticket.id, away)],
        "back online"
    );
    // An explicit assignment may go above max_chats; auto-assignment then gives nothing.
    let full = waiting_ticket(&store, "Full", Priority::Low).await;
    for i in 0..3 {
        let extra = open_ticket(&store, &format!("extra {i}")).await;
        store
            .change_ticket(extra.id, &assign(away, "Away"))
            .await
            .unwrap();
    }
    assert!(
        store.assign_next().await.unwrap().is_none(),
        "above max_chats"
    );
    let waiting = store
        .ticket_by_id(full.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(waiting.status, TicketStatus::Open);
}

async fn tickets_of_an_agent_gone_offline_return_to_the_queue_unless_answered(
    store: Arc<dyn Store>,
) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    store.heartbeat("routing-node").await.unwrap();
    let socket = store
        .open_agent_socket(alice, "routing-node")
        .await
        .unwrap();
    let untouched = waiting_ticket(&store, "Untouched", Priority::High).await;
    let answered = waiting_ticket(&store, "Answered", Priority::Medium).await;
    assert_eq!(
        assign_all(&store).await,
        vec![(untouched.id, alice), (answered.id, alice)]
    );
    store
        .append_message(answered.id, &from_agent(alice, "Hello!"))
        .await
        .unwrap();
    assert!(
        store.requeue_abandoned().await.unwrap().is_empty(),
        "Alice is online"
    );

    store
        .close_agent_socket(socket, Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let requeued = store.requeue_abandoned().await.unwrap();
    assert_eq!(requeued.len(), 1, "only the ticket she never answered");
    let back = &requeued[0];
    assert_eq!(back.ticket.id, untouched.id);
    assert_eq!(
        (back.ticket.status, back.ticket.supporter_id),
        (TicketStatus::Open, None)
    );
    assert_eq!(back.notes.len(), 1);
    assert_eq!(
        back.notes[0].message,
        "Returned to the queue: Alice went offline"
    );
    assert_eq!(back.notes[0].visibility, Visibility::Internal);
    let kept = store
        .ticket_by_id(answered.id, SenderType::Supporter)
        .await
        .unwrap();
    assert_eq!(
        (kept.status, kept.supporter_id),
        (TicketStatus::InProgress, Some(alice))
    );
    assert!(store.requeue_abandoned().await.unwrap().is_empty(), "once");
}

async fn a_transfer_notes_who_moved_it_and_announces_the_new_agent(store: Arc<dyn Store>) {
    let alice = new_agent(&store, "alice@example.com", "Alice").await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    let ticket = open_ticket(&store, "Transfer me").await;
    let changed = store
        .transfer_ticket(ticket.id, (alice, "Alice"), (bob, "Bob"))
        .await
        .unwrap();
    assert_eq!(
        changed.ticket.status,
        TicketStatus::Assigned,
        "open becomes assigned"
    );
    assert_eq!(changed.ticket.supporter_id, Some(alice));
    let texts: Vec<(&str, Visibility)> = changed
        .notes
        .iter()
        .map(|n| (n.message.as_str(), n.visibility))
        .collect();
    assert_eq!(
        texts,
        vec![
            ("Transferred to Alice by Bob", Visibility::Internal),
            ("Alice joined the chat", Visibility::Public)
        ]
    );
    assert_eq!(changed.assigned, Some((alice, "Alice".to_owned())));
    store
        .append_message(ticket.id, &from_agent(alice, "Hi"))
        .await
        .unwrap();
    let again = store
        .transfer_ticket(ticket.id, (bob, "Bob"), (alice, "Alice"))
        .await
        .unwrap();
    assert_eq!(
        again.ticket.status,
        TicketStatus::InProgress,
        "other statuses stay"
    );
    assert_eq!(
        again.notes[0].message,
        "Transferred from Alice to Bob by Alice"
    );
    let same = store
        .transfer_ticket(ticket.id, (bob, "Bob"), (bob, "Bob"))
        .await
        .unwrap();
    assert!(same.notes.is_empty(), "to the agent who holds it: nothing");
    store
        .change_ticket(
            ticket.id,
            &set_status(TicketStatus::Closed, Some((bob, "Bob"))),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .transfer_ticket(ticket.id, (alice, "Alice"), (bob, "Bob"))
            .await,
        Err(StoreError::TicketClosed)
    ));
    assert!(matches!(
        store
            .transfer_ticket(999_999, (alice, "Alice"), (bob, "Bob"))
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn queue_positions_follow_the_assignment_order_and_count_online_agents(
    store: Arc<dyn Store>,
) {
    let low = waiting_ticket(&store, "Low", Priority::Low).await;
    let high = waiting_ticket(&store, "High", Priority::High).await;
    let medium = waiting_ticket(&store, "Medium", Priority::Medium).await;
    let taken = waiting_ticket(&store, "Taken", Priority::Urgent).await;
    let bob = new_agent(&store, "bob@example.com", "Bob").await;
    store
        .change_ticket(taken.id, &assign(bob, "Bob"))
        .await
        .unwrap();
    let snapshot = store
        .queue_snapshot(&[low.id, high.id, medium.id, taken.id])
        .await
        .unwrap();
    let mut positions = snapshot.positions.clone();
    positions.sort();
    let mut expected = vec![(low.id, 3), (high.id, 1), (medium.id, 2)];
    expected.sort();
    assert_eq!(positions, expected, "a taken ticket has no position");
    assert_eq!((snapshot.agents_online, snapshot.waiting), (0, 3));
    online_agent(&store, "alice@example.com", "Alice", 0).await;
    let snapshot = store.queue_snapshot(&[]).await.unwrap();
    assert_eq!(snapshot.agents_online, 1);
    assert!(snapshot.positions.is_empty());
}

async fn settings_read_as_defaults_until_saved_and_keep_unknown_fields(store: Arc<dyn Store>) {
    let settings = store.settings().await.unwrap();
    assert_eq!(settings, Settings::default());
    let mut changed: Settings =
        serde_json::from_str(r#"{"assignment":"manual","away_after_minutes":0,"later":{"x":1}}"#)
            .unwrap();
    store.save_settings(&changed).await.unwrap();
    let read = store.settings().await.unwrap();
    assert_eq!(read, changed);
    assert_eq!(read.assignment, AssignmentMode::Manual);
    changed.away_after_minutes = 7;
    store.save_settings(&changed).await.unwrap();
    assert_eq!(store.settings().await.unwrap().away_after_minutes, 7);
    // With auto-away off, an agent idle for ever stays online; with it on, the
    // store's SQL reads the stored minutes (the agent's activity is fresh here).
    let alice = online_agent(&store, "alice@example.com", "Alice", 3).await;
    assert_eq!(status_of(&store, alice).await, AgentStatus::Online);
}

async fn racing_assignments_never_exceed_max_chats_nor_assign_a_ticket_twice(
    store: Arc<dyn Store>,
) {
    let capacities = [1, 2, 3];
    let mut agents = Vec::new();
    for (i, max_chats) in capacities.iter().enumerate() {
        let id = online_agent(
            &store,
            &format!("a{i}@example.com"),
            &format!("Agent {i}"),
            *max_chats,
        )
        .await;
        agents.push((id, *max_chats));
    }
    let mut tickets = Vec::new();
    for i in 0..10 {
        tickets.push(
            waiting_ticket(&store, &format!("Race {i}"), Priority::Medium)
                .await
                .id,
        );
    }
    // Eight callers race, as eight nodes' routers would.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    match store.assign_next().await {
                        Ok(Some(changed)) => mine.push(changed.ticket.id),
                        Ok(None) => return mine,
                        Err(err) if err.to_string().contains("locked") => continue,
                        Err(err) => panic!("assign_next failed: {err}"),
                    }
                }
            })
        })
        .collect();
    let mut assigned = Vec::new();
    for racer in racers {
        assigned.extend(racer.await.unwrap());
    }
    // A racer that found every candidate locked by the others stops early (the
    // router's next round goes on): one more pass fills what may be left.
    assigned.extend(
        assign_all(&store)
            .await
            .into_iter()
            .map(|(ticket, _)| ticket),
    );
    let distinct: HashSet<i64> = assigned.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        assigned.len(),
        "no ticket assigned twice: {assigned:?}"
    );
    assert_eq!(assigned.len(), 6, "every place filled, no more");
    for (id, max_chats) in agents {
        let agent = store.agent_by_id(id).await.unwrap().unwrap();
        assert_eq!(agent.open_chats, max_chats, "agent {id} is full, not above");
    }
    let mut waiting = 0;
    for id in tickets {
        let ticket = store.ticket_by_id(id, SenderType::Supporter).await.unwrap();
        let notes = all_messages(&store, id).await;
        let joins = notes
            .iter()
            .filter(|m| m.message.ends_with("joined the chat"))
            .count();
        match ticket.status {
            TicketStatus::Open => waiting += 1,
            TicketStatus::Assigned => assert_eq!(joins, 1, "one join note on ticket {id}"),
            other => panic!("ticket {id} is {other}"),
        }
    }
    assert_eq!(waiting, 4);
}

// ---------- attachments (issue 17) ----------

fn new_upload(ticket_id: i64, key: &str, at: DateTime<Utc>) -> store::NewAttachment {
    store::NewAttachment {
        ticket_id,
        storage_key: key.to_owned(),
        filename: "screen.png".into(),
        content_type: "image/png".into(),
        width: Some(640),
        height: Some(480),
        created_at: at,
    }
}

fn range_all() -> MessageRange {
    MessageRange {
        after_seq: 0,
        before_seq: None,
        limit: 10_000,
    }
}

fn with_file(mut draft: MessageDraft, id: i64, size: i64) -> MessageDraft {
    draft.attachments = vec![livesupport::domain::Attachment {
        id,
        filename: "screen.png".into(),
        content_type: "image/png".into(),
        size,
        width: Some(640),
        height: Some(480),
        url: None,
    }];
    draft
}

async fn a_message_takes_its_pending_upload_and_history_shows_the_file(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Broken parcel").await;
    let missing = store
        .create_attachment(&new_upload(999_999, "k/none", Utc::now()))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    let id = store
        .create_attachment(&new_upload(ticket.id, "tickets/1/a", Utc::now()))
        .await
        .unwrap();
    let pending = store.attachment(id).await.unwrap();
    assert_eq!((pending.message_id, pending.deleted), (None, false));

    let appended = store
        .append_message(ticket.id, &with_file(from_user(""), id, 4_096))
        .await
        .unwrap();
    let file = &appended.message.attachments[0];
    assert_eq!((file.id, file.size, file.width), (id, 4_096, Some(640)));
    assert_eq!(file.url, None, "URLs are signed when read, never stored");
    let taken = store.attachment(id).await.unwrap();
    assert_eq!(taken.message_id, Some(appended.message.id));
    assert_eq!(taken.size, 4_096);
    assert_eq!(taken.storage_key, "tickets/1/a");

    for slice in [
        store.messages(ticket.id, range_all()).await.unwrap(),
        store.public_messages(ticket.id, range_all()).await.unwrap(),
    ] {
        assert_eq!(slice.messages[0].attachments, appended.message.attachments);
    }
    // Taken once: no other message can take it, and it cannot be given up.
    let again = store
        .append_message(ticket.id, &with_file(from_user("again"), id, 1))
        .await;
    assert!(again.is_err());
    assert!(!store.abandon_attachment(id).await.unwrap());
    // A message without files stores none.
    let plain = store
        .append_message(ticket.id, &from_user("hi"))
        .await
        .unwrap();
    assert!(plain.message.attachments.is_empty());
}

async fn an_abandoned_upload_can_be_taken_by_no_message(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Invoice").await;
    let other = open_ticket(&store, "Another").await;
    let id = store
        .create_attachment(&new_upload(ticket.id, "tickets/2/a", Utc::now()))
        .await
        .unwrap();
    // Another ticket's message cannot take it.
    assert!(
        store
            .append_message(other.id, &with_file(from_user(""), id, 10))
            .await
            .is_err()
    );
    assert!(store.abandon_attachment(id).await.unwrap());
    assert!(!store.abandon_attachment(id).await.unwrap(), "once");
    assert!(
        store
            .append_message(ticket.id, &with_file(from_user(""), id, 10))
            .await
            .is_err()
    );
    assert_eq!(
        store
            .messages(ticket.id, range_all())
            .await
            .unwrap()
            .messages
            .len(),
        0
    );
    store.forget_attachment(id).await.unwrap();
    assert!(matches!(
        store.attachment(id).await,
        Err(StoreError::NotFound)
    ));
}

async fn the_sweep_finds_orphans_and_files_past_the_retention(store: Arc<dyn Store>) {
    let ticket = open_ticket(&store, "Sweep").await;
    let now = Utc::now().trunc_subsecs(6);
    let hours = |h: i64| now - chrono::Duration::hours(h);
    let old_orphan = store
        .create_attachment(&new_upload(ticket.id, "o/old", hours(3)))
        .await
        .unwrap();
    let young_orphan = store
        .create_attachment(&new_upload(ticket.id, "o/young", now))
        .await
        .unwrap();
    let old_file = store
        .create_attachment(&new_upload(ticket.id, "f/old", hours(50)))
        .await
        .unwrap();
    let young_file = store
        .create_attachment(&new_upload(ticket.id, "f/young", hours(2)))
        .await
        .unwrap();
    for id in [old_file, young_file] {
        store
            .append_message(ticket.id, &with_file(from_user(""), id, 1))
            .await
            .unwrap();
    }
    let keys = |items: Vec<store::SweepItem>| -> Vec<(String, store::SweepReason)> {
        items
            .into_iter()
            .map(|i| (i.storage_key, i.reason))
            .collect()
    };
    // No retention: the orphans older than an hour only.
    let due = store
        .attachments_to_sweep(hours(1), None, 100)
        .await
        .unwrap();
    assert_eq!(
        keys(due),
        vec![("o/old".to_owned(), store::SweepReason::Orphan)]
    );
    // A retention of a day: the old message's file too, oldest first.
    let due = store
        .attachments_to_sweep(hours(1), Some(hours(24)), 100)
        .await
        .unwrap();
    assert_eq!(
        keys(due),
        vec![
            ("f/old".to_owned(), store::SweepReason::Retention),
            ("o/old".to_owned(), store::SweepReason::Orphan)
        ]
    );
    let due = store
        .attachments_to_sweep(hours(1), Some(hours(24)), 1)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "the limit holds");
    // Deleted files are not found again; the message keeps its copy.
    store.mark_attachment_deleted(old_file).await.unwrap();
    assert!(store.attachment(old_file).await.unwrap().deleted);
    store.abandon_attachment(old_orphan).await.unwrap();
    store.forget_attachment(old_orphan).await.unwrap();
    let due = store
        .attachments_to_sweep(hours(1), Some(hours(24)), 100)
        .await
        .unwrap();
    assert!(due.is_empty(), "{due:?}");
    let history = store.messages(ticket.id, range_all()).await.unwrap();
    assert_eq!(history.messages[0].attachments[0].id, old_file);
    let _ = (young_orphan, young_file);
}

// ---------------------------------------------------------------------------
// Email (issue 18)

fn email_to(to: &str, ticket_id: Option<i64>, at: DateTime<Utc>) -> store::NewEmail {
    use livesupport::domain::email::{EmailKind, new_message_id};
    store::NewEmail {
        kind: EmailKind::Transcript,
        ticket_id,
        to: to.into(),
        subject: format!("to {to}"),
        body_text: "text".into(),
        body_html: "<p>html</p>".into(),
        message_id: new_message_id(EmailKind::Transcript, ticket_id, "shop.example"),
        by_visitor: false,
        created_at: at,
    }
}

async fn claimed_emails_are_leased_to_one_node_until_sent_failed_or_the_lease_ends(
    store: Arc<dyn Store>,
) {
    use livesupport::domain::email::EmailStatus;
    let now = Utc::now().trunc_subsecs(6);
    let later = |s: i64| now + chrono::Duration::seconds(s);
    let a = store
        .enqueue_email(&email_to("a@example.com", None, now))
        .await
        .unwrap();
    let b = store
        .enqueue_email(&email_to("b@example.com", None, now))
        .await
        .unwrap();
    assert_eq!(
        (a.status, a.attempts, a.next_attempt_at),
        (EmailStatus::Pending, 0, Some(now))
    );

    let first = store
        .claim_emails("node-1", now, later(60), 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].id, first[0].attempts), (a.id, 1));
    assert_eq!(first[0].body_html, "<p>html</p>");
    let second = store
        .claim_emails("node-2", now, later(60), 10)
        .await
        .unwrap();
    assert_eq!(
        second.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![b.id],
        "a leased email is not claimed again"
    );
    assert!(
        store
            .claim_emails("node-3", later(30), later(90), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A failure makes it pending again from its retry; the last one fails it.
    store
        .email_failed(a.id, "421 try later", Some(later(120)))
        .await
        .unwrap();
    assert!(
        store
            .claim_emails("node-3", later(61), later(120), 10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.id != a.id)
    );
    store.email_sent(b.id, later(1)).await.unwrap();
    let again = store
        .claim_emails("node-3", later(121), later(180), 10)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|e| (e.id, e.attempts)).collect::<Vec<_>>(),
        vec![(a.id, 2)]
    );
    // A node that died with its lease: the email is claimed again after it.
    let retaken = store
        .claim_emails("node-4", later(181), later(240), 10)
        .await
        .unwrap();
    assert_eq!(
        retaken
            .iter()
            .map(|e| (e.id, e.attempts))
            .collect::<Vec<_>>(),
        vec![(a.id, 3)]
    );
    store
        .email_failed(a.id, "550 no such user", None)
        .await
        .unwrap();
    assert!(
        store
            .claim_emails("node-4", later(999), later(1999), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let listed = store
        .outbox(&store::OutboxQuery {
            status: None,
            limit: 10,
            before: None,
        })
        .await
        .unwrap();
    let a = listed.iter().find(|e| e.id == a.id).unwrap();
    assert_eq!(
        (a.status, a.attempts, a.next_attempt_at),
        (EmailStatus::Failed, 3, None)
    );
    assert_eq!(a.last_error.as_deref(), Some("550 no such user"));
    let b = listed.iter().find(|e| e.id == b.id).unwrap();
    assert_eq!((b.status, b.sent_at), (EmailStatus::Sent, Some(later(1))));
    // A late failure of an email sent meanwhile (by another node) keeps it sent.
    store
        .email_failed(b.id, "timed out", Some(later(5)))
        .await
        .unwrap();
    let listed = store
        .outbox(&store::OutboxQuery {
            status: Some(EmailStatus::Sent),
            limit: 10,
            before: None,
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![b.id]);
}

async fn the_outbox_pages_newest_first_and_counts_its_backlog(store: Arc<dyn Store>) {
    use livesupport::domain::email::EmailKind;
    assert_eq!(store.outbox_backlog().await.unwrap(), (0, None));
    let ticket = open_ticket(&store, "Transcripts").await;
    let start = Utc::now().trunc_subsecs(6) - chrono::Duration::minutes(90);
    let mut ids = vec![];
    for minute in 0..5 {
        let at = start + chrono::Duration::minutes(minute * 20);
        let mut email = email_to(&format!("{minute}@example.com"), Some(ticket.id), at);
        email.by_visitor = minute % 2 == 0;
        ids.push(store.enqueue_email(&email).await.unwrap().id);
    }
    assert_eq!(store.outbox_backlog().await.unwrap(), (5, Some(start)));
    let page = |before| store::OutboxQuery {
        status: None,
        limit: 2,
        before,
    };
    let first: Vec<i64> = store
        .outbox(&page(None))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(first, vec![ids[4], ids[3]]);
    let next: Vec<i64> = store
        .outbox(&page(Some(ids[3])))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(next, vec![ids[2], ids[1]]);
    // The visitor asked for the 1st, 3rd and 5th (90, 50 and 10 minutes ago):
    // two in the last hour.
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    assert_eq!(
        store
            .count_visitor_emails(ticket.id, EmailKind::Transcript, hour_ago)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_visitor_emails(ticket.id, EmailKind::FollowUp, hour_ago)
            .await
            .unwrap(),
        0
    );
    let claimed = store
        .claim_emails(
            "n",
            Utc::now(),
            Utc::now() + chrono::Duration::minutes(1),
            10,
        )
        .await
        .unwrap();
    store.email_sent(claimed[0].id, Utc::now()).await.unwrap();
    let (pending, oldest) = store.outbox_backlog().await.unwrap();
    assert_eq!(
        (pending, oldest),
        (4, Some(start + chrono::Duration::minutes(20)))
    );
}

async fn a_follow_up_moves_the_emailed_mark_once(store: Arc<dyn Store>) {
    let agent = new_agent(&store, "follow@example.com", "Alice").await;
    let ticket = open_ticket(&store, "Follow me").await;
    store
        .change_ticket(ticket.id, &assign(agent, "Alice"))
        .await
        .unwrap();
    store
        .append_message(ticket.id, &from_agent(agent, "Reply one"))
        .await
        .unwrap();
    let last = store
        .append_message(ticket.id, &from_agent(agent, "Reply two"))
        .await
        .unwrap()
        .message
        .seq;
    let future = Utc::now() + chrono::Duration::minutes(10);
    let week_ago = Utc::now() - chrono::Duration::days(7);
    // The ticket of `open_ticket` has a visitor email and no socket.
    let due = store.follow_ups_due(future, week_ago, 10).await.unwrap();
    assert_eq!(due, vec![(ticket.id, 0)]);
    assert!(
        store
            .follow_ups_due(Utc::now() - chrono::Duration::minutes(10), week_ago, 10)
            .await
            .unwrap()
            .is_empty(),
        "replies younger than the quiet time wait"
    );
    let email = email_to("visitor@example.com", Some(ticket.id), Utc::now());
    assert!(
        store
            .enqueue_follow_up(ticket.id, 0, last, &email)
            .await
            .unwrap()
            .is_some()
    );
    let again = email_to("visitor@example.com", Some(ticket.id), Utc::now());
    assert!(
        store
            .enqueue_follow_up(ticket.id, 0, last, &again)
            .await
            .unwrap()
            .is_none(),
        "another node's copy is not written"
    );
    assert!(
        store
            .follow_ups_due(future, week_ago, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.outbox_backlog().await.unwrap().0, 1);
    // A visitor's open socket (on a live node) holds follow-ups back.
    store
        .append_message(ticket.id, &from_agent(agent, "Reply three"))
        .await
        .unwrap();
    store.heartbeat("node-x").await.unwrap();
    let session = store
        .open_session(&NewSession {
            ticket_id: ticket.id,
            role: SenderType::User,
            user_id: None,
            supporter_id: None,
            node_id: "node-x".into(),
        })
        .await
        .unwrap();
    assert!(
        store
            .follow_ups_due(future, week_ago, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let quiet_since = Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.end_session(session).await.unwrap();
    assert!(
        store
            .follow_ups_due(quiet_since, week_ago, 10)
            .await
            .unwrap()
            .is_empty(),
        "the visitor left after the quiet time began"
    );
    assert_eq!(
        store.follow_ups_due(future, week_ago, 10).await.unwrap(),
        vec![(ticket.id, last)]
    );
}
