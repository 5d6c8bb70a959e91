/**
 * npm run outbound-webhooks -- <add|list|remove|dead|replay> ...
 * Manages outbound event webhook endpoints and their dead deliveries (see docs/outbound-webhooks.md).
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { configFromEnvironment } from '../src/config';
import { disableOutboundEndpoint, listOutboundDeliveries, listOutboundEndpoints } from '../src/database/outbound-webhooks';
import { ormConfig } from '../src/database/orm-config';
import { replayOutboundDelivery } from '../src/outbound/dispatch';
import { SecretBox } from '../src/connections/secret-box';
import { addOutboundEndpoint, newOutboundEndpoint, organizationUri, OutboundEndpointRefused, secretSealing } from '../src/outbound/endpoints';
import { OutboundDestinations } from '../src/outbound-destinations';
import { runCli, UsageError } from './lib/cli';

const USAGE = `Usage: npm run outbound-webhooks -- <command> [options]

  add --organization <URI> --url <URL> --events <types>
                     add an endpoint for the organization's events; <types> is comma-separated, each an event
                     type (meeting.created) or all of a kind (lead.*, meeting.*, reminder.*). Prints its signing
                     secret: it is shown only this once.
  list [--organization <URI>]
                     the enabled endpoints (without their secrets)
  remove --id <endpoint id>
                     the endpoint receives nothing more; its pending deliveries end dead
  dead [--organization <URI>] [--limit <n>]
                     the dead deliveries, newest first (default 50)
  replay --id <delivery id> ...
                     send dead deliveries again from their first attempt, same Idempotency-Key (repeatable)
  --help             show this help

Exit code: 0 done, 1 something was not found or not replayable (or an unexpected failure), 2 wrong usage,
78 configuration error.`;

const COMMANDS = ['add', 'list', 'remove', 'dead', 'replay'] as const;

runCli(
  'outbound-webhooks',
  USAGE,
  {
    organization: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'string' },
    id: { type: 'string', multiple: true },
    limit: { type: 'string' },
  },
  async (values, positionals) => {
    const [command, ...extra] = positionals;
    if (!COMMANDS.includes(command as (typeof COMMANDS)[number]) || extra.length) throw new UsageError(`Unknown command: ${positionals.join(' ') || '(none)'}`);
    const organization = values.organization === undefined ? undefined : parsed(organizationUri, values.organization, '--organization');
    const ids = values.id ?? [];
    const config = configFromEnvironment();
    const orm = await MikroORM.init(ormConfig(config.databaseUrl));
    const em = orm.em.fork();
    const out = (line: string) => process.stdout.write(`${line}\n`);
    try {
      switch (command) {
        case 'add': {
          if (!organization) throw new UsageError('add needs --organization <organization URI>');
          const input = newOutboundEndpoint.safeParse({ url: values.url, eventTypes: values.events?.split(',').map((type) => type.trim()) });
          if (!input.success) throw new UsageError(input.error.issues.map((issue) => `--${issue.path[0] === 'url' ? 'url' : 'events'}: ${issue.message}`).join('; '));
          const endpoint = await addOutboundEndpoint(em, organization, input.data, {
            destinations: new OutboundDestinations(config.outboundWebhooks.destinations),
            maxPerOrganization: config.outboundWebhooks.maxEndpointsPerOrganization,
            sealSecret: secretSealing(config.outboundWebhooks.secretKey && new SecretBox(config.outboundWebhooks.secretKey)),
          }).catch((error: unknown) => {
            if (error instanceof OutboundEndpointRefused) {
              throw new UsageError(`${error.code === 'outbound_endpoint_limit_reached' ? '' : '--url: '}${error.message} (${error.code})`);
            }
            throw error;
          });
          out(`Added endpoint ${endpoint.id} for ${endpoint.url} (${endpoint.eventTypes.join(', ')})`);
          out(`Signing secret (shown only now; give it to the endpoint to verify Webhook-Signature): ${endpoint.secret}`);
          return 0;
        }
        case 'list': {
          const endpoints = await listOutboundEndpoints(em, organization);
          if (!endpoints.length) out('No endpoints.');
          for (const endpoint of endpoints) out(`${endpoint.id}  ${endpoint.organization}  ${endpoint.url}  ${endpoint.eventTypes.join(',')}`);
          return 0;
        }
        case 'remove': {
          if (ids.length !== 1) throw new UsageError('remove needs one --id <endpoint id>');
          const removed = uuid(ids[0]) && (await disableOutboundEndpoint(em, ids[0]));
          out(removed ? `Removed endpoint ${ids[0]}` : `No enabled endpoint ${ids[0]}`);
          return removed ? 0 : 1;
        }
        case 'dead': {
          const limit = values.limit === undefined ? 50 : Number(values.limit);
          if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
          const [dead, total] = await listOutboundDeliveries(em, { state: 'dead', organization, limit, offset: 0 });
          out(`${total} dead deliveries${total > dead.length ? ` (the newest ${dead.length} shown)` : ''}`);
          for (const row of dead) {
            out(`${row.id}  ${row.deadAt?.toISOString()}  ${row.eventType}  endpoint ${row.endpointId}  ${row.attempts} attempts  ${row.lastError ?? ''}`);
          }
          return 0;
        }
        default: {
          if (!ids.length) throw new UsageError('replay needs --id <delivery id> (repeatable)');
          let failed = 0;
          for (const id of ids) {
            const result = uuid(id) ? await replayOutboundDelivery(em, id) : { replayed: false as const, reason: 'missing' as const };
            if (!result.replayed) failed++;
            out(result.replayed ? `${id}  replayed: ${result.workflowId} sends it` : `${id}  not replayed: ${result.reason}`);
          }
          return failed ? 1 : 0;
        }
      }
    } finally {
      await orm.close();
    }
  },
  { allowPositionals: true },
);

function parsed<T>(schema: z.ZodType<T>, value: string, option: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`${option} ${result.error.issues[0].message}`);
  return result.data;
}

/** Ids are uuids: anything else names nothing (and would be refused by PostgreSQL). */
function uuid(value: string): boolean {
  return z.uuid().safeParse(value).success;
}
