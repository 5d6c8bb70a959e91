/**
 * Outbound event webhooks, behind the API token: an organization's endpoints (add, list, remove) and its
 * deliveries (list, replay a dead one). A token bound to an organization sees and changes only that organization's;
 * another organization's endpoint or delivery answers 404, as if it did not exist.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { requireApiToken } from '../auth/api-tokens';
import {
  disableOutboundEndpoint,
  listOutboundDeliveries,
  listOutboundEndpoints,
  OUTBOUND_EVENT_FILTERS,
  type OutboundDelivery,
  type OutboundEndpoint,
} from '../database/outbound-webhooks';
import { EVENT_TYPES } from '../database/entities/outbox-event';
import { replayOutboundDelivery } from '../outbound/dispatch';
import { SecretBox } from '../connections/secret-box';
import { addOutboundEndpoint, newOutboundEndpoint, organizationUri, OutboundEndpointRefused, secretSealing } from '../outbound/endpoints';
import { OutboundDestinations } from '../outbound-destinations';
import { answerError, errorAnswers, errorCatalogue, type CodeOf, type ErrorAnswerExtrasByStatus, type ErrorCode } from './api-errors';
import type { ReceiverDependencies } from './dependencies';
import { JSON_BODY_ERRORS, jsonBody } from './json-body';
import { BEARER_TOKEN, jsonAnswer, RETRY_AFTER, UNAUTHORIZED, type ApiPaths } from './openapi';
import { requestLogger } from './request-context';
import { oneOrganization, TENANT_SCOPE_ERRORS, tokenOrNamedOrganization } from './tenant-scope';

/** A cap answer's Retry-After: no time frees an endpoint place (removing one does), so a client asks again this late. */
const ENDPOINT_LIMIT_RETRY_AFTER_SECONDS = 60;

const organizationFilter = organizationUri
  .optional()
  .meta({ description: 'For a token bound to no organization: only this organization (required to add an endpoint).' });
const organizationQuery = z.object({ organization: organizationFilter });

/** Why an endpoint was refused (src/outbound/endpoints.ts), with its status: every refusal has one. */
const ENDPOINT_REFUSALS = {
  destination_not_allowed: {
    status: 400,
    means: 'not a public address (loopback, private, link-local, shared, multicast or reserved, also when its host name resolves to one)',
  },
  destination_unresolvable: { status: 400, means: 'its host name does not resolve' },
  https_required: { status: 400, means: 'plain http where https is required' },
  outbound_endpoint_limit_reached: {
    status: 429,
    means:
      'the organization has as many endpoints as allowed (OUTBOUND_WEBHOOK_MAX_ENDPOINTS_PER_ORGANIZATION, 25 by default): remove one, then add it; ' +
      '`Retry-After` says when to ask again, a place frees only when one is removed',
  },
} as const satisfies Record<OutboundEndpointRefused['code'], ErrorCode>;

export const OUTBOUND_WEBHOOK_ERRORS = errorCatalogue({
  ...TENANT_SCOPE_ERRORS,
  ...JSON_BODY_ERRORS,
  ...ENDPOINT_REFUSALS,
  unsupported_media_type: { status: 415, means: 'not a JSON body' },
  not_found: { status: 404, means: 'no such endpoint or delivery for this token' },
  not_dead: { status: 409, means: 'only a dead delivery can be replayed' },
  endpoint_removed: { status: 409, means: "the delivery's endpoint was removed" },
});
type OutboundWebhookError = CodeOf<typeof OUTBOUND_WEBHOOK_ERRORS>;
const answer = (ctx: Context, code: OutboundWebhookError, error: string) => answerError(OUTBOUND_WEBHOOK_ERRORS, ctx, code, error);
/** The errors of an operation: `codes`, the tenant scope's and 401. */
const errors = (codes: readonly OutboundWebhookError[], extras?: ErrorAnswerExtrasByStatus) => ({
  ...errorAnswers(OUTBOUND_WEBHOOK_ERRORS, ['invalid_query', 'forbidden', ...codes], extras),
  401: UNAUTHORIZED,
});
const deliveryQuery = z.object({
  state: z.enum(['pending', 'delivered', 'dead']).optional().meta({ description: 'Only deliveries in this state; `dead` lists the dead letters.' }),
  organization: organizationFilter,
  limit: z.coerce.number().int().min(1).max(100).default(50).meta({ description: 'Page size.' }),
  offset: z.coerce.number().int().min(0).default(0).meta({ description: 'Rows to skip.' }),
});
const id = z.uuid();
const idParam = z.object({ id });
const timestamp = z.iso.datetime();

