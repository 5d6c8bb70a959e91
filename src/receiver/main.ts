/** The receiver process: Calendly webhooks, health, the read API, the dashboard and live push, until SIGINT/SIGTERM/SIGHUP. */
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from '@temporalio/client';
import { ApiTokens } from '../auth/api-tokens';
import { startBroadcaster } from '../broadcaster/broadcaster';
import { WEBSOCKET_PATH } from '../broadcaster/protocol';
import { configFromEnvironment } from '../config';
import { connectionServicesFrom } from '../connections/services';
import { keepPersonalTokenConnection } from '../connections/personal-token';
import { calendlyClientFrom } from '../calendly/api-client';
import { issuedApiTokenStore } from '../database/api-tokens';
import { ormConfig } from '../database/orm-config';
import { createLogger, logUnexpectedFailures } from '../logger';
import { lazyTemporalConnection } from '../temporal/client-connection';
import { startReceiverServer } from './http-server';
import { startReceiverMetrics } from './metrics';
import { WEBHOOK_PATH } from './webhook-route';

async function main(): Promise<void> {
  const config = configFromEnvironment();
  const logger = createLogger(config.logLevel, 'receiver');
  logUnexpectedFailures(logger);
  const orm = await MikroORM.init(ormConfig(config.databaseUrl, { connect: false }));
  const connection = lazyTemporalConnection(config.temporal);
  const temporal = new Client({ connection, namespace: config.temporal.namespace });

  const apiTokens = new ApiTokens(config.apiTokens, issuedApiTokenStore(orm));

  // OAuth connections, when configured: the connect flow, its callback, status and disconnect (connection-routes.ts).
  const connections = connectionServicesFrom(config, orm);

  // The personal token connection's row (src/connections/personal-token.ts): its status, dashboard panel and organization.
  const stopPersonalToken = config.calendly.apiToken ? keepPersonalTokenConnection(orm, calendlyClientFrom(config), logger) : undefined;

  const receiver = await startReceiverServer({ config, temporal, orm, logger, apiTokens, connections }, config.port, config.host);
  const { server } = receiver;
  const broadcaster = startBroadcaster({ server, config, apiTokens, logger });
  // Prometheus scrapes its own listener (METRICS_PORT): the public port answers 404 for /metrics.
  const { receiverPort: metricsPort, host: metricsHost } = config.metrics;
  const metrics = metricsPort === undefined ? undefined : await startReceiverMetrics(metricsPort, metricsHost);
  logger.info(
    {
      url: `http://${config.host}:${config.port}`,
      webhookUrl: `${config.apiUrl}${WEBHOOK_PATH}`,
      websocketUrl: `${config.apiUrl.replace(/^http/, 'ws')}${WEBSOCKET_PATH}`,
      temporalWebUi: config.temporal.webUiUrl,
      metricsUrl: metrics && `${metrics.url}/metrics`,
    },
    'Receiver listening',
  );

  let step = 'the websockets';
  const stop = async (signal: string) => {
    logger.info({ signal }, 'Receiver stopping');
    stopPersonalToken?.();
    // Open websockets would keep the server from closing.
    await broadcaster.stop();
    // Then the requests in flight are answered and the refusal counts flushed, before the database closes.
    step = 'the requests in flight and the refusal counts';
    await receiver.close();
    step = 'the metrics listener, Temporal and the database';
    await metrics?.close();
    await connection.close();
    await orm.close();
    logger.info('Receiver stopped');
  };
  // SIGHUP (its terminal closed) stops it like SIGTERM; one stop, whichever signals come. A stop held up (a database
  // that does not answer) ends at the deadline: what was not acknowledged, Calendly sends again.
  let stopping: Promise<void> | undefined;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, (received) => {
    setTimeout(() => {
      logger.error({ waitingFor: step, seconds: STOP_DEADLINE_MS / 1000 }, 'Receiver did not stop in time; exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    stopping ??= stop(received).catch((error: unknown) => {
      logger.error({ err: error }, 'Receiver did not stop cleanly');
      process.exitCode = 1;
    });
  });
}

/** Within Docker's 10 s between SIGTERM and SIGKILL, so that it logs why it did not stop. */
const STOP_DEADLINE_MS = 8_000;

main().catch((error: unknown) => {
  process.stderr.write(`receiver failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
