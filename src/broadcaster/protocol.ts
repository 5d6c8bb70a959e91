/** What clients of the websocket receive; README.md, "Websocket protocol", documents it for frontends. */
import type { EventType } from '../database/entities/outbox-event';

export const WEBSOCKET_PATH = '/ws';

/** Sent once, first: events with ids after `lastEventId` follow, in id order. */
export interface WelcomeMessage {
  type: 'welcome';
  lastEventId: string;
  /** the organization the token is bound to: only its events are sent; null = all events */
  organization: string | null;
}

/** One outbox event. */
export interface EventMessage {
  id: string;
  type: EventType;
  occurredAt: string;
  organization: string | null;
  data: Record<string, unknown>;
}

/** An outbox event on its way to clients, serialized once for all of them. */
export interface BroadcastEvent {
  id: bigint;
  organization: string | null;
  message: string;
}

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;