const endpointSchema = z
  .object({
    id: z.uuid(),
    organization: z.string(),
    url: z.string(),
    eventTypes: z.array(z.enum(OUTBOUND_EVENT_FILTERS)),
    enabled: z.boolean(),
    createdAt: timestamp,
  })
  .meta({ id: 'OutboundEndpoint', description: 'Where the events of an organization are POSTed, signed with its secret.' });
const createdEndpointSchema = endpointSchema
  .extend({ secret: z.string().meta({ description: 'The signing secret: shown only in this answer.' }) })
  .meta({ id: 'CreatedOutboundEndpoint' });
const deliverySchema = z
  .object({
    id: z.uuid().meta({ description: 'Also the `Idempotency-Key` the endpoint receives.' }),
    endpointId: z.uuid(),
    outboxEventId: z.string(),
    eventType: z.enum(EVENT_TYPES),
    organization: z.string(),
    state: z.enum(['pending', 'delivered', 'dead']),
    attempts: z.number().int().min(0),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable().meta({ description: 'e.g. `outbound webhook answered 500`, `unreachable: ECONNREFUSED`, `endpoint removed`.' }),
    createdAt: timestamp,
    deliveredAt: timestamp.nullable(),
    deadAt: timestamp.nullable(),
  })
  .meta({ id: 'OutboundDelivery', description: 'One outbox event to one endpoint.' });
const deliveryPageSchema = z
  .object({ data: z.array(deliverySchema), pagination: z.object({ limit: z.number().int(), offset: z.number().int(), total: z.number().int() }) })
  .meta({ id: 'OutboundDeliveryPage' });

const endpointView = ({ id, organization, url, eventTypes, enabled, createdAt }: OutboundEndpoint): z.input<typeof endpointSchema> => ({
  id,
  organization,
  url,
  eventTypes,
  enabled,
  createdAt: createdAt.toISOString(),
});

const deliveryView = (row: OutboundDelivery): z.input<typeof deliverySchema> => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  deliveredAt: row.deliveredAt?.toISOString() ?? null,
  deadAt: row.deadAt?.toISOString() ?? null,
});

const TAG = ['outbound webhooks'];
export const outboundWebhookPaths: ApiPaths = {
  '/api/outbound-endpoints': {
    post: {
      operationId: 'addOutboundEndpoint',
      tags: TAG,
      summary: 'Add an endpoint; its signing secret is in this answer only',
      security: BEARER_TOKEN,
      requestParams: { query: organizationQuery },
      requestBody: { content: { 'application/json': { schema: newOutboundEndpoint } } },
      responses: {
        201: jsonAnswer('The endpoint, with its secret.', createdEndpointSchema),
        ...errors(
          ['organization_required', 'invalid_body', 'payload_too_large', 'unsupported_media_type', ...(Object.keys(ENDPOINT_REFUSALS) as (keyof typeof ENDPOINT_REFUSALS)[])],
          { 429: { headers: RETRY_AFTER } },
        ),
      },
    },
    get: {
      operationId: 'listOutboundEndpoints',
      tags: TAG,
      summary: 'The enabled endpoints, newest first (without their secrets)',
      security: BEARER_TOKEN,
      requestParams: { query: organizationQuery },
      responses: {
        200: jsonAnswer('The endpoints.', z.object({ data: z.array(endpointSchema) }).meta({ id: 'OutboundEndpointList' })),
        ...errors([]),
      },
    },
  },
  '/api/outbound-endpoints/{id}': {
    delete: {
      operationId: 'removeOutboundEndpoint',
      tags: TAG,
      summary: 'Remove an endpoint: it receives nothing more, its pending deliveries end dead',
      security: BEARER_TOKEN,
      requestParams: { path: idParam, query: organizationQuery },
      responses: {
        204: { description: 'Removed.' },
        ...errors(['not_found']),
      },
    },
  },
  '/api/outbound-deliveries': {
    get: {
      operationId: 'listOutboundDeliveries',
      tags: TAG,
      summary: 'Deliveries, newest first; `?state=dead` lists the dead letters',
      security: BEARER_TOKEN,
      requestParams: { query: deliveryQuery },
      responses: { 200: jsonAnswer('A page of deliveries.', deliveryPageSchema), ...errors([]) },
    },
  },
  '/api/outbound-deliveries/{id}/replay': {
    post: {
      operationId: 'replayOutboundDelivery',
      tags: TAG,
      summary: 'Send a dead delivery again, from its first attempt, with the same Idempotency-Key',
      security: BEARER_TOKEN,
      requestParams: { path: idParam, query: organizationQuery },
      responses: {
        202: jsonAnswer(
          'Pending again; its workflow is started (once one of its organization\'s deliveries settles, when as many as allowed are in flight).',
          z.object({ replayed: z.literal(true), deliveryId: z.uuid(), workflowId: z.string() }).meta({ id: 'OutboundReplay' }),
        ),
        ...errors(['not_found', 'not_dead', 'endpoint_removed']),
      },
    },
  },
};

