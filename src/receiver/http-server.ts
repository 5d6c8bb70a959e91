/**
 * The receiver's HTTP server with its limits, used by src/receiver/main.ts and the test system: a slow or stalled
 * client is cut (headers within min(10 s, the request timeout), the whole request within HTTP_REQUEST_TIMEOUT_SECONDS),
 * idle keep-alive connections close after HTTP_KEEP_ALIVE_TIMEOUT_SECONDS, and connections beyond
 * HTTP_MAX_CONNECTIONS (websockets included) are dropped. Closing it flushes the webhook's refusal counts.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { Context } from 'koa';
import { createReceiverApp } from './app';
import type { ReceiverDependencies } from './dependencies';
import { addRefusalCounts } from '../database/refusals';
import { RefusalLog } from './refusals';
import { pathOf } from './request-context';

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
  server.maxConnections = maxConnections;
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
