/**
 * Runs the fake Calendly API v2 on its own, for local trials:
 *   tsx scripts/dev/fake-calendly.ts --port 4010 --token <api token> [--host 127.0.0.1]
 *     [--client-id <id> --client-secret <secret> --redirect-uri <uri>...]
 * Everything comes from argv: only src/config.ts reads the environment.
 */
import { startFakeCalendly, type OAuthAppOptions } from '../../fake-calendly';
import { runCli, UsageError } from '../lib/cli';

const USAGE = `Usage: tsx scripts/dev/fake-calendly.ts --port <port> --token <api token> [--host <host>] [--rate-limit <per minute>]
         [--client-id <id> --client-secret <secret> --redirect-uri <uri> [--redirect-uri <uri>...]
          [--webhook-signing-key <key>] [--access-token-lifetime <seconds>]]

Serves a fake of the Calendly API v2 (REST API, signed webhook deliveries), Calendly's OAuth endpoints (/oauth/...)
and its test controls under /_fake/.

  --port        TCP port to listen on (0 = any free port)
  --token       a personal access token of the default organization's owner; required without --client-id
  --host        interface to listen on (default 127.0.0.1)
  --rate-limit  requests per minute before 429 (default 500, Calendly's paid plans)
  --client-id, --client-secret, --redirect-uri
                the OAuth app: GET /oauth/authorize (consent page), POST /oauth/token, /oauth/revoke, /oauth/introspect;
                --redirect-uri may be repeated (exact match)
  --webhook-signing-key    the OAuth app's key for subscriptions made without signing_key
  --access-token-lifetime  seconds an OAuth access token lasts (default 7200)
  --help        show this text

Control endpoints (no auth): POST /_fake/bookings, /_fake/invitees/cancel, /_fake/invitees/reschedule,
/_fake/invitees/mark-no-show, /_fake/invitees/unmark-no-show, /_fake/subscriptions/disable, /_fake/events/delete,
/_fake/fail-next, /_fake/webhook-deliveries, /_fake/legacy-webhook-bodies; GET /_fake/deliveries,
/_fake/subscriptions, /_fake/requests; organizations: GET|POST /_fake/organizations, POST /_fake/organizations/users,
/_fake/organizations/plan, /_fake/personal-access-tokens; OAuth: POST /_fake/oauth/authorize,
/_fake/oauth/access-token-lifetime, /_fake/oauth/expire-access-tokens, /_fake/oauth/revoke-grants; GET /_fake/oauth/stats.

Runs until SIGINT or SIGTERM. Exit code: 0 stopped cleanly, 1 failed, 2 wrong usage.`;

function integerOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return number;
}

const OPTIONS = {
  port: { type: 'string' },
  token: { type: 'string' },
  host: { type: 'string' },
  'rate-limit': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'webhook-signing-key': { type: 'string' },
  'access-token-lifetime': { type: 'string' },
} as const;

function oauthOptions(values: {
  'client-id'?: string;
  'client-secret'?: string;
  'redirect-uri'?: string[];
  'webhook-signing-key'?: string;
  'access-token-lifetime'?: string;
}): OAuthAppOptions | undefined {
  const clientId = values['client-id'];
  if (clientId === undefined) {
    if (values['client-secret'] !== undefined || values['redirect-uri'] !== undefined) {
      throw new UsageError('--client-secret and --redirect-uri need --client-id');
    }
    return undefined;
  }
  const clientSecret = values['client-secret'];
  if (!clientSecret) throw new UsageError('--client-secret is required with --client-id');
  const redirectUris = values['redirect-uri'] ?? [];
  if (redirectUris.length === 0) throw new UsageError('--redirect-uri is required with --client-id');
  const invalid = redirectUris.find((uri) => !URL.canParse(uri));
  if (invalid !== undefined) throw new UsageError(`--redirect-uri ${invalid} is not an absolute URL`);
  return {
    clientId,
    clientSecret,
    redirectUris,
    webhookSigningKey: values['webhook-signing-key'],
    accessTokenLifetimeSeconds: integerOption(values['access-token-lifetime'], 'access-token-lifetime', 1, 31_536_000),
  };
}

runCli('fake-calendly', USAGE, OPTIONS, async (values) => {
  const port = integerOption(values.port, 'port', 0, 65535);
  if (port === undefined) throw new UsageError('--port is required');
  const oauth = oauthOptions(values);
  if (!values.token && oauth === undefined) throw new UsageError('--token is required (or --client-id for OAuth only)');

  const fake = await startFakeCalendly({
    port,
    host: values.host,
    apiToken: values.token,
    oauth,
    rateLimitPerMinute: integerOption(values['rate-limit'], 'rate-limit', 1, 1_000_000),
  });
  process.stdout.write(
    `Fake Calendly API listening on ${fake.url}\n  organization: ${fake.organizationUri}\n  user: ${fake.userUri}\n` +
      (oauth ? `  OAuth app ${oauth.clientId}: consent page ${fake.url}/oauth/authorize\n` : ''),
  );

  // Serves until a signal; a second signal while stopping is ignored rather than cutting the close short.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  process.stdout.write(`${signal}: stopping\n`);
  await fake.close();
  return 0;
});
