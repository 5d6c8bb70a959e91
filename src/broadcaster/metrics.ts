/**
 * Prometheus metrics of the websocket broadcaster, on prom-client's default registry (served by the receiver's
 * GET /metrics; the broadcaster may not import the receiver).
 */
import { Counter, Gauge } from 'prom-client';
import { histogram } from '../metrics';

/** `organization`: the one the client's API token belongs to; `none` for a token of every organization. */
export const websocketClients = new Gauge({
  name: 'calendly_websocket_clients',
  help: 'Websocket clients connected to this receiver, by organization ("none": an API token of every organization)',
  labelNames: ['organization'] as const,
});

/**
 * From an event's outbox insert to this receiver's broadcast of it: its transaction's remaining time, the commit
 * notification, and any wait behind an earlier id still uncommitted (up to 30 s).
 */
export const outboxLagSeconds = histogram(
  'calendly_outbox_lag_seconds',
  'Seconds from an outbox event being written to its broadcast by this receiver, by organization',
  [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  ['organization'],
);

/** `kind`: welcome, backlog (missed events sent on resume) or live; `organization`: the event's (a welcome: the client's). */
export const websocketMessages = new Counter({
  name: 'calendly_websocket_messages_total',
  help: 'Messages sent to websocket clients, by kind (welcome, backlog, live) and organization',
  labelNames: ['kind', 'organization'] as const,
});

/** `limit`: receiver, organization or token (WEBSOCKET_MAX_CONNECTIONS, _PER_ORGANIZATION, _PER_TOKEN); answered 429. */
export const websocketRefusals = new Counter({
  name: 'calendly_websocket_refusals_total',
  help: 'Websocket upgrades refused by a limit of this receiver, by limit (receiver, organization, token) and organization',
  labelNames: ['limit', 'organization'] as const,
});
