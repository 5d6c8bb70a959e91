/** The worker process: runs workflows and activities from the task queue until SIGINT/SIGTERM/SIGHUP. */
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { calendlyClientFrom } from '../calendly/api-client';
import { configFromEnvironment } from '../config';
import { ormConfig } from '../database/orm-config';
import { createLogger } from '../logger';
import { subscriptionTargetOf } from '../subscriptions/inspection';
import { lazyTemporalConnection } from '../temporal/client-connection';
import { connectWithRetry } from '../temporal/connect';
import { scheduleUrl } from '../temporal/web-ui-links';
import { createBookingWorker } from './create-worker';
import { startMetricsServer } from './metrics-server';
import { ensureSchedules } from './schedules';
import { temporalLoggerFor } from './temporal-logger';
import { loadWorkflowBundle } from './workflow-bundle';

async function main(): Promise<void> {
  const config = configFromEnvironment();
  const logger = createLogger(config.logLevel, 'worker');
  // SIGHUP (its terminal closed) stops it like SIGTERM. Until the worker runs there is nothing to drain: a signal
  // during start-up (bundling takes a while) has its default effect, the process ends at once, rather than a worker
  // nobody wants starting later. Not process.exit(): its exit hook would flush the logs synchronously, and into the
  // pipe of a supervisor that is gone (killed) that flush never ends.
  const shutdownSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  // Temporal's own metrics (temporal_*) on their exporter, when TEMPORAL_METRICS_PORT is set.
  const { temporalBindAddress } = config.metrics;
  const telemetryOptions = temporalBindAddress ? { metrics: { prometheus: { bindAddress: temporalBindAddress } } } : undefined;
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
  const connection = await connectWithRetry(() => NativeConnection.connect({ address: config.temporal.address }), config.temporal.address, logger);
  const temporal = new Client({ connection: lazyTemporalConnection(config.temporal.address), namespace: config.temporal.namespace });
  const worker = await createBookingWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    orm,
    calendly: calendlyClientFrom(config),
    temporal,
    reminders: config.reminders,
    subscriptionTarget: subscriptionTargetOf(config),
    workflowBundle: await loadWorkflowBundle(logger, config.workflowBundlePath),
  });
  // The app's counters and the healthcheck, when WORKER_METRICS_PORT is set: /health is 200 while the worker runs.
  const metricsServer =
    config.metrics.workerPort === undefined
      ? undefined
      : await startMetricsServer({ port: config.metrics.workerPort, host: config.host, healthy: () => worker.getState() === 'RUNNING' });
  if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'Metrics served');
  try {
    for (const { scheduleId, outcome } of await ensureSchedules(temporal, config.temporal.taskQueue, config.schedules)) {
      logger.info({ scheduleId, url: scheduleUrl(config.temporal, scheduleId) }, `Schedule ${outcome}`);
    }
  } catch (error) {
    // Processing deliveries does not depend on the schedules: the worker runs anyway, and says so.
    logger.error({ err: error }, 'Could not create or update the self-healing schedules: they may be missing or outdated');
  }
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'Worker running');
  running = true;
  try {
    await worker.run();
  } finally {
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
