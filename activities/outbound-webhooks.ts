/** Outbound event webhooks: POST one delivery (an outbox event to one endpoint), or record that it is dead. */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure, log } from '@temporalio/activity';
import type { Activities } from '../src/contract';
import type { SecretBox } from '../src/connections/secret-box';
import {
  markOutboundDeliveryDead,
  markOutboundDeliveryDelivered,
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

/** `v1.`/`v2.` then base64url parts: a sealed secret; a clear one is 64 hex characters. */
const SEALED = /^v\d+\./;

/**
 * The endpoint's secret in clear. One stored before secrets were sealed is sealed now, when there is a key (so each
 * is sealed at its first delivery); a sealed one without the key cannot be used, and says so without retrying.
 */
async function endpointSecret(em: EntityManager, delivery: OutboundDeliveryToSend, box: SecretBox | undefined): Promise<string> {
  const place = outboundSecretPlace(delivery.endpointId);
  if (SEALED.test(delivery.secret)) {
    try {
      if (box) return box.open(delivery.secret, place);
    } catch {
      // fall through: changed, moved from another row, or sealed with another key
    }
    const reason = box ? 'endpoint secret does not open' : 'endpoint secret sealed: CONNECTION_ENCRYPTION_KEY unset';
    if (await markOutboundDeliveryDead(em, delivery.id, reason)) outboundWebhookDeliveries.inc({ outcome: 'dead', organization: delivery.event.organization });
    throw ApplicationFailure.nonRetryable(reason, 'OutboundSecretUnreadable');
  }
  if (box) await sealOutboundEndpointSecret(em, delivery.endpointId, delivery.secret, box.seal(delivery.secret, place));
  return delivery.secret;
}

export function createOutboundWebhookActivities(orm: MikroORM, destinations: OutboundDestinations, box?: SecretBox): Pick<Activities, 'postOutboundDelivery' | 'markOutboundDeliveryDead'> {
  return {
    /**
     * The event as the websocket sends it (`{id, type, occurredAt, organization, data}`), signed with the endpoint's
     * secret, with the delivery's id as Idempotency-Key on every attempt and replay. Each attempt's answer is
     * recorded on the delivery (status, or a reason without personal data). A destination that is not (or no longer)
     * a public address makes the delivery dead at once, with the reason: it is checked on the address connected to.
     */
    async postOutboundDelivery(deliveryId: string): Promise<void> {
      const em = orm.em.fork();
      const delivery = await outboundDeliveryToSend(em, deliveryId);
      if (!delivery) throw ApplicationFailure.nonRetryable('the delivery no longer exists (its outbox event expired)', 'OutboundDeliveryGone');
      if (delivery.state === 'delivered') return;
      if (delivery.state === 'dead') throw ApplicationFailure.nonRetryable('the delivery is dead; replay it to send it again', 'OutboundDeliveryDead');
      const { organization } = delivery.event;
      if (!delivery.endpointEnabled) {
        if (await markOutboundDeliveryDead(em, deliveryId, 'endpoint removed')) outboundWebhookDeliveries.inc({ outcome: 'dead', organization });
        throw ApplicationFailure.nonRetryable('the endpoint was removed', 'OutboundEndpointRemoved');
      }

      const secret = await endpointSecret(em, delivery, box);
      let response: { status: number };
      try {
        response = await postSigned(destinations, {
          url: delivery.url,
          body: JSON.stringify(delivery.event),
          secret,
          signatureHeader: OUTBOUND_SIGNATURE_HEADER,
          idempotencyKey: deliveryId,
        });
      } catch (error) {
        if (error instanceof DestinationRefused) {
          const reason = `refused: ${error.code}`;
          await recordOutboundAttempt(em, deliveryId, { status: null, error: reason });
          log.warn('Outbound delivery refused: its destination is not allowed', { deliveryId, organization, code: error.code });
          throw ApplicationFailure.nonRetryable(reason, 'OutboundDestinationRefused');
        }
        const reason = `unreachable: ${unreachableReason(error)}`;
        await recordOutboundAttempt(em, deliveryId, { status: null, error: reason });
        outboundWebhookDeliveries.inc({ outcome: 'failed_attempt', organization });
        throw new Error(`outbound webhook ${reason}`);
      }
      if (response.status >= 200 && response.status < 300) {
        await recordOutboundAttempt(em, deliveryId, { status: response.status, error: null });
        await markOutboundDeliveryDelivered(em, deliveryId);
        outboundWebhookDeliveries.inc({ outcome: 'delivered', organization });
        return;
      }
      const failure = `outbound webhook answered ${response.status}`;
      await recordOutboundAttempt(em, deliveryId, { status: response.status, error: failure });
      if (isPermanentRefusal(response.status)) {
        log.warn('Outbound webhook refused the delivery for good', { deliveryId, organization, status: response.status });
        throw ApplicationFailure.nonRetryable(failure, 'OutboundWebhookRejected');
      }
      outboundWebhookDeliveries.inc({ outcome: 'failed_attempt', organization });
      throw new Error(failure);
    },

    async markOutboundDeliveryDead(deliveryId: string): Promise<void> {
      const organization = await markOutboundDeliveryDead(orm.em.fork(), deliveryId);
      if (organization) outboundWebhookDeliveries.inc({ outcome: 'dead', organization });
    },
  };
}

/** The network's error code (ECONNREFUSED, ENOTFOUND, …) or the timeout: never a URL or a body. */
function unreachableReason(error: unknown): string {
  const code = ((error as { code?: unknown }).code ?? (error as Error).name) as string;
  return String(code);
}
