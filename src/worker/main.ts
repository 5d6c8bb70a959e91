/** The worker process: runs workflows and activities from the task queue until SIGINT/SIGTERM/SIGHUP. */
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { collectDefaultMetrics } from 'prom-client';
import { calendlyClientFrom } from '../calendly/api-client';
import { configFromEnvironment } from '../config';
import { SecretBox } from '../connections/secret-box';
import { connectionServicesFrom } from '../connections/services';
import { keepPersonalTokenConnection } from '../connections/personal-token';
import { ormConfig } from '../database/orm-config';
import { createLogger, logUnexpectedFailures } from '../logger';
import { startOutboundDispatcher } from '../outbound/dispatcher';
import { DestinationRefused, OutboundDestinations } from '../outbound-destinations';
import { subscriptionTargetOf } from '../subscriptions/inspection';
import { lazyTemporalConnection } from '../temporal/client-connection';
import { connectWithRetry } from '../temporal/connect';
import { connectWorker } from '../temporal/worker-connection';
import { scheduleUrl } from '../temporal/web-ui-links';
import { createBookingWorker } from './create-worker';
import { registerConnectionStatusGauge } from './connection-metrics';
import { startMetricsServer, type MetricsServer } from '../metrics-server';
import { ensureSchedules, personalTokenKeepsSchedules } from './schedules';
import { temporalLoggerFor, temporalLogLevel } from './temporal-logger';
import { loadWorkflowBundle } from './workflow-bundle';

/**
 * REMINDER_WEBHOOK_URL resolved now, as each POST will be: a name that resolves to a private address stops start-up
 * with one line. One that does not resolve now (DNS down) is only logged: each POST checks it again.
 */
async function refuseForbiddenReminderWebhook(destinations: OutboundDestinations, url: string | undefined, logger: ReturnType<typeof createLogger>): Promise<void> {
  if (!url) return;
  try {
    await destinations.check(url);
  } catch (error) {
    if (!(error instanceof DestinationRefused)) throw error;
    if (error.code === 'destination_unresolvable') return void logger.warn({ code: error.code }, 'REMINDER_WEBHOOK_URL does not resolve now; each POST checks it again');
    process.stderr.write(
      `Configuration error: REMINDER_WEBHOOK_URL resolves to an address that is not public (${error.code}): use a public one, or allow its network with OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS (development only). Set it in .env (see .env.example).\n`,
    );
    process.exit(78); // EX_CONFIG, as a wrong setting
  }
}

async function main(): Promise<void> {
  const config = configFromEnvironment();
  const logger = createLogger(config.logLevel, 'worker');
  logUnexpectedFailures(logger);
  const destinations = new OutboundDestinations(config.outboundWebhooks.destinations);
  await refuseForbiddenReminderWebhook(destinations, config.reminders.webhook?.url, logger);
  // SIGHUP (its terminal closed) stops it like SIGTERM. Until the worker runs there is nothing to drain: a signal
  // during start-up (bundling takes a while) has its default effect, the process ends at once, rather than a worker
  // nobody wants starting later. Not process.exit(): its exit hook would flush the logs synchronously, and into the
  // pipe of a supervisor that is gone (killed) that flush never ends.
  const shutdownSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // Core's logs (the SDK's Rust part) forwarded to pino rather than printed raw; Temporal's own metrics (temporal_*)
  // on their exporter, when TEMPORAL_METRICS_PORT is set.
  const { temporalBindAddress } = config.metrics;
  const telemetryOptions = {
    logging: { forward: {}, filter: { core: temporalLogLevel(config.logLevel), other: 'WARN' as const } },
    ...(temporalBindAddress ? { metrics: { prometheus: { bindAddress: temporalBindAddress } } } : {}),
  };
  Runtime.install({ logger: temporalLoggerFor(logger), shutdownSignals: [...shutdownSignals], telemetryOptions });
  let running = false;
  for (const signal of shutdownSignals) {
    process.once(signal, () => {
      if (running) return;
      for (const handled of shutdownSignals) process.removeAllListeners(handled);
      process.kill(process.pid, signal);
    });
  }

  // The pool connects on first use: a database that is down now only delays activities, which retry.
  const orm = await MikroORM.init(ormConfig(config.databaseUrl, { connect: false }));
  const connection = await connectWithRetry(() => connectWorker(config.temporal), config.temporal.address, logger);
  const temporal = new Client({ connection: lazyTemporalConnection(config.temporal), namespace: config.temporal.namespace });
  const personalToken = config.calendly.apiToken ? { calendly: calendlyClientFrom(config), target: subscriptionTargetOf(config) } : undefined;
  const stopPersonalToken = personalToken && keepPersonalTokenConnection(orm, personalToken.calendly, logger);
  const worker = await createBookingWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    orm,
    personalToken,
    connections: connectionServicesFrom(config, orm),
    temporal,
    reminders: config.reminders,
    destinations,
    secretBox: config.outboundWebhooks.secretKey && new SecretBox(config.outboundWebhooks.secretKey),
    schedules: config.schedules,
    workflowBundle: await loadWorkflowBundle(logger, config.workflowBundlePath),
    maxCachedWorkflows: config.maxCachedWorkflows,
  });
  // The app's counters, the process's (CPU, memory, event loop lag) and the healthcheck, when WORKER_METRICS_PORT is
  // set: /health is 200 while the worker runs.
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.workerPort !== undefined) {
    collectDefaultMetrics();
    registerConnectionStatusGauge(orm);
    metricsServer = await startMetricsServer({ port: config.metrics.workerPort, host: config.metrics.host, healthy: () => worker.getState() === 'RUNNING' });
    logger.info({ url: `${metricsServer.url}/metrics` }, 'Metrics served');
  }
  try {
    for (const { scheduleId, outcome } of await ensureSchedules(temporal, config.temporal.taskQueue, config.schedules, await personalTokenKeepsSchedules(orm, Boolean(config.calendly.apiToken)))) {
      logger.info({ scheduleId, url: scheduleUrl(config.temporal, scheduleId) }, `Schedule ${outcome}`);
    }
  } catch (error) {
    // Processing deliveries does not depend on the schedules: the worker runs anyway, and says so.
    logger.error({ err: error }, 'Could not create or update the self-healing schedules: they may be missing or outdated');
  }
  const outboundDispatcher = startOutboundDispatcher({
    orm,
    temporal,
    taskQueue: config.temporal.taskQueue,
    retry: config.outboundWebhooks.retry,
    databaseUrl: config.databaseUrl,
    logger,
    sweepIntervalSeconds: config.outboundWebhooks.sweepIntervalSeconds,
    maxInFlightPerOrganization: config.outboundWebhooks.maxInFlightPerOrganization,
  });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'Worker running');
  running = true;
  try {
    await worker.run();
  } finally {
    stopPersonalToken?.();
    await outboundDispatcher.stop();
    await metricsServer?.close();
    await connection.close();
    await temporal.connection.close();
    await orm.close();
    logger.info('Worker stopped');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
