/**
 * The receiver's HTTP server with its limits, used by src/receiver/main.ts and the test system: a slow or stalled
 * client is cut (headers within min(10 s, the request timeout), the whole request within HTTP_REQUEST_TIMEOUT_SECONDS),
 * idle keep-alive connections close after HTTP_KEEP_ALIVE_TIMEOUT_SECONDS, and at most HTTP_MAX_CONNECTIONS are open
 * (websockets included), with webhooks served first (`keepConnectionsForWebhooks`). Closing it flushes the webhook's
 * refusal counts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import type { Context } from 'koa';
import { createReceiverApp } from './app';
import type { ReceiverDependencies } from './dependencies';
import { addRefusalCounts } from '../database/refusals';
import { RefusalLog } from './refusals';
import { pathOf } from './request-context';
import { WEBHOOK_PATH } from './webhook-route';

const HEADERS_TIMEOUT_MS = 10_000;
/** How often Node looks for requests over their timeout; its default (30 s) would let a timeout run long. */
const CONNECTIONS_CHECKING_INTERVAL_MS = 1_000;

export interface ReceiverServer {
  server: Server;
  /** `http://host:port` as bound (port 0 gets an ephemeral one) */
  url: string;
  /** counts refused webhook requests; `flush()` stores them now (tests) */
  refusals: RefusalLog;
  /** Stops accepting connections, waits for open requests, then flushes the refusal counts. */
  close(): Promise<void>;
}

export async function startReceiverServer(
  shared: Omit<ReceiverDependencies, 'refusals'>,
  port: number,
  host: string,
): Promise<ReceiverServer> {
  const refusals = new RefusalLog({
    refusalsPerMinute: shared.config.http.refusalsPerMinute,
    write: (counts) => addRefusalCounts(shared.orm.em.fork(), counts),
    logger: shared.logger,
  });
  const deps: ReceiverDependencies = { ...shared, refusals };
  const { requestTimeoutSeconds, keepAliveTimeoutSeconds, maxConnections } = deps.config.http;
  const requestTimeout = requestTimeoutSeconds * 1000;
  const app = createReceiverApp(deps);
  // What Koa cannot answer (a socket cut by a timeout or by its client) goes to the log, not to stderr.
  app.on('error', (error: Error & { code?: string }, ctx?: Context) =>
    deps.logger.warn({ err: error, code: error.code, method: ctx?.method, path: ctx && pathOf(ctx) }, 'HTTP connection failed'),
  );
  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    },
    app.callback(),
  );
  server.keepAliveTimeout = keepAliveTimeoutSeconds * 1000;
  keepConnectionsForWebhooks(server, maxConnections);
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as { port: number };
  return {
    server,
    refusals,
    url: `http://${host}:${address.port}`,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      await closed;
      await refusals.stop();
    },
  };
}

/**
 * Caps open connections at `maxConnections` so that Calendly's deliveries are always answered: websockets have their
 * own lower cap (WEBSOCKET_MAX_CONNECTIONS), and a new connection over the limit evicts the oldest connection that is
 * still sending its request head or idle (a slow or stalled client), else the oldest request in flight that is not a
 * webhook's; only when webhooks and websockets hold every place is the new one dropped. Node's own
 * `server.maxConnections` would drop the new one, which under a flood of slow clients is Calendly's.
 */
function keepConnectionsForWebhooks(server: Server, maxConnections: number): void {
  /** Oldest first (a Set keeps insertion order): connections without a request in flight. */
  const waiting = new Set<Socket>();
  /** Oldest first: connections serving a request that is not a webhook delivery. */
  const otherRequests = new Set<Socket>();
  let open = 0;
  server.on('connection', (socket: Socket) => {
    open += 1;
    socket.once('close', () => {
      open -= 1;
      waiting.delete(socket);
      otherRequests.delete(socket);
    });
    if (open > maxConnections) {
      const evicted = first(waiting) ?? first(otherRequests);
      if (!evicted) return void socket.destroy();
      waiting.delete(evicted);
      otherRequests.delete(evicted);
      evicted.destroy();
    }
    waiting.add(socket);
  });
  server.on('request', (request: IncomingMessage, response) => {
    const socket = request.socket;
    waiting.delete(socket);
    if (!request.url?.startsWith(WEBHOOK_PATH)) otherRequests.add(socket);
    response.once('finish', () => {
      otherRequests.delete(socket);
      if (!socket.destroyed) waiting.add(socket);
    });
  });
  // A websocket counts under its own cap from here on.
  server.on('upgrade', (request: IncomingMessage) => waiting.delete(request.socket));
}

const first = (sockets: Set<Socket>): Socket | undefined => sockets.values().next().value;
