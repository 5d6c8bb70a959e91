/**
 * npm run replay-deliveries -- [--dry-run] [--failed] [--id <trackingId> ...]
 * Replays signed deliveries that were kept as unprocessed, and with --failed those that failed (see docs/api.md, "Delivery log and replay").
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from '@temporalio/client';
import { configFromEnvironment } from '../src/config';
import { ormConfig } from '../src/database/orm-config';
import { replayUnprocessedDeliveries } from '../src/deliveries/replay';
import { connectTemporal } from '../src/temporal/client-connection';
import { runCli } from './lib/cli';

const USAGE = `Usage: npm run replay-deliveries -- [--dry-run] [--failed] [--id <trackingId> ...]

Feeds signed deliveries kept as "unprocessed" (malformed, or of an event type not handled when they arrived)
through the intake again. Deliveries that still cannot be processed stay as they are. With --failed, deliveries
that failed for good (e.g. while the Calendly API token was revoked) are fed again too, under their own workflow ID.

  --id <trackingId>  only this delivery (repeatable); default: every unprocessed (with --failed, and failed) delivery
  --failed           also replay failed deliveries
  --dry-run          say what would be replayed, change nothing
  --help             show this help

Exit code: 0 when every selected delivery was replayed (or would be), 1 when some remain unprocessable or the
replay failed, 2 wrong usage, 78 configuration error.`;

runCli('replay-deliveries', USAGE, { id: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' }, failed: { type: 'boolean' } }, async (values) => {
  const config = configFromEnvironment();
  const orm = await MikroORM.init(ormConfig(config.databaseUrl));
  const connection = await connectTemporal(config.temporal);
  try {
    const results = await replayUnprocessedDeliveries({
      em: orm.em.fork(),
      temporal: new Client({ connection, namespace: config.temporal.namespace }),
      taskQueue: config.temporal.taskQueue,
      apiBaseUrl: config.calendly.apiBaseUrl,
      ids: values.id ?? [],
      dryRun: values['dry-run'] ?? false,
      failed: values.failed ?? false,
    });
    if (!results.length) process.stdout.write(`No unprocessed${values.failed ? ' or failed' : ''} deliveries to replay.\n`);
    for (const result of results) {
      const detail = result.result === 'still unprocessable' ? result.reason : result.workflowId;
      process.stdout.write(`${result.id}  ${result.result}  ${detail}\n`);
    }
    return results.some((result) => result.result === 'still unprocessable') ? 1 : 0;
  } finally {
    await connection.close();
    await orm.close();
  }
});
