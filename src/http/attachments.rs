//! Files in the chat (issue 17): the upload routes of visitors and agents
//! (multipart, streamed to the storage by [`crate::chat::attachments`]), and
//! the download route behind the signed URLs messages carry. docs/API.md §
//! "Attachments" is the contract.

use super::extract::{ClientIp, CurrentAgent, PathKey};
use super::guest::ticket_of_session;
use super::tickets::load;
use super::{AppState, check_rate};
use crate::chat::attachments::UploadedFile;
use crate::domain::attachment::{UrlError, content_disposition};
use crate::domain::validation;
use crate::domain::{Message, MessageDraft, SenderType, Ticket, TicketStatus, Visibility};
use crate::error::{ApiError, ErrorEnvelope};
use crate::storage::StorageError;
use crate::store::StoreError;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use std::time::Duration;

/// Room in an upload's body for the form around the file (boundaries, headers,
/// caption, client_msg_id); the file's own limit is checked as it streams.
const FORM_OVERHEAD_BYTES: usize = 256 * 1024;

/// The most bytes a text field of the form (caption, client_msg_id) may have.
const TEXT_FIELD_BYTES: usize = 64 * 1024;

/// The upload routes, with their own body limit and time-out (a file takes
/// longer than a JSON body to arrive).
pub fn upload_router(max_upload_bytes: u64, timeout: Duration) -> Router<AppState> {
    let body_limit = usize::try_from(max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(FORM_OVERHEAD_BYTES);
    let routes = Router::new()
        .route("/api/support/ticket/{key}/attachments", post(guest_upload))
        .route("/api/support/tickets/{key}/attachments", post(agent_upload))
        .layer(DefaultBodyLimit::max(body_limit));
    super::with_timeout(routes, timeout)
}

/// Attachments' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(guest_upload, agent_upload, download))]
pub struct Api;

/// An upload's form (`multipart/form-data`), as the description shows it:
/// [`read_form`] reads it field by field as it streams.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Read by the description only.
struct UploadForm {
    /// The file (one); its type is sniffed from its bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Text sent with the file (at most 8192 characters).
    caption: Option<String>,
    /// 1 to 64 characters; a resend with the same key answers the first message.
    #[schema(max_length = 64)]
    client_msg_id: Option<String>,
}

/// The download route (its response is quick; the body streams after).
pub fn router() -> Router<AppState> {
    Router::new().route("/api/support/attachments/{token}", get(download))
}

/// The visitor sends a file on their ticket (the session id is the capability).
#[utoipa::path(
    post,
    path = "/api/support/ticket/{session_id}/attachments",
    tag = "guest",
    summary = "Send a file on the visitor's ticket",
    params(super::guest::SessionPath),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The stored message with its attachment", body = Message),
        (status = 200, description = "A resend of a stored `client_msg_id`: the first message", body = Message),
        (status = 400, description = "`validation_failed` naming the field (`file` for none, a second one, an empty or unreadable image)", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown session", body = ErrorEnvelope),
        (status = 409, description = "`ticket_closed` or `client_msg_id_reused`", body = ErrorEnvelope),
        (status = 413, description = "`payload_too_large`: over MAX_UPLOAD_BYTES", body = ErrorEnvelope),
        (status = 415, description = "`unsupported_media_type`: a sniffed type UPLOAD_TYPES does not allow", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`: uploads per ticket or per client IP", body = ErrorEnvelope),
    ),
)]
async fn guest_upload(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    PathKey(key): PathKey,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let ticket = ticket_of_session(&state, &key).await?;
    open_for_files(&ticket)?;
    check_rate("uploads_ticket", &state.limiters.uploads, &ticket.id)?;
    check_rate("uploads_ip", &state.limiters.upload_ips, &ip)?;
    let form = read_form(&state, &ticket, form?).await?;
    let draft = form.draft(SenderType::User, None, ticket.user_name.clone());
    let appended = state.chat.append_file(ticket.id, draft, form.file).await?;
    // The visitor's view: numbered in their own stream.
    let message = appended.message.for_visitor().ok_or(ApiError::Internal)?;
    Ok((created_or_resent(appended.duplicate), Json(message)))
}

/// An agent sends a file on a ticket.
#[utoipa::path(
    post,
    path = "/api/support/tickets/{ticket_id}/attachments",
    tag = "agent",
    summary = "Send a file on a ticket",
    params(super::tickets::TicketPath),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The stored message with its attachment", body = Message),
        (status = 200, description = "A resend of a stored `client_msg_id`: the first message", body = Message),
        (status = 400, description = "`validation_failed` naming the field (`file` for none, a second one, an empty or unreadable image)", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorEnvelope),
        (status = 409, description = "`ticket_closed` or `client_msg_id_reused`", body = ErrorEnvelope),
        (status = 413, description = "`payload_too_large`: over MAX_UPLOAD_BYTES", body = ErrorEnvelope),
        (status = 415, description = "`unsupported_media_type`: a sniffed type UPLOAD_TYPES does not allow", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`: uploads per ticket", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
async fn agent_upload(
    State(state): State<AppState>,
    CurrentAgent(agent): CurrentAgent,
    PathKey(raw_id): PathKey,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let ticket = load(&state, &raw_id).await?;
    open_for_files(&ticket)?;
    check_rate("uploads_ticket", &state.limiters.uploads, &ticket.id)?;
    let form = read_form(&state, &ticket, form?).await?;
    let draft = form.draft(SenderType::Supporter, Some(agent.id), agent.name.clone());
    let appended = state.chat.append_file(ticket.id, draft, form.file).await?;
    Ok((
        created_or_resent(appended.duplicate),
        Json(appended.message),
    ))
}

/// A closed ticket takes no file: refused before anything is uploaded.
fn open_for_files(ticket: &Ticket) -> Result<(), ApiError> {
    if ticket.status == TicketStatus::Closed {
        Err(ApiError::TicketClosed)
    } else {
        Ok(())
    }
}

/// `201` for a new message, `200` for a resend answered with the first one.
fn created_or_resent(duplicate: bool) -> StatusCode {
    if duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    }
}

/// An upload's form, read: the file already in the storage.
struct Form {
    file: UploadedFile,
    caption: String,
    client_msg_id: Option<String>,
}

impl Form {
    fn draft(&self, sender_type: SenderType, sender_id: Option<i64>, name: String) -> MessageDraft {
        MessageDraft {
            sender_type,
            sender_id,
            sender_name: Some(name),
            text: self.caption.clone(),
            client_msg_id: self.client_msg_id.clone(),
            visibility: Visibility::Public,
            attachments: Vec::new(),
        }
    }
}

/// Reads the form's fields in the order they come: the file streams to the
/// storage as it arrives; the text fields are small and checked like a
/// message's. Any error drops the file read so far (and so deletes it).
async fn read_form(
    state: &AppState,
    ticket: &Ticket,
    mut form: Multipart,
) -> Result<Form, ApiError> {
    let limits = &state.settings.limits;
    let mut file: Option<UploadedFile> = None;
    let mut caption: Option<String> = None;
    let mut client_msg_id: Option<String> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|err| form_error(state, err))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                if file.is_some() {
                    return Err(ApiError::validation("file", "send one file per message"));
                }
                let client_filename = field.file_name().unwrap_or_default().to_owned();
                let max_bytes = state.chat.attachments.max_bytes;
                let chunks =
                    field.map(move |chunk| chunk.map_err(|err| multipart_error(max_bytes, err)));
                let received = state
                    .chat
                    .attachments
                    .receive(&state.store, ticket.id, &client_filename, Box::pin(chunks))
                    .await?;
                file = Some(received);
            }
            "caption" if caption.is_none() => {
                let text = text_field(state, field, "caption").await?;
                caption = Some(validation::caption_text("caption", &text, limits)?);
            }
            "client_msg_id" if client_msg_id.is_none() => {
                let text = text_field(state, field, "client_msg_id").await?;
                client_msg_id = validation::client_msg_id(Some(&text), limits)?;
            }
            "caption" | "client_msg_id" => {
                return Err(ApiError::validation(
                    &name,
                    format!("{name} is given twice"),
                ));
            }
            _ => {
                let field_name = if name.is_empty() {
                    "form"
                } else {
                    name.as_str()
                };
                return Err(ApiError::validation(
                    field_name,
                    "unknown field: the form takes file, caption and client_msg_id",
                ));
            }
        }
    }
    let file = file.ok_or_else(|| ApiError::validation("file", "file is required"))?;
    Ok(Form {
        file,
        caption: caption.unwrap_or_default(),
        client_msg_id,
    })
}