export function outboundWebhookRoutes({ orm, config, logger, apiTokens }: ReceiverDependencies): Router {
  const router = new Router({ prefix: '/api' });
  router.use(requireApiToken(apiTokens));
  const endpointRules = {
    destinations: new OutboundDestinations(config.outboundWebhooks.destinations),
    maxPerOrganization: config.outboundWebhooks.maxEndpointsPerOrganization,
    sealSecret: secretSealing(config.outboundWebhooks.secretKey && new SecretBox(config.outboundWebhooks.secretKey)),
  };

  router.post('/outbound-endpoints', async (ctx) => {
    const organization = oneOrganization(ctx);
    if (!organization) return;
    if (!ctx.is('application/json')) return answer(ctx, 'unsupported_media_type', 'Send a JSON body (Content-Type: application/json)');
    const body = await jsonBody(ctx);
    if (body === undefined) return;
    const input = newOutboundEndpoint.safeParse(body);
    if (!input.success) return answer(ctx, 'invalid_body', describe(input.error));
    let endpoint;
    try {
      endpoint = await addOutboundEndpoint(orm.em, organization, input.data, endpointRules);
    } catch (error) {
      if (!(error instanceof OutboundEndpointRefused)) throw error;
      if (error.code === 'outbound_endpoint_limit_reached') ctx.set('Retry-After', String(ENDPOINT_LIMIT_RETRY_AFTER_SECONDS));
      return answer(ctx, error.code, error.message);
    }
    requestLogger(ctx, logger).info({ endpointId: endpoint.id, organization: endpoint.organization }, 'Outbound endpoint added');
    ctx.status = 201;
    ctx.body = { ...endpointView(endpoint), secret: endpoint.secret };
  });

  router.get('/outbound-endpoints', async (ctx) => {
    const scope = tokenOrNamedOrganization(ctx);
    if (!scope) return;
    ctx.body = { data: (await listOutboundEndpoints(orm.em, scope.organization)).map(endpointView) };
  });

  router.delete('/outbound-endpoints/:id', async (ctx) => {
    const scope = tokenOrNamedOrganization(ctx);
    if (!scope) return;
    const endpointId = ctx.params.id;
    if (!id.safeParse(endpointId).success || !(await disableOutboundEndpoint(orm.em, endpointId, scope.organization))) {
      return answer(ctx, 'not_found', 'No such outbound endpoint');
    }
    requestLogger(ctx, logger).info({ endpointId, organization: scope.organization ?? null }, 'Outbound endpoint removed');
    ctx.status = 204;
  });

  router.get('/outbound-deliveries', async (ctx) => {
    const query = deliveryQuery.safeParse(ctx.query);
    if (!query.success) return answer(ctx, 'invalid_query', describe(query.error));
    const scope = tokenOrNamedOrganization(ctx);
    if (!scope) return;
    const [rows, total] = await listOutboundDeliveries(orm.em, { ...query.data, organization: scope.organization });
    ctx.body = {
      data: rows.map(deliveryView),
      pagination: { limit: query.data.limit, offset: query.data.offset, total },
    };
  });

  router.post('/outbound-deliveries/:id/replay', async (ctx) => {
    const scope = tokenOrNamedOrganization(ctx);
    if (!scope) return;
    const deliveryId = ctx.params.id;
    if (!id.safeParse(deliveryId).success) return answer(ctx, 'not_found', 'No such outbound delivery');
    const log = requestLogger(ctx, logger);
    const result = await replayOutboundDelivery(orm.em, deliveryId, scope.organization);
    if (!result.replayed) {
      if (result.reason === 'missing') return answer(ctx, 'not_found', 'No such outbound delivery');
      if (result.reason === 'endpoint_disabled') return answer(ctx, 'endpoint_removed', 'Its endpoint was removed: add the endpoint again');
      return answer(ctx, 'not_dead', `Only a dead delivery can be replayed; this one is ${result.reason}`);
    }
    log.info({ deliveryId, organization: scope.organization ?? null }, 'Outbound delivery replayed');
    ctx.status = 202;
    ctx.body = { replayed: true, deliveryId, workflowId: result.workflowId };
  });

  return router;
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
}
