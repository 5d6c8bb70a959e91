/** The worker process: runs workflows and activities from the task queue until SIGINT/SIGTERM. */
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
  Runtime.install({ logger: temporalLoggerFor(logger), shutdownSignals: ['SIGINT', 'SIGTERM'] });

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
