/**
 * Outbound event webhooks: send an endpoint's pending deliveries in order (deliverEndpointEvents), or, for runs
 * started before one workflow per endpoint, POST one delivery or record that it is dead (deliverOutboundEvent).
 */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure, log } from '@temporalio/activity';
import type { Activities, EndpointBacklogResult } from '../src/contract';
import type { SecretBox } from '../src/connections/secret-box';
import {
  markOutboundDeliveryDead,
  markOutboundDeliveryDelivered,
  nextPendingOutboundDelivery,
  outboundDeliveryToSend,
  outboundSecretPlace,
  recordOutboundAttempt,
  sealOutboundEndpointSecret,
  type OutboundDeliveryToSend,
} from '../src/database/outbound-webhooks';
import { DestinationRefused, type OutboundDestinations } from '../src/outbound-destinations';
import { outboundWebhookDeliveries } from './metrics';
import { isPermanentRefusal, postSigned } from './signed-post';

/** `Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>` */
export const OUTBOUND_SIGNATURE_HEADER = 'webhook-signature';

/** A pass stops taking deliveries after this; its activity's time-out (a minute) covers the POST under way (15 s at most). */
const PASS_BUDGET_MS = 20_000;

/** `v1.`/`v2.` then base64url parts: a sealed secret; a clear one is 64 hex characters. */
const SEALED = /^v\d+\./;

/** A delivery refused for good (the endpoint's answer or ours) and a failure that may pass, with the attempts so far. */
type AttemptOutcome = { outcome: 'delivered' } | { outcome: 'refused'; reason: string; type: string } | { outcome: 'failed'; reason: string; attempts: number };

/**
 * The endpoint's secret in clear. One stored before secrets were sealed is sealed now, when there is a key (so each
 * is sealed at its first delivery); a sealed one without the key cannot be used, and says so: the delivery is dead.
 */
async function endpointSecret(em: EntityManager, delivery: OutboundDeliveryToSend, box: SecretBox | undefined): Promise<{ secret: string } | { unreadable: string }> {
  const place = outboundSecretPlace(delivery.endpointId);
  if (SEALED.test(delivery.secret)) {
    try {
      if (box) return { secret: box.open(delivery.secret, place) };
    } catch {
      // fall through: changed, moved from another row, or sealed with another key
    }
    return { unreadable: box ? 'endpoint secret does not open' : 'endpoint secret sealed: CONNECTION_ENCRYPTION_KEY unset' };
  }
  if (box) await sealOutboundEndpointSecret(em, delivery.endpointId, delivery.secret, box.seal(delivery.secret, place));
  return { secret: delivery.secret };
}

