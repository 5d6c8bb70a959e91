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
import { SIGNATURE_HEADER, signatureHeaderProblem, verifySignature, type SignatureOutcome } from '../calendly/signature';
import { parseDelivery } from '../deliveries/parse';
import { startDeliveryWorkflow } from '../deliveries/intake';
import type { ReceiverDependencies } from './dependencies';
import { eventTypeLabel, webhookAckSeconds, webhookDeliveries, type DeliveryOutcome } from './metrics';
import { requestLogger, setTrackingId } from './request-context';

export const WEBHOOK_PATH = '/calendly/webhook';
export const MAX_BODY_BYTES = 1024 * 1024;

export function webhookRoutes(deps: ReceiverDependencies): Router {
  const router = new Router();
  router.post(WEBHOOK_PATH, (ctx) => receiveDelivery(ctx, deps));
  return router;
}

async function receiveDelivery(ctx: Context, deps: ReceiverDependencies): Promise<void> {
  const { config, temporal, logger, refusals } = deps;
  const trackingId = randomUUID();
  setTrackingId(ctx, trackingId);
  const receivedAt = new Date();
  const address = clientAddress(ctx);
  const limitedForMs = await refusals.limitedFor(address);

  const reject = (status: number, code: string, error: string, signature: SignatureOutcome | 'unchecked') => {
    if (limitedForMs !== undefined) {
      status = 429;
      code = 'rate_limited';
      error = 'Too many refused requests from this address; retry later';
      ctx.set('Retry-After', String(Math.ceil(limitedForMs / 1000)));
    }
    refusals.record({ reason: code, status, trackingId, address, signature });
    ctx.status = status;
    ctx.body = { error, code, trackingId };
  };

  const type = ctx.request.type;
  if (type !== 'application/json' && !type.endsWith('+json')) {
    return reject(415, 'unsupported_media_type', 'Content-Type must be application/json', 'unchecked');
  }

  const header = ctx.get(SIGNATURE_HEADER) || undefined;
  const verifyOptions = {
    signingKeys: config.calendly.signingKeys,
    toleranceSeconds: config.calendly.signatureToleranceSeconds,
    nowSeconds: Math.floor(receivedAt.getTime() / 1000),
  };
  const headerProblem = signatureHeaderProblem(header, verifyOptions);
  if (headerProblem) return reject(401, `signature_${headerProblem}`, SIGNATURE_ERRORS[headerProblem], headerProblem);

  const declaredLength = ctx.request.length;
  if (declaredLength !== undefined && declaredLength > MAX_BODY_BYTES) {
    return reject(413, 'payload_too_large', `Body exceeds ${MAX_BODY_BYTES} bytes`, 'unchecked');
  }

  let rawBody: Buffer;
  try {
    rawBody = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, length: declaredLength });
  } catch (error) {
    const failure = (error as { type?: string }).type;
    if (failure === 'entity.too.large') {
      return reject(413, 'payload_too_large', `Body exceeds ${MAX_BODY_BYTES} bytes`, 'unchecked');
    }
    if (failure === 'request.aborted') {
      // The client went away or the server's request timeout cut a stalled upload: no one to answer.
      return reject(400, 'request_aborted', 'The request was aborted before its body arrived', 'unchecked');
    }
    throw error;
  }

  const stopAckTimer = webhookAckSeconds.startTimer();
  const signature = verifySignature(rawBody, header, verifyOptions);
  if (signature !== 'valid') {
    return reject(401, `signature_${signature}`, SIGNATURE_ERRORS[signature], signature);
  }

  const log = requestLogger(ctx, logger).child({ trackingId });
  const parsed = parseDelivery(rawBody, config.calendly.apiBaseUrl);
  const counted = (outcome: DeliveryOutcome) => {
    stopAckTimer();
    webhookDeliveries.inc({ event_type: eventTypeLabel(parsed.delivery.eventName), outcome });
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
    };
  } catch (error) {
    counted('temporal_unavailable');
    log.error({ err: error }, 'Temporal did not accept the delivery');
    ctx.status = 503;
    ctx.set('Retry-After', '30');
    ctx.body = { error: 'The delivery could not be stored durably; retry later', code: 'temporal_unavailable', trackingId };
  }
}

/**
 * The address a refusal is charged to. Behind a proxy (`app.proxy`), the last X-Forwarded-For entry: the one the
 * nearest proxy appended, which the client cannot choose; the earlier entries can be anything.
 */
function clientAddress(ctx: Context): string {
  return (ctx.app.proxy ? ctx.ips.at(-1) : undefined) ?? ctx.ip ?? 'unknown';
}

const SIGNATURE_ERRORS: Record<Exclude<SignatureOutcome, 'valid'>, string> = {
  missing: 'Missing Calendly-Webhook-Signature header',
  malformed: 'Malformed Calendly-Webhook-Signature header: expected t=<unix seconds>,v1=<hex>',
  mismatch: 'Signature does not match the body for any configured signing key',
  expired: 'Signature timestamp is too old',
  future: 'Signature timestamp is in the future',
};
