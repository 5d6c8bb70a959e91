/**
 * `npm run outbound-webhooks` as an operator runs it, as a child process against a running system: add an endpoint
 * that then receives the organization's events, list it, see a refused delivery as dead, replay it once the endpoint
 * recovers, and remove the endpoint.
 */
import { randomUUID } from 'node:crypto';
import { saveBookings } from '../../src/database/bookings';
import { booking, newEmail } from '../database/database';
import { signedWith, startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { runScript, type ScriptRun } from '../support/scripts';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
let endpoint: OutboundEndpointServer;
beforeAll(async () => {
  system = await startTestSystem();
  endpoint = await startOutboundEndpoint();
});
afterAll(async () => {
  await endpoint?.close();
  await system?.stop();
});

/** Several runs of the command, each a new Node process with its TypeScript compiled on the fly. */
const COMMANDS_TIMEOUT_MS = 240_000;

function outboundWebhooks(...args: string[]): Promise<ScriptRun> {
  const { config } = system;
  // The receiver's and worker's own settings: the command reads the same configuration.
  const env = {
    API_URL: config.apiUrl,
    API_TOKENS: config.apiTokens.map(({ token }) => token).join(','),
    CALENDLY_API_TOKEN: 'unused-by-this-command',
    CALENDLY_WEBHOOK_SIGNING_KEY: config.calendly.signingKeys.join(','),
    DATABASE_URL: config.databaseUrl,
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    OUTBOUND_WEBHOOK_ALLOW_PRIVATE_NETWORKS: config.outboundWebhooks.destinations.allowedNetworks.join(','),
    CONNECTION_ENCRYPTION_KEY: config.outboundWebhooks.secretKey?.toString('base64') ?? '',
  };
  return runScript('outbound-webhooks.ts', args, env);
}

it('adds an endpoint that receives the events, shows a refused one as dead, replays it, and removes the endpoint', async () => {
  const organization = `https://app.example.com/organizations/cli-${randomUUID()}`;
  const added = await outboundWebhooks('add', '--organization', organization, '--url', endpoint.url, '--events', 'meeting.*');
  expect(added).toMatchObject({ code: 0, stderr: '' });
  const endpointId = /^Added endpoint (\S+) /m.exec(added.stdout)![1];
  const secret = /Signing secret .*: (\S+)$/m.exec(added.stdout)![1];
  const listed = await outboundWebhooks('list', '--organization', organization);
  expect(listed.stdout).toContain(`${endpointId}  ${organization}  ${endpoint.url}  meeting.*`);
  expect(listed.stdout).not.toContain(secret);

  // The endpoint refuses the first event for good: the delivery ends dead, and `dead` shows it.
  endpoint.answerNext(410);
  await saveBookings(system.orm.em.fork(), [booking({ email: newEmail('cli-outbound') })], organization, PERSONAL_TOKEN_CONNECTION_ID);
  const refused = await eventually(() => Promise.resolve(endpoint.received.find((webhook) => webhook.body.organization === organization)), 60_000, 'the first attempt');
  expect(refused.body.type).toBe('meeting.created');
  expect(signedWith(refused, secret)).toBe(true);
  const dead = await eventually(async () => {
    const listing = await outboundWebhooks('dead', '--organization', organization);
    return /^1 dead deliveries/m.test(listing.stdout) ? listing.stdout : undefined;
  }, 120_000, 'the dead delivery');
  const deliveryId = new RegExp(`^(\\S+) .* meeting\\.created  endpoint ${endpointId}`, 'm').exec(dead)![1];

  // Recovered, it gets the same event with the same Idempotency-Key.
  expect(await outboundWebhooks('replay', '--id', deliveryId)).toMatchObject({ code: 0, stdout: expect.stringContaining(`${deliveryId}  replayed`) });
  await eventually(() => Promise.resolve(endpoint.accepted().find((webhook) => webhook.idempotencyKey === refused.idempotencyKey)), 60_000, 'the replayed delivery');

  expect(await outboundWebhooks('remove', '--id', endpointId)).toMatchObject({ code: 0, stdout: expect.stringContaining(`Removed endpoint ${endpointId}`) });
  expect((await outboundWebhooks('list', '--organization', organization)).stdout).toContain('No endpoints.');
  expect(await outboundWebhooks('remove', '--id', endpointId)).toMatchObject({ code: 1 });
}, COMMANDS_TIMEOUT_MS);
