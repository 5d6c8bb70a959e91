/**
 * A process's private metrics listener, apart from any public port (METRICS_HOST): GET /metrics (prom-client's
 * default registry, whose samples carry organization labels) and, for the worker, GET /health for a container
 * healthcheck, 200 while the worker runs and 503 otherwise. The receiver's is on METRICS_PORT, the worker's on
 * WORKER_METRICS_PORT; Temporal's own metrics have their exporter (TEMPORAL_METRICS_PORT, set through Runtime.install).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register, type Registry } from 'prom-client';

export interface MetricsServer {
  server: Server;
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  /** true while the process runs; unset: no /health here (the receiver has its own on its public port) */
  healthy?: () => boolean;
  registry?: Registry;
}

export async function startMetricsServer({ port, host, healthy, registry = register }: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    } else if (path === '/health' && healthy) {
      const ok = healthy();
      response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify({ status: ok ? 'ok' : 'not running' }));
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  // Scrapers keep connections open; the worker's shutdown must not wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: boundPort } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    server,
    url: `http://${urlHost}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
