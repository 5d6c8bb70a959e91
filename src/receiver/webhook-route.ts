/**
 * POST /calendly/webhook. Order matters: what can be refused without the body is refused before reading it
 * (content type, signature header present, well-formed and fresh, declared length), then the raw body is read
 * within its limit (no JSON parsing before the signature check), then the signature, then Temporal. A 2xx means
 * the delivery is durable in Temporal; anything not durable gets a 503 so that Calendly retries it (for 24 h).
 *
 * A refusal costs no database write: it is counted (src/receiver/refusals.ts) and spends a point of its client
 * address. An address out of points is answered 429 without its body being read, unless its signature header is
 * well-formed and fresh: then the body is read and checked, because a validly signed delivery is never limited.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { z } from 'zod';
import { legacyEnvelopeSchema, webhookEnvelopeSchema } from '../calendly/schemas';
import { SIGNATURE_HEADER, signatureHeaderProblem, verifySignature, type SignatureOutcome } from '../calendly/signature';
import { parseDelivery } from '../deliveries/parse';
import { startDeliveryWorkflow } from '../deliveries/intake';
import { isTestDelivery, TEST_EVENT } from '../deliveries/test-delivery';
import { recordTestDelivery } from '../database/deliveries';
import { answerError, errorAnswers, errorCatalogue, type CodeOf, type ErrorAnswerExtrasByStatus } from './api-errors';
import { webhookAcknowledgementSchema } from './api-schemas';
import { ConnectionSigningKeys, SigningKeysUnavailable, type ConnectionKey } from './connection-signing-keys';
import type { ReceiverDependencies } from './dependencies';
import { jsonAnswer, RETRY_AFTER, type ApiOperation, type ApiPaths } from './openapi';
import { organizationLabel } from '../metrics';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../workflow-ids';
import { eventTypeLabel, webhookAckSeconds, webhookDeliveries, type DeliveryOutcome } from './metrics';
import { requestLogger, setTrackingId } from './request-context';

export const WEBHOOK_PATH = '/calendly/webhook';
export const MAX_BODY_BYTES = 1024 * 1024;

/** Every error the webhook answers; each also carries the delivery's `trackingId`. */
export const WEBHOOK_ERRORS = errorCatalogue({
  request_aborted: { status: 400, means: 'the request was aborted before its body arrived' },
  signature_missing: { status: 401, means: 'no Calendly-Webhook-Signature header' },
  signature_malformed: { status: 401, means: 'the signature header is not `t=<unix seconds>,v1=<hex>`' },
  signature_mismatch: { status: 401, means: 'the signature matches no signing key of the subscription' },
  signature_expired: { status: 401, means: "the signature's `t` is too old" },
  signature_future: { status: 401, means: "the signature's `t` is ahead of the receiver's clock" },
  unknown_connection: { status: 404, means: 'no connection has this URL' },
  connection_disconnected: {
    status: 410,
    means: "the connection was disconnected: Calendly deletes its subscription at once (never for a connected connection's current key)",
  },
  subscription_retired: {
    status: 410,
    means: 'signed with the key of the Calendly organization the connection was moved away from: Calendly deletes that subscription at once',
  },
  payload_too_large: { status: 413, means: `the body is over ${MAX_BODY_BYTES} bytes` },
  unsupported_media_type: { status: 415, means: 'not a JSON content type' },
  rate_limited: { status: 429, means: 'this client address was refused too often this minute (never a validly signed delivery)' },
  temporal_unavailable: { status: 503, means: 'Temporal did not accept the delivery in time: not durable, so Calendly retries' },
  database_unavailable: {
    status: 503,
    means:
      "PostgreSQL is down: a connection's signing key was never read by this receiver (a connection's URL), or a test delivery cannot be logged; Calendly retries",
  },
});
type WebhookError = CodeOf<typeof WEBHOOK_ERRORS>;