export function createOutboundWebhookActivities(
  orm: MikroORM,
  destinations: OutboundDestinations,
  box?: SecretBox,
): Pick<Activities, 'sendEndpointBacklog' | 'postOutboundDelivery' | 'markOutboundDeliveryDead'> {
  async function markDead(em: EntityManager, deliveryId: string, reason?: string): Promise<boolean> {
    const organization = await markOutboundDeliveryDead(em, deliveryId, reason);
    if (organization) outboundWebhookDeliveries.inc({ outcome: 'dead', organization });
    return organization !== null;
  }

  /**
   * One attempt: the event as the websocket sends it (`{id, type, occurredAt, organization, data}`), signed with the
   * endpoint's secret, with the delivery's id as Idempotency-Key on every attempt and replay. Each attempt's answer is
   * recorded on the delivery (status, or a reason without personal data). A destination that is not (or no longer) a
   * public address is refused for good: it is checked on the address connected to. A removed endpoint or an
   * unreadable secret make the delivery dead here.
   */
  async function attempt(em: EntityManager, deliveryId: string): Promise<AttemptOutcome> {
    const delivery = await outboundDeliveryToSend(em, deliveryId);
    if (!delivery) return { outcome: 'refused', reason: 'the delivery no longer exists (its outbox event expired)', type: 'OutboundDeliveryGone' };
    if (delivery.state === 'delivered') return { outcome: 'delivered' };
    if (delivery.state === 'dead') return { outcome: 'refused', reason: 'the delivery is dead; replay it to send it again', type: 'OutboundDeliveryDead' };
    const { organization } = delivery.event;
    if (!delivery.endpointEnabled) {
      await markDead(em, deliveryId, 'endpoint removed');
      return { outcome: 'refused', reason: 'the endpoint was removed', type: 'OutboundEndpointRemoved' };
    }
    const secret = await endpointSecret(em, delivery, box);
    if ('unreadable' in secret) {
      await markDead(em, deliveryId, secret.unreadable);
      return { outcome: 'refused', reason: secret.unreadable, type: 'OutboundSecretUnreadable' };
    }

    let response: { status: number };
    try {
      response = await postSigned(destinations, {
        url: delivery.url,
        body: JSON.stringify(delivery.event),
        secret: secret.secret,
        signatureHeader: OUTBOUND_SIGNATURE_HEADER,
        idempotencyKey: deliveryId,
      });
    } catch (error) {
      if (error instanceof DestinationRefused) {
        const reason = `refused: ${error.code}`;
        await recordOutboundAttempt(em, deliveryId, { status: null, error: reason });
        log.warn('Outbound delivery refused: its destination is not allowed', { deliveryId, organization, code: error.code });
        return { outcome: 'refused', reason, type: 'OutboundDestinationRefused' };
      }
      const reason = `unreachable: ${unreachableReason(error)}`;
      const attempts = await recordOutboundAttempt(em, deliveryId, { status: null, error: reason });
      outboundWebhookDeliveries.inc({ outcome: 'failed_attempt', organization });
      return { outcome: 'failed', reason: `outbound webhook ${reason}`, attempts };
    }
    if (response.status >= 200 && response.status < 300) {
      await recordOutboundAttempt(em, deliveryId, { status: response.status, error: null });
      await markOutboundDeliveryDelivered(em, deliveryId);
      outboundWebhookDeliveries.inc({ outcome: 'delivered', organization });
      return { outcome: 'delivered' };
    }
    const reason = `outbound webhook answered ${response.status}`;
    const attempts = await recordOutboundAttempt(em, deliveryId, { status: response.status, error: reason });
    if (isPermanentRefusal(response.status)) {
      log.warn('Outbound webhook refused the delivery for good', { deliveryId, organization, status: response.status });
      return { outcome: 'refused', reason, type: 'OutboundWebhookRejected' };
    }
    outboundWebhookDeliveries.inc({ outcome: 'failed_attempt', organization });
    return { outcome: 'failed', reason, attempts };
  }

  return {
    async sendEndpointBacklog(endpointId: string, maximumAttempts: number): Promise<EndpointBacklogResult> {
      const em = orm.em.fork();
      const until = Date.now() + PASS_BUDGET_MS;
      let delivered = 0;
      let dead = 0;
      while (Date.now() < until) {
        const deliveryId = await nextPendingOutboundDelivery(em, endpointId);
        if (!deliveryId) return { state: 'drained', delivered, dead };
        const sent = await attempt(em, deliveryId);
        if (sent.outcome === 'delivered') {
          delivered++;
          continue;
        }
        if (sent.outcome === 'failed' && sent.attempts < maximumAttempts) return { state: 'retrying', delivered, dead, deliveryId, attempts: sent.attempts };
        log.warn('Outbound delivery failed for good; it is dead until replayed', { deliveryId, endpointId, reason: sent.reason });
        if (await markDead(em, deliveryId)) dead++;
      }
      return { state: 'more', delivered, dead };
    },

    async postOutboundDelivery(deliveryId: string): Promise<void> {
      const sent = await attempt(orm.em.fork(), deliveryId);
      if (sent.outcome === 'refused') throw ApplicationFailure.nonRetryable(sent.reason, sent.type);
      if (sent.outcome === 'failed') throw new Error(sent.reason);
    },

    async markOutboundDeliveryDead(deliveryId: string): Promise<void> {
      await markDead(orm.em.fork(), deliveryId);
    },
  };
}

/** The network's error code (ECONNREFUSED, ENOTFOUND, …) or the timeout: never a URL or a body. */
function unreachableReason(error: unknown): string {
  const code = ((error as { code?: unknown }).code ?? (error as Error).name) as string;
  return String(code);
}
