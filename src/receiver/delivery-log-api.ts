/**
 * The webhook delivery log, behind the API token: GET /api/deliveries (filtered, latest first) and
 * POST /api/deliveries/{id}/replay, which feeds a failed or unprocessed delivery through the intake again, by the
 * same path as `npm run replay-deliveries -- --failed --id <id>`. Both follow `tokenOrganization`: a token bound to an
 * organization sees and replays only that organization's deliveries (another's answers 404, as if it did not exist).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { requireApiToken } from '../auth/api-tokens';
import { findDelivery, listDeliveries } from '../database/deliveries';
import { REPLAYABLE_OUTCOMES, type WebhookDelivery } from '../database/entities/webhook-delivery';
import { replayUnprocessedDeliveries } from '../deliveries/replay';
import { workflowUrl } from '../temporal/web-ui-links';
import { answerError, answerInvalidQuery, errorAnswers, errorCatalogue, QUERY_ERRORS, type CodeOf } from './api-errors';
import { deliveryPageSchema, deliveryQuerySchema, deliveryReplaySchema, type deliverySchema } from './delivery-log-schemas';
import type { ReceiverDependencies } from './dependencies';
import { BEARER_TOKEN, jsonAnswer, RETRY_AFTER, UNAUTHORIZED, type ApiPaths } from './openapi';
import { perOrganizationPerMinute } from './organization-rate-limit';
import { requestLogger } from './request-context';
import { tokenOrganization } from './tenant-scope';

/**
 * Replays one organization may ask for per minute (per receiver process). Each starts a workflow that calls
 * Calendly with the organization's own token; a replayed delivery is no longer replayable, so repeated clicks on one
 * cost a lookup, but clicks over many would otherwise cost the organization its Calendly rate limit.
 */
const REPLAYS_PER_MINUTE_PER_ORGANIZATION = 30;

export const DELIVERY_LOG_ERRORS = errorCatalogue({
  ...QUERY_ERRORS,
  not_found: { status: 404, means: 'no such delivery for this token' },
  not_replayable: { status: 409, means: 'only a `failed` or `unprocessed` delivery can be replayed (`error` says what it is now)' },
  still_unprocessable: { status: 422, means: 'the kept delivery still cannot be processed; `error` says why, and it stays as it was' },
  replay_rate_limited: {
    status: 429,
    means: `the organization asked for more than ${REPLAYS_PER_MINUTE_PER_ORGANIZATION} replays this minute; \`Retry-After\` says when to ask again`,
  },
});
type DeliveryLogError = CodeOf<typeof DELIVERY_LOG_ERRORS>;
const answer = (ctx: Context, code: DeliveryLogError, error: string) => answerError(DELIVERY_LOG_ERRORS, ctx, code, error);

const idParam = z.object({ id: z.uuid() });
const TAG = ['delivery log'];

export const deliveryLogPaths: ApiPaths = {
  '/api/deliveries': {
    get: {
      operationId: 'listDeliveries',
      tags: TAG,
      summary: 'The webhook delivery log, latest first; `?outcome=failed` lists the deliveries that failed for good',
      description: "A token bound to an organization sees that organization's deliveries (its test webhooks included).",
      security: BEARER_TOKEN,
      requestParams: { query: deliveryQuerySchema },
      responses: {
        200: jsonAnswer('A page of deliveries.', deliveryPageSchema),
        ...errorAnswers(DELIVERY_LOG_ERRORS, ['invalid_query']),
        401: UNAUTHORIZED,
      },
    },
  },
  '/api/deliveries/{id}/replay': {
    post: {
      operationId: 'replayDelivery',
      tags: TAG,
      summary: 'Feed a failed or unprocessed delivery through again, as `replay-deliveries --failed --id` does',
      description:
        'A failed delivery is fed again under its own workflow ID and moves to `processing`, then to its new outcome; an ' +
        'unprocessed one is parsed again and, when it now can be, started and marked `replayed`. Asking again while it ' +
        'runs answers `not_replayable` (or `duplicate: true` in the instant before it moves): nothing is started twice.',
      security: BEARER_TOKEN,
      requestParams: { path: idParam },
      responses: {
        202: jsonAnswer('Started (or found running): follow its outcome in GET /api/deliveries.', deliveryReplaySchema),
        ...errorAnswers(DELIVERY_LOG_ERRORS, ['not_found', 'not_replayable', 'still_unprocessable', 'replay_rate_limited'], {
          429: { headers: RETRY_AFTER },
        }),
        401: UNAUTHORIZED,
      },
    },
  },
};

export function deliveryLogRoutes({ orm, config, temporal, logger, apiTokens }: ReceiverDependencies): Router {
  const router = new Router({ prefix: '/api' });
  router.use(requireApiToken(apiTokens));
  const replays = perOrganizationPerMinute(REPLAYS_PER_MINUTE_PER_ORGANIZATION);
  const view = (row: WebhookDelivery): z.input<typeof deliverySchema> => ({
    id: row.id,
    receivedAt: row.receivedAt,
    eventType: row.eventType,
    outcome: row.outcome,
    detail: row.detail,
    inviteeUri: row.inviteeUri,
    scheduledEventUri: row.scheduledEventUri,
    organization: row.organization,
    workflowId: row.workflowId,
    workflowUrl: row.workflowId ? workflowUrl(config.temporal, row.workflowId) : null,
    replayable: REPLAYABLE_OUTCOMES.includes(row.outcome),
  });

  router.get('/deliveries', async (ctx) => {
    const query = deliveryQuerySchema.safeParse(ctx.query);
    if (!query.success) return answerInvalidQuery(ctx, query.error);
    const [rows, total] = await listDeliveries(orm.em, { ...query.data, organization: tokenOrganization(ctx) });
    ctx.body = { data: rows.map(view), pagination: { limit: query.data.limit, offset: query.data.offset, total } };
  });

  router.post('/deliveries/:id/replay', async (ctx) => {
    const organization = tokenOrganization(ctx);
    // Every ask spends a point, also one for an id that is not there: probing costs the same.
    if (!(await replays.allows(ctx, organization))) return answer(ctx, 'replay_rate_limited', 'Too many replays for this organization this minute');
    const { id } = ctx.params;
    const delivery = idParam.safeParse({ id }).success ? await findDelivery(orm.em, id, organization) : null;
    if (!delivery) return answer(ctx, 'not_found', 'No such delivery');
    if (!REPLAYABLE_OUTCOMES.includes(delivery.outcome)) {
      return answer(ctx, 'not_replayable', `Only a failed or unprocessed delivery can be replayed; this one is ${delivery.outcome}`);
    }
    const [result] = await replayUnprocessedDeliveries({
      em: orm.em,
      temporal,
      taskQueue: config.temporal.taskQueue,
      apiBaseUrl: config.calendly.apiBaseUrl,
      ids: [id],
      dryRun: false,
      failed: true,
    });
    // Another replay or a redelivery moved it on between the two reads.
    if (!result) return answer(ctx, 'not_replayable', 'It is no longer failed or unprocessed: another replay or a redelivery took it');
    requestLogger(ctx, logger).info({ deliveryId: id, organization: delivery.organization, result: result.result }, 'Delivery replayed from the API');
    if (result.result === 'still unprocessable') return answer(ctx, 'still_unprocessable', result.reason);
    if (result.result !== 'replayed') throw new Error(`a replay that is not a dry run answered ${result.result}`);
    ctx.status = 202;
    ctx.body = result satisfies z.input<typeof deliveryReplaySchema>;
  });

  return router;
}
