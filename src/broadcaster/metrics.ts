/**
 * Prometheus metrics of the websocket broadcaster, on prom-client's default registry (served by the receiver's
 * GET /metrics; the broadcaster may not import the receiver).
 */
import { Counter, Gauge } from 'prom-client';

export const websocketClients = new Gauge({
  name: 'calendly_websocket_clients',
  help: 'Websocket clients connected to this receiver',
});

/** `kind`: welcome, backlog (missed events sent on resume) or live. */
export const websocketMessages = new Counter({
  name: 'calendly_websocket_messages_total',
  help: 'Messages sent to websocket clients, by kind (welcome, backlog, live)',
  labelNames: ['kind'] as const,
});
