/**
 * npm run subscription:reconnect -- [--dry-run] [--keep-others] [--recreate] [--connection <id>]
 * Points the organization's Calendly webhook subscription at this system (see docs/connections.md, "Subscription commands").
 */
import { HANDLED_EVENTS } from '../src/calendly/schemas';
import { configFromEnvironment } from '../src/config';
import { reconnectSubscription } from '../src/subscriptions/reconnect';
import { CONNECTION_OPTION, CONNECTION_USAGE, scriptAccount } from './lib/account';
import { runCli } from './lib/cli';

const USAGE = `Usage: npm run subscription:reconnect -- [--dry-run] [--keep-others] [--recreate] [--connection <id>]

Makes Calendly deliver bookings here: one active organization subscription at API_URL + /calendly/webhook,
signed with the first CALENDLY_WEBHOOK_SIGNING_KEY, for exactly
  ${HANDLED_EVENTS.join(', ')}
It creates the right subscription first, then deletes stale ones: at other URLs (receiving invitee events),
disabled by Calendly, or listening to the wrong events. Calendly allows one subscription per URL and has no update,
so a wrong one at this URL is deleted just before the right one is created. Run again, it changes nothing.

  --dry-run      print the plan, change nothing
  --keep-others  leave subscriptions at other URLs alone (when another integration owns them)
  --recreate     replace the subscription even when it is right: to switch to a new signing key, put the new key
                 first in CALENDLY_WEBHOOK_SIGNING_KEY (keep the old one after it), then run this
${CONNECTION_USAGE}
                     (its subscription: API_URL + /calendly/webhook/<id>, signed with the connection's own key)
  --help         show this help

Exit code: 0 connected or already connected (with --dry-run: plan printed), 1 Calendly or the network failed
(the output shows what was done until then; running it again is safe), 2 wrong usage, 78 configuration error.`;

const OPTIONS = { 'dry-run': { type: 'boolean' }, 'keep-others': { type: 'boolean' }, recreate: { type: 'boolean' }, ...CONNECTION_OPTION } as const;

runCli('subscription:reconnect', USAGE, OPTIONS, async (values) => {
  const config = configFromEnvironment();
  const account = await scriptAccount(config, values.connection);
  try {
    await reconnectSubscription({
      calendly: account.calendly,
      target: account.target,
      removeOthers: !values['keep-others'],
      recreate: values.recreate ?? false,
      dryRun: values['dry-run'] ?? false,
      report: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } finally {
    await account.close();
  }
});