export function webhookRoutes(deps: ReceiverDependencies): Router {
  const router = new Router();
  const keys = new ConnectionSigningKeys(deps.orm, deps.connections?.box, deps.config.http.signingKeyCacheSeconds * 1000, deps.logger);
  const personalTokenKeys = deps.config.calendly.signingKeys;
  const connectionTarget = (key: ConnectionKey): DeliveryTarget => ({
    connectionId: key.connectionId,
    organization: key.organization,
    signingKeys: key.signingKey ? [key.signingKey] : [],
    gone: key.disconnected,
    retiredSigningKeys: key.retiredSigningKey ? [key.retiredSigningKey] : [],
  });
  /**
   * Signed with CALENDLY_WEBHOOK_SIGNING_KEY, which needs no database: its deliveries are accepted while PostgreSQL
   * is down, as they always were. Its organization (for metrics and logs) is read with the OAuth connections' keys,
   * and is unknown until its row exists (src/connections/personal-token.ts). Once OAuth took the row over, its new
   * subscription signs with the stored key, and the old one (at the bare URL) with the environment's key until the
   * operator deletes it: both are accepted, as the same connection, so a booking sent by both is one delivery. The
   * environment's key is not made the retired key (answered 410 Gone): that would delete the old subscription before
   * the operator has checked the new one delivers.
   */
  const personalTokenTarget = async (): Promise<DeliveryTarget | undefined> => {
    if (!personalTokenKeys.length) return undefined;
    const key = await keys.keyOf(PERSONAL_TOKEN_CONNECTION_ID).catch((error: unknown) => {
      if (error instanceof SigningKeysUnavailable) return undefined;
      throw error;
    });
    const target = key ? connectionTarget(key) : { connectionId: PERSONAL_TOKEN_CONNECTION_ID, organization: null, gone: false, retiredSigningKeys: [] };
    return { ...target, signingKeys: [...(key?.signingKey ? [key.signingKey] : []), ...personalTokenKeys] };
  };
  // The personal token connection's subscription was made before connections had URLs of their own: the bare URL is its.
  router.post(WEBHOOK_PATH, (ctx) => receiveDelivery(ctx, deps, personalTokenTarget));
  // Each OAuth connection's subscription delivers to its own URL, signed with its own key.
  router.post(`${WEBHOOK_PATH}/:connectionId`, (ctx) =>
    receiveDelivery(ctx, deps, async () => {
      // Without CALENDLY_WEBHOOK_SIGNING_KEY, the personal token connection's row (taken over by OAuth) is like any other.
      if (ctx.params.connectionId === PERSONAL_TOKEN_CONNECTION_ID && personalTokenKeys.length) return personalTokenTarget();
      const key = await keys.keyOf(ctx.params.connectionId);
      return key && connectionTarget(key);
    }),
  );
  return router;
}

/** Whose subscription a delivery was sent to, and the keys it may be signed with. */
interface DeliveryTarget {
  connectionId: string;
  /** the connection's organization; null while the personal token connection's row cannot be read */
  organization: string | null;
  signingKeys: readonly string[];
  /** a disconnected connection: a delivery signed with its key is answered 410 Gone, which deletes its subscription */
  gone: boolean;
  /** keys of subscriptions that should not exist any more (a former Calendly organization's): answered 410 Gone too */
  retiredSigningKeys: readonly string[];
}

