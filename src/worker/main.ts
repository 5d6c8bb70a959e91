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
import { ensureSchedules } from './schedules';
import { temporalLoggerFor } from './temporal-logger';
import { bundleWorkflows } from './workflow-bundle';

async function main(): Promise<void> {
  const config = configFromEnvironment();
  const logger = createLogger(config.logLevel, 'worker');
  // SIGHUP (its terminal closed) stops it like SIGTERM. Until the worker runs there is nothing to drain: a signal
  // during start-up (bundling takes a while) has its default effect, the process ends at once, rather than a worker
  // nobody wants starting later. Not process.exit(): its exit hook would flush the logs synchronously, and into the
  // pipe of a supervisor that is gone (killed) that flush never ends.
  const shutdownSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  Runtime.install({ logger: temporalLoggerFor(logger), shutdownSignals: [...shutdownSignals] });
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
    workflowBundle: await bundleWorkflows(logger),
  });
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
