/**
 * npm run bookings:sync -- [--from <ISO>] [--to <ISO>] [--dry-run] [--connection <id>]
 * Backfills bookings from the Calendly API through the same workflows as webhooks, and the routing form submissions made
 * since --from as the connect's and the reconcile schedule's syncs do (see docs/connections.md, "Subscription commands").
 */
import { Client } from '@temporalio/client';
import { configFromEnvironment } from '../src/config';
import { syncBookings } from '../src/deliveries/backfill';
import { lazyTemporalConnection } from '../src/temporal/client-connection';
import { CONNECTION_OPTION, CONNECTION_USAGE, scriptAccount } from './lib/account';
import { runCli, UsageError } from './lib/cli';

const USAGE = `Usage: npm run bookings:sync -- [--from <ISO time>] [--to <ISO time>] [--dry-run] [--connection <id>]

Feeds every invitee of the organization's scheduled events that START in the window through the same workflows as
webhook deliveries. An invitee already delivered is reported as "already known" and changes nothing, so running it
any number of times creates no duplicates. Calendly filters by start time only, not by booking time; a meeting is
booked before it starts, so --from <when an outage began> finds every booking made since. Routing form
submissions made since --from are stored too (each makes its lead), as the reconcile schedule's sync does; a
submission already stored changes nothing. The last line says how many were read and how many were new.

  --from     events starting at or after (default: RECONCILE_LOOKBACK_HOURS ago, like the reconcile schedule)
  --to       events starting before (default: RECONCILE_LOOKAHEAD_DAYS ahead)
  --dry-run  list what would be fed and count the routing form submissions, start and store nothing
${CONNECTION_USAGE}
                     (its bookings go to its organization, as its webhooks do)
  --help     show this help

Exit code: 0 done, 1 failed (running it again is safe), 2 wrong usage, 78 configuration error.`;

function timeOption(name: string, value: string | undefined, fallback: Date): Date {
  if (value === undefined) return fallback;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new UsageError(`--${name} must be an ISO date-time, e.g. 2026-11-20T00:00:00Z; got "${value}"`);
  return time;
}

const OPTIONS = { from: { type: 'string' }, to: { type: 'string' }, 'dry-run': { type: 'boolean' }, ...CONNECTION_OPTION } as const;

runCli('bookings:sync', USAGE, OPTIONS, async (values) => {
  const config = configFromEnvironment();
  const now = Date.now();
  const from = timeOption('from', values.from, new Date(now - config.schedules.reconcileLookBackHours * 3_600_000));
  const to = timeOption('to', values.to, new Date(now + config.schedules.reconcileLookAheadDays * 86_400_000));
  if (from >= to) throw new UsageError(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);

  const account = await scriptAccount(config, values.connection);
  // Lazy: a dry run starts nothing, so it works while Temporal is down.
  const connection = lazyTemporalConnection(config.temporal);
  try {
    await syncBookings({
      calendly: account.calendly,
      connectionId: account.connectionId,
      temporal: new Client({ connection, namespace: config.temporal.namespace }),
      taskQueue: config.temporal.taskQueue,
      window: { from, to },
      dryRun: values['dry-run'] ?? false,
      routingForms: { em: account.orm.em, organization: account.organization },
      report: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } finally {
    await connection.close();
    await account.close();
  }
});
