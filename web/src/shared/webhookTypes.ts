// Webhooks as API.md "Webhooks" (issue 19) has them: admins subscribe a URL to some
// events; each event becomes one delivery per webhook, retried until it is taken.

export const WEBHOOK_EVENTS = ['ticket.created', 'ticket.updated', 'message.created', 'note.created', 'rating.created'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface Webhook {
  id: number;
  url: string;
  events: WebhookEvent[];
  created_at: string;
}

/** The answer to `POST /api/support/webhooks`: the only time the secret is sent. */
export interface CreatedWebhook extends Webhook {
  secret: string;
}

export interface WebhookBody {
  url: string;
  events: readonly WebhookEvent[];
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: number;
  event_id: string;
  type: WebhookEvent;
  ticket_id: number | null;
  status: DeliveryStatus;
  attempts: number;
  /** null when no answer came (time-out, refused). */
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

/** `GET /api/support/webhooks/{id}/deliveries`, newest first. */
export interface DeliveryPage {
  deliveries: WebhookDelivery[];
  /** The next page's `before`; null: no more. */
  next_before: number | null;
}