/** `target` resolves to undefined when nothing may deliver to this URL (an unknown connection). */
async function receiveDelivery(ctx: Context, deps: ReceiverDependencies, target: () => Promise<DeliveryTarget | undefined>): Promise<void> {
  const { config, temporal, logger, refusals } = deps;
  const trackingId = randomUUID();
  setTrackingId(ctx, trackingId);
  const receivedAt = new Date();
  // ctx.ip heeds X-Forwarded-For only as far as TRUST_PROXY_HOPS trusts it (app.ts).
  const address = ctx.ip || 'unknown';
  const limitedForMs = await refusals.limitedFor(address);

  const answer = (code: WebhookError, error: string) => answerError(WEBHOOK_ERRORS, ctx, code, error, { trackingId });
  const reject = (code: WebhookError, error: string, signature: SignatureOutcome | 'unchecked') => {
    if (limitedForMs !== undefined) {
      code = 'rate_limited';
      error = 'Too many refused requests from this address; retry later';
      ctx.set('Retry-After', String(Math.ceil(limitedForMs / 1000)));
    }
    refusals.record({ reason: code, status: WEBHOOK_ERRORS[code].status, trackingId, address, signature });
    answer(code, error);
  };

  const type = ctx.request.type;
  if (type !== 'application/json' && !type.endsWith('+json')) {
    return reject('unsupported_media_type', 'Content-Type must be application/json', 'unchecked');
  }

  const header = ctx.get(SIGNATURE_HEADER) || undefined;
  const verifyOptions = {
    signingKeys: [] as readonly string[],
    toleranceSeconds: config.calendly.signatureToleranceSeconds,
    nowSeconds: Math.floor(receivedAt.getTime() / 1000),
  };
  const headerProblem = signatureHeaderProblem(header, verifyOptions);
  if (headerProblem) return reject(`signature_${headerProblem}`, SIGNATURE_ERRORS[headerProblem], headerProblem);

  let delivery: DeliveryTarget | undefined;
  try {
    delivery = await target();
  } catch (error) {
    if (!(error instanceof SigningKeysUnavailable)) throw error;
    // Not the client's fault and not a refusal: Calendly retries a 5xx, and by then the database may be back.
    requestLogger(ctx, logger).warn({ err: error, trackingId }, 'Delivery not checked: its signing key cannot be read');
    ctx.set('Retry-After', '30');
    return answer('database_unavailable', "The connection's signing key cannot be read now; retry later");
  }
  if (!delivery) return reject('unknown_connection', 'No Calendly connection receives deliveries at this URL', 'unchecked');
  verifyOptions.signingKeys = delivery.signingKeys;

  const declaredLength = ctx.request.length;
  if (declaredLength !== undefined && declaredLength > MAX_BODY_BYTES) {
    return reject('payload_too_large', `Body exceeds ${MAX_BODY_BYTES} bytes`, 'unchecked');
  }

  let rawBody: Buffer;
  try {
    rawBody = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, length: declaredLength });
  } catch (error) {
    const failure = (error as { type?: string }).type;
    if (failure === 'entity.too.large') {
      return reject('payload_too_large', `Body exceeds ${MAX_BODY_BYTES} bytes`, 'unchecked');
    }
    if (failure === 'request.aborted') {
      // The client went away or the server's request timeout cut a stalled upload: no one to answer.
      return reject('request_aborted', 'The request was aborted before its body arrived', 'unchecked');
    }
    throw error;
  }

  const stopAckTimer = webhookAckSeconds.startTimer();
  const signature = verifySignature(rawBody, header, verifyOptions);
  const retired = signature === 'mismatch' && verifySignature(rawBody, header, { ...verifyOptions, signingKeys: delivery.retiredSigningKeys }) === 'valid';
  if (signature !== 'valid' && !retired) {
    return reject(`signature_${signature}`, SIGNATURE_ERRORS[signature], signature);
  }

  const { connectionId, organization } = delivery;
  const log = requestLogger(ctx, logger).child({ trackingId, connectionId, organization });
  if (delivery.gone || retired) {
    // Only the subscription that should be gone can sign this: Calendly deletes it on this answer.
    stopAckTimer({ organization: organizationLabel(organization) });
    log.info({ retired }, 'Delivery from a subscription that should be gone: answered 410 Gone so that Calendly deletes it');
    return delivery.gone
      ? answer('connection_disconnected', 'This connection was disconnected: its webhook subscription should be deleted')
      : answer('subscription_retired', 'This connection moved to another Calendly organization: this subscription should be deleted');
  }
  const labels = { organization: organizationLabel(organization) };
  if (isTestDelivery(rawBody)) {
    stopAckTimer(labels);
    try {
      await recordTestDelivery(deps.orm.em, { id: trackingId, receivedAt, eventType: TEST_EVENT, connectionId });
    } catch (error) {
      log.error({ err: error }, 'The test webhook could not be logged');
      return answer('database_unavailable', 'The delivery log is unavailable; retry later');
    }
    log.info('Test webhook received');
    ctx.body = { accepted: true, test: true, trackingId };
    return;
  }
  const parsed = parseDelivery(rawBody, config.calendly.apiBaseUrl, connectionId);
  const counted = (outcome: DeliveryOutcome) => {
    stopAckTimer(labels);
    webhookDeliveries.inc({ event_type: eventTypeLabel(parsed.delivery.eventName), outcome, ...labels });
  };
  try {
    const result = await startDeliveryWorkflow(parsed, {
      client: temporal,
      taskQueue: config.temporal.taskQueue,
      deliveryId: trackingId,
      receivedAt,
      source: 'webhook',
    });
    counted(result.duplicate ? 'duplicate' : parsed.kind === 'unprocessed' ? 'unprocessed' : 'accepted');
    log.info(
      { workflowId: result.workflowId, duplicate: result.duplicate, kind: result.kind, ms: Date.now() - receivedAt.getTime() },
      result.duplicate ? 'Duplicate webhook delivery acknowledged' : 'Webhook delivery accepted',
    );
    ctx.status = result.duplicate ? 200 : 202;
    ctx.body = {
      accepted: true,
      duplicate: result.duplicate,
      workflowId: result.workflowId,
      trackingId,
      ...(parsed.kind === 'unprocessed' ? { unprocessed: parsed.delivery.reason } : {}),
    } satisfies z.output<typeof webhookAcknowledgementSchema>;
  } catch (error) {
    counted('temporal_unavailable');
    log.error({ err: error }, 'Temporal did not accept the delivery');
    ctx.set('Retry-After', '30');
    answer('temporal_unavailable', 'The delivery could not be stored durably; retry later');
  }
}