/// A small text field of the form, whole.
async fn text_field(
    state: &AppState,
    mut field: Field<'_>,
    name: &str,
) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|err| form_error(state, err))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > TEXT_FIELD_BYTES {
            return Err(ApiError::validation(name, format!("{name} is too long")));
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::validation(name, format!("{name} must be UTF-8 text")))
}

fn form_error(state: &AppState, err: MultipartError) -> ApiError {
    multipart_error(state.chat.attachments.max_bytes, err)
}

/// A form that cannot be read: too large a body is 413, anything else 400.
fn multipart_error(max_bytes: u64, err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::FileTooLarge(max_bytes)
    } else {
        ApiError::validation(
            "file",
            format!("the form cannot be read: {}", err.body_text()),
        )
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(rejection: MultipartRejection) -> Self {
        ApiError::validation(
            "file",
            format!(
                "send the file as multipart/form-data ({})",
                rejection.body_text()
            ),
        )
    }
}

/// The Content-Security-Policy of a download: no script, no plugin, no frame,
/// nothing loaded but the file itself (an image shown on its own needs `img-src`).
const DOWNLOAD_CSP: &str = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'";

/// Serves a file behind a signed URL: 404 for a token that is not ours (or a
/// file gone), 403 for one that has expired.
#[utoipa::path(
    get,
    path = "/api/support/attachments/{token}",
    tag = "public",
    summary = "A file, behind the signed URL its message carries",
    params(("token" = String, Path, description = "The signed token of the attachment's `url`")),
    responses(
        (status = 200, description = "The file, with its stored type", content_type = "*/*", body = Vec<u8>),
        (status = 403, description = "`forbidden`: the link has expired", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: not a valid token, or the file is gone", body = ErrorEnvelope),
    ),
)]
async fn download(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let attachments = &state.chat.attachments;
    let id = match attachments
        .urls
        .verify(&token, chrono::Utc::now().timestamp())
    {
        Ok(id) => id,
        Err(UrlError::Invalid) => return Err(ApiError::NotFound("attachment")),
        Err(UrlError::Expired) => {
            return Err(ApiError::Forbidden(
                "this link has expired: open the conversation again for a fresh one",
            ));
        }
    };
    let stored = match state.store.attachment(id).await {
        Err(StoreError::NotFound) => return Err(ApiError::NotFound("attachment")),
        other => other?,
    };
    super::record_ticket(stored.ticket_id);
    if stored.message_id.is_none() || stored.deleted {
        return Err(ApiError::NotFound("attachment"));
    }
    let file = match attachments.storage.get(&stored.storage_key).await {
        Ok(file) => file,
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("attachment")),
        Err(err) => {
            tracing::warn!(cause = %err, attachment_id = id, "attachment storage failed");
            return Err(ApiError::Unavailable);
        }
    };
    let content_type = if stored.content_type.starts_with("text/") {
        format!("{}; charset=utf-8", stored.content_type)
    } else {
        stored.content_type.clone()
    };
    let inline = stored.content_type.starts_with("image/");
    let header_value = |value: &str| HeaderValue::from_str(value).map_err(|_| ApiError::Internal);
    let mut response = Body::from_stream(file.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(&content_type)?);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    headers.insert(
        header::CONTENT_DISPOSITION,
        header_value(&content_disposition(&stored.filename, inline))?,
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOWNLOAD_CSP),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}
