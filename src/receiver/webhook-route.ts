/**
 * POST /calendly/webhook. Order matters: content type, raw body (no JSON parsing before the signature check),
 * signature, then Temporal. A 2xx means the delivery is durable in Temporal; anything not durable gets a 503 so
 * that Calendly retries it (for 24 h).
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { SIGNATURE_HEADER, verifySignature, type SignatureOutcome } from '../calendly/signature';
import { recordRejectedDelivery } from '../database/deliveries';
import { parseDelivery } from '../deliveries/parse';
import { startDeliveryWorkflow } from '../deliveries/intake';
import type { ReceiverDependencies } from './dependencies';

export const WEBHOOK_PATH = '/calendly/webhook';
export const MAX_BODY_BYTES = 1024 * 1024;

export function webhookRoutes(deps: ReceiverDependencies): Router {
  const router = new Router();
  router.post(WEBHOOK_PATH, (ctx) => receiveDelivery(ctx, deps));
  return router;
}

async function receiveDelivery(ctx: Context, deps: ReceiverDependencies): Promise<void> {
  const { config, temporal, logger } = deps;
  const trackingId = randomUUID();
  const receivedAt = new Date();
  const log = logger.child({ trackingId });

  const reject = (status: number, code: string, error: string, signature: SignatureOutcome | 'unchecked') => {
    log.warn({ status, code, signature }, 'Webhook delivery refused');
    ctx.status = status;
    ctx.body = { error, code, trackingId };
    // Best effort: the audit row must not hold up the answer, nor fail it when the database is down.
    recordRejectedDelivery(deps.orm.em.fork(), { deliveryId: trackingId, receivedAt, signature, detail: `${status} ${code}` }).catch(
      (failure: Error) => log.error({ err: failure }, 'Could not record the refused delivery'),
    );
  };

  const type = ctx.request.type;
  if (type !== 'application/json' && !type.endsWith('+json')) {
    return reject(415, 'unsupported_media_type', 'Content-Type must be application/json', 'unchecked');
  }

  let rawBody: Buffer;
  try {
    rawBody = await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, length: ctx.request.length });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') {
      return reject(413, 'payload_too_large', `Body exceeds ${MAX_BODY_BYTES} bytes`, 'unchecked');
    }
    throw error;
  }

  const signature = verifySignature(rawBody, ctx.get(SIGNATURE_HEADER) || undefined, {
    signingKeys: config.calendly.signingKeys,
    toleranceSeconds: config.calendly.signatureToleranceSeconds,
    nowSeconds: Math.floor(receivedAt.getTime() / 1000),
  });
  if (signature !== 'valid') {
    return reject(401, `signature_${signature}`, SIGNATURE_ERRORS[signature], signature);
  }

  const parsed = parseDelivery(rawBody, config.calendly.apiBaseUrl);
  try {
    const result = await startDeliveryWorkflow(parsed, {
      client: temporal,
      taskQueue: config.temporal.taskQueue,
      deliveryId: trackingId,
      receivedAt,
      source: 'webhook',
    });
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
    log.error({ err: error }, 'Temporal did not accept the delivery');
    ctx.status = 503;
    ctx.set('Retry-After', '30');
    ctx.body = { error: 'The delivery could not be stored durably; retry later', code: 'temporal_unavailable', trackingId };
  }
}

const SIGNATURE_ERRORS: Record<Exclude<SignatureOutcome, 'valid'>, string> = {
  missing: 'Missing Calendly-Webhook-Signature header',
  malformed: 'Malformed Calendly-Webhook-Signature header: expected t=<unix seconds>,v1=<hex>',
  mismatch: 'Signature does not match the body for any configured signing key',
  expired: 'Signature timestamp is too old',
  future: 'Signature timestamp is in the future',
};
