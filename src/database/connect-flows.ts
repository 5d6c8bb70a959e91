/**
 * The calendly_connect_flows table: one row per started OAuth connect flow, so that its `state` completes at most
 * once in any receiver process, only for the organization that started it and only before it expires. A flow whose
 * grant would replace the connection's Calendly organization keeps that grant (sealed) until the organization confirms.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { queryRow, rowShape, text } from './rows';

/** What the sealed `state` is bound to (the box's associated data): it opens as a state only, never as another secret. */
export const CONNECT_STATE_PLACE = 'calendly_connect_flows.state';

/** What a flow's sealed waiting grant is bound to: a copy in another flow's row does not open. */
export const waitingGrantPlace = (flowId: string) => `calendly_connect_flows.awaiting_confirmation:${flowId}`;

const waitingGrantRow = rowShape({ awaitingConfirmation: text });

/** Expired flows are deleted this long after expiring (they are useless then; the delay only helps diagnosis). */
const KEPT_AFTER_EXPIRY = '1 day';

export async function recordConnectFlow(em: EntityManager, flow: { id: string; organization: string; expiresAt: Date }): Promise<void> {
  await em.execute(`delete from calendly_connect_flows where expires_at < now() - interval '${KEPT_AFTER_EXPIRY}'`);
  await em.execute(`insert into calendly_connect_flows (id, organization, expires_at) values (?, ?, ?)`, [flow.id, flow.organization, flow.expiresAt]);
}

/**
 * Takes the flow's one code exchange: true for exactly one caller, and only while the flow is unexpired and of this
 * organization.
 */
export async function claimCodeExchange(em: EntityManager, id: string, organization: string): Promise<boolean> {
  const rows = await em.execute(
    `update calendly_connect_flows set code_exchanged_at = now()
     where id = ? and organization = ? and code_exchanged_at is null and expires_at > now() returning id`,
    [id, organization],
  );
  return rows.length > 0;
}

/** Keeps the exchanged grant (sealed) until the organization confirms replacing its Calendly organization. */
export async function awaitConfirmation(em: EntityManager, id: string, sealedGrant: string): Promise<void> {
  await em.execute(`update calendly_connect_flows set awaiting_confirmation = ? where id = ? and completed_at is null`, [sealedGrant, id]);
}

/** The grant awaiting confirmation, if the flow is unexpired and not completed yet (undefined otherwise). */
export async function grantAwaitingConfirmation(em: EntityManager, id: string, organization: string): Promise<string | undefined> {
  const row = await queryRow(
    em,
    waitingGrantRow,
    `select awaiting_confirmation from calendly_connect_flows
     where id = ? and organization = ? and completed_at is null and awaiting_confirmation is not null and expires_at > now()`,
    [id, organization],
  );
  return row?.awaitingConfirmation;
}

/** Ends the flow: true for exactly one caller. The grant it held is dropped from the row. */
export async function completeConnectFlow(em: EntityManager, id: string): Promise<boolean> {
  const rows = await em.execute(
    `update calendly_connect_flows set completed_at = now(), awaiting_confirmation = null where id = ? and completed_at is null returning id`,
    [id],
  );
  return rows.length > 0;
}