const TRACKING_ID = { trackingId: z.uuid().meta({ description: 'The id on the log line of this request.' }) };
/**
 * Every error carries the trackingId. A 429 says when to retry; so does a 503, except when a test delivery cannot be
 * logged (Calendly's retry schedule then applies).
 */
const WEBHOOK_ERROR_EXTRAS: ErrorAnswerExtrasByStatus = Object.fromEntries(
  Object.values(WEBHOOK_ERRORS).map(({ status }) => [
    status,
    { fields: TRACKING_ID, ...(status === 429 ? { headers: RETRY_AFTER } : status === 503 ? { headers: RETRY_AFTER.partial() } : {}) },
  ]),
);

/** Both webhook URLs answer alike; `subscription` says whose subscription delivers to the URL. */
function deliveryOperation(operationId: string, subscription: string, pathParams?: z.ZodObject): ApiOperation {
  return {
    operationId,
    tags: ['Calendly webhook'],
    summary: 'A signed Calendly webhook delivery',
    description:
      `The URL ${subscription} calls. The signature is checked over the raw bytes; a 2xx means the delivery is durable ` +
      'in Temporal. Signed deliveries that cannot be processed are acknowledged too (kept raw for replay), so Calendly ' +
      `does not disable the subscription. Bodies over ${MAX_BODY_BYTES} bytes are refused.`,
    requestParams: {
      ...(pathParams ? { path: pathParams } : {}),
      header: z.object({
        'Calendly-Webhook-Signature': z.string().meta({
          description: '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with a signing key of the subscription.',
        }),
      }),
    },
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: z.union([webhookEnvelopeSchema, legacyEnvelopeSchema]).meta({ description: "Calendly's current or retired (v1) envelope." }),
        },
      },
    },
    responses: {
      202: jsonAnswer('Accepted and durable in Temporal (with `unprocessed` when it is kept raw for replay).', webhookAcknowledgementSchema),
      200: jsonAnswer('The same delivery was accepted before (`duplicate: true`): nothing changes.', webhookAcknowledgementSchema),
      ...errorAnswers(WEBHOOK_ERRORS, Object.keys(WEBHOOK_ERRORS) as WebhookError[], WEBHOOK_ERROR_EXTRAS),
    },
  };
}

export const webhookPaths: ApiPaths = {
  [WEBHOOK_PATH]: { post: deliveryOperation('receiveCalendlyWebhook', "the personal token connection's Calendly subscription (CALENDLY_WEBHOOK_SIGNING_KEY)") },
  [`${WEBHOOK_PATH}/{connectionId}`]: {
    post: deliveryOperation(
      'receiveConnectionWebhook',
      "a connection's Calendly subscription (the personal token connection's too, with its fixed id)",
      z.object({ connectionId: z.string().meta({ description: 'The connection the subscription belongs to.' }) }),
    ),
  },
};

const SIGNATURE_ERRORS: Record<Exclude<SignatureOutcome, 'valid'>, string> = {
  missing: 'Missing Calendly-Webhook-Signature header',
  malformed: 'Malformed Calendly-Webhook-Signature header: expected t=<unix seconds>,v1=<hex>',
  mismatch: 'Signature does not match the body for any configured signing key',
  expired: 'Signature timestamp is too old',
  future: 'Signature timestamp is in the future',
};
