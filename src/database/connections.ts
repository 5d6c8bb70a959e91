/**
 * The calendly_connections table: one Calendly account (organization, or user) connected to one organization of ours,
 * through OAuth or with the personal access token of CALENDLY_API_TOKEN. An OAuth connection's tokens and signing key
 * are stored sealed (src/connections/secret-box.ts); this module never sees them in clear. The personal token
 * connection stores neither: both come from the environment.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { jsonObject, nullable, oneOf, queryRow, queryRows, rowShape, text, timestamp } from './rows';

/** connected: working; needs_reauthorization: Calendly refused its token, a person must reconnect; disconnected: by a person */
const CONNECTION_STATUSES = ['connected', 'needs_reauthorization', 'disconnected'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];
/** none: not created yet; active: Calendly delivers; upgrade_required: free plan (bookings come by polling); failed: see detail */
const WEBHOOK_STATES = ['none', 'active', 'upgrade_required', 'failed', 'deleted'] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];
const SYNC_STATES = ['idle', 'running', 'failed'] as const;
export type SyncState = (typeof SYNC_STATES)[number];
/** subscribed: Calendly delivers routing form submissions; unavailable: it refused them (see routing_forms_detail) */
const ROUTING_FORMS_STATES = ['subscribed', 'unavailable'] as const;
export type RoutingFormsState = (typeof ROUTING_FORMS_STATES)[number];
/** How it authenticates: CALENDLY_API_TOKEN (one per deployment, src/connections/personal-token.ts), or OAuth. */
const CONNECTION_KINDS = ['personal_token', 'oauth'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** A calendly_connections row. */
const connectionRow = rowShape({
  id: text,
  kind: oneOf(CONNECTION_KINDS),
  organization: text,
  status: oneOf(CONNECTION_STATUSES),
  statusReason: nullable(text),
  statusChangedAt: timestamp,
  calendlyOrganization: nullable(text),
  calendlyUser: nullable(text),
  scope: nullable(text),
  /** sealed */
  accessToken: nullable(text),
  /** sealed */
  refreshToken: nullable(text),
  tokenExpiresAt: nullable(timestamp),
  /** sealed; null for the personal token connection, whose keys are CALENDLY_WEBHOOK_SIGNING_KEY */
  signingKey: nullable(text),
  /** sealed: the key of the Calendly organization this connection was moved away from (its subscription may remain) */
  retiredSigningKey: nullable(text),
  webhookSubscriptionUri: nullable(text),
  webhookState: oneOf(WEBHOOK_STATES),
  webhookDetail: nullable(text),
  /** null: not known yet (no subscription made since routing forms were supported) */
  routingForms: nullable(oneOf(ROUTING_FORMS_STATES)),
  routingFormsDetail: nullable(text),
  lastDeliveryAt: nullable(timestamp),
  lastSyncedAt: nullable(timestamp),
  syncState: oneOf(SYNC_STATES),
  syncProgress: nullable(jsonObject),
  createdAt: timestamp,
  updatedAt: timestamp,
});
/** One Calendly account connected to one organization of ours; tokens and keys sealed. */
export type Connection = ReturnType<typeof connectionRow.read>;

/** The columns that hold a sealed secret. */
export type SealedConnectionColumn = 'access_token' | 'refresh_token' | 'signing_key' | 'retired_signing_key';

/**
 * What a connection's sealed secret is bound to (the box's associated data): a copy in another row or column does not
 * open. The row is named by its organization (one connection each, and known before the row's id exists).
 */
export const connectionSecretPlace = (column: SealedConnectionColumn, organization: string) => `calendly_connections.${column}:${organization}`;

export interface AuthorizedConnection {
  organization: string;
  calendlyOrganization: string;
  calendlyUser: string;
  scope: string | null;
  accessToken: string;
  refreshToken: string;
  tokenExpiresAt: Date;
  /** used for a new connection, or with `newSigningKey`: a reconnect to the same Calendly organization keeps its key */
  signingKey: string;
  /** another Calendly organization replaces the connection's: a new key, and its old subscription forgotten */
  newSigningKey: boolean;
  /** with `newSigningKey`: the key it replaces, sealed for the retired_signing_key column (null: none could be read) */
  retiredSigningKey: string | null;
}

/** Thrown when the Calendly organization is already connected to another organization of ours. */
export class CalendlyOrganizationTakenError extends Error {
  override name = 'CalendlyOrganizationTakenError';
}

/**
 * Connects (or reconnects) the organization: one row per organization, so a reconnect keeps its id and its data. The
 * personal token connection of the same Calendly organization is taken over (kind `oauth` from then on, with its id,
 * its data, and a new key for a new subscription at its own URL): that is how it moves to OAuth.
 */
export async function saveAuthorizedConnection(em: EntityManager, connection: AuthorizedConnection): Promise<Connection> {
  try {
    const [row] = await queryRows(
      em,
      connectionRow,
      `insert into calendly_connections (organization, status, calendly_organization, calendly_user, scope, access_token, refresh_token, token_expires_at, signing_key)
       values (?, 'connected', ?, ?, ?, ?, ?, ?, ?)
       on conflict (organization) do update set
         status = 'connected', status_reason = null, status_changed_at = now(),
         calendly_organization = excluded.calendly_organization, calendly_user = excluded.calendly_user, scope = excluded.scope,
         access_token = excluded.access_token, refresh_token = excluded.refresh_token, token_expires_at = excluded.token_expires_at,
         kind = 'oauth',
         signing_key = case when ? or calendly_connections.kind = 'personal_token' then excluded.signing_key else calendly_connections.signing_key end,
         retired_signing_key = case when ? then ? else calendly_connections.retired_signing_key end,
         webhook_subscription_uri = case when ? or calendly_connections.kind = 'personal_token' then null else calendly_connections.webhook_subscription_uri end,
         webhook_state = case when ? or calendly_connections.kind = 'personal_token' then 'none' else calendly_connections.webhook_state end,
         updated_at = now()
       where calendly_connections.kind = 'oauth' or calendly_connections.calendly_organization = excluded.calendly_organization
       returning ${connectionRow.columns}`,
      [
        connection.organization,
        connection.calendlyOrganization,
        connection.calendlyUser,
        connection.scope,
        connection.accessToken,
        connection.refreshToken,
        connection.tokenExpiresAt,
        connection.signingKey,
        connection.newSigningKey,
        connection.newSigningKey,
        connection.retiredSigningKey,
        connection.newSigningKey,
        connection.newSigningKey,
      ],
    );
    // Only the token's own Calendly organization takes its connection over: another would need its subscription retired with the token.
    if (!row) throw new CalendlyOrganizationTakenError('this organization is connected with CALENDLY_API_TOKEN to another Calendly organization');
    return row;
  } catch (error) {
    if ((error as { constraint?: string }).constraint === 'calendly_connections_calendly_organization_unique') {
      throw new CalendlyOrganizationTakenError('this Calendly organization is already connected to another organization');
    }
    throw error;
  }
}

export interface PersonalTokenAccount {
  id: string;
  /** the organization of ours it serves */
  organization: string;
  calendlyOrganization: string;
  calendlyUser: string;
}

/**
 * Creates or updates the personal token connection under its fixed id: every process does at start-up, so two at once
 * meet in one row. Connected again on every start, as the token may have been replaced; where its subscription points,
 * its sync and its history stay. A row taken over by OAuth (saveAuthorizedConnection) stays OAuth's: it is returned
 * as it is, kind `oauth`.
 */
export async function savePersonalTokenConnection(em: EntityManager, account: PersonalTokenAccount): Promise<Connection> {
  try {
    const [row] = await queryRows(
      em,
      connectionRow,
      `insert into calendly_connections (id, kind, organization, status, calendly_organization, calendly_user)
       values (?, 'personal_token', ?, 'connected', ?, ?)
       on conflict (id) do update set
         organization = excluded.organization, calendly_organization = excluded.calendly_organization, calendly_user = excluded.calendly_user,
         status = 'connected', status_reason = null,
         status_changed_at = case when calendly_connections.status = 'connected' then calendly_connections.status_changed_at else now() end,
         updated_at = now()
       where calendly_connections.kind = 'personal_token'
       returning ${connectionRow.columns}`,
      [account.id, account.organization, account.calendlyOrganization, account.calendlyUser],
    );
    return row ?? (await queryRow(em, connectionRow, `select ${connectionRow.columns} from calendly_connections where id = ?`, [account.id]))!;
  } catch (error) {
    if ((error as { constraint?: string }).constraint === 'calendly_connections_organization_unique') {
      throw new CalendlyOrganizationTakenError(`the organization of CALENDLY_API_TOKEN (${account.organization}) already has an OAuth connection`);
    }
    throw error;
  }
}

/**
 * Whether the Calendly organization is connected through OAuth to an organization of ours other than `organization`
 * (the personal token's Calendly organization may be connected by another organization too, as it always could).
 */
export async function calendlyOrganizationTakenByOther(em: EntityManager, calendlyOrganization: string, organization: string): Promise<boolean> {
  const rows = await em.execute(`select 1 from calendly_connections where calendly_organization = ? and organization <> ? and kind = 'oauth'`, [
    calendlyOrganization,
    organization,
  ]);
  return rows.length > 0;
}

export async function findConnection(em: EntityManager, id: string): Promise<Connection | undefined> {
  if (!isUuid(id)) return undefined;
  return queryRow(em, connectionRow, `select ${connectionRow.columns} from calendly_connections where id = ?`, [id]);
}

export async function connectionOfOrganization(em: EntityManager, organization: string): Promise<Connection | undefined> {
  return queryRow(em, connectionRow, `select ${connectionRow.columns} from calendly_connections where organization = ?`, [organization]);
}

/** Connections in these states, oldest first. */
export async function listConnections(em: EntityManager, statuses: ConnectionStatus[] = ['connected', 'needs_reauthorization', 'disconnected']): Promise<Connection[]> {
  return queryRows(em, connectionRow, `select ${connectionRow.columns} from calendly_connections where status in (?) order by created_at, id`, [statuses]);
}

/** Call it inside a transaction: the row stays locked until it ends, so only one token refresh per connection runs. */
export async function lockConnection(em: EntityManager, id: string): Promise<Connection | undefined> {
  return queryRow(em, connectionRow, `select ${connectionRow.columns} from calendly_connections where id = ? for update`, [id]);
}

export async function storeTokens(em: EntityManager, id: string, tokens: { accessToken: string; refreshToken: string; tokenExpiresAt: Date }): Promise<void> {
  await em.execute(`update calendly_connections set access_token = ?, refresh_token = ?, token_expires_at = ?, updated_at = now() where id = ?`, [
    tokens.accessToken,
    tokens.refreshToken,
    tokens.tokenExpiresAt,
    id,
  ]);
}

/**
 * Changes the status, with its reason and time, unless it already has it. A connection marked disconnected by a
 * person stays so: only a new authorization (saveAuthorizedConnection) connects it again.
 * True when it changed.
 */
export async function markConnectionStatus(em: EntityManager, id: string, status: ConnectionStatus, reason: string | null): Promise<boolean> {
  const rows = await em.execute(
    `update calendly_connections set status = ?, status_reason = ?, status_changed_at = now(), updated_at = now()
     where id = ? and status <> ? and (status <> 'disconnected' or ? = 'disconnected') returning id`,
    [status, reason, id, status, status],
  );
  return rows.length > 0;
}

/** Drops the tokens of a disconnected connection: they were revoked at Calendly, and are of no use to anyone. */
export async function forgetTokens(em: EntityManager, id: string): Promise<void> {
  await em.execute(`update calendly_connections set access_token = null, refresh_token = null, token_expires_at = null, updated_at = now() where id = ?`, [id]);
}

export async function recordWebhookState(em: EntityManager, id: string, state: WebhookState, subscriptionUri: string | null, detail: string | null): Promise<void> {
  await em.execute(
    `update calendly_connections set webhook_state = ?, webhook_subscription_uri = ?, webhook_detail = ?, updated_at = now() where id = ?`,
    [state, subscriptionUri, detail, id],
  );
}

/** Whether Calendly delivers routing form submissions to the connection, and if not why and what comes instead. */
export async function recordRoutingFormsState(em: EntityManager, id: string, state: RoutingFormsState, detail: string | null): Promise<void> {
  await em.execute(
    `update calendly_connections set routing_forms = ?, routing_forms_detail = ?, updated_at = now()
     where id = ? and (routing_forms, routing_forms_detail) is distinct from (?, ?)`,
    [state, detail, id, state, detail],
  );
}

export async function recordDeliveryReceived(em: EntityManager, id: string, receivedAt: string): Promise<void> {
  await em.execute(`update calendly_connections set last_delivery_at = greatest(last_delivery_at, ?::timestamptz) where id = ?`, [receivedAt, id]);
}

/** Progress of a sync as it goes; `finished` also moves last_synced_at to when the sync started. */
export async function recordSyncProgress(
  em: EntityManager,
  id: string,
  state: SyncState,
  progress: Record<string, unknown>,
  finished?: { startedAt: string },
): Promise<void> {
  await em.execute(
    `update calendly_connections set sync_state = ?, sync_progress = ?::jsonb,
       last_synced_at = coalesce(?::timestamptz, last_synced_at), updated_at = now() where id = ?`,
    [state, JSON.stringify(progress), finished?.startedAt ?? null, id],
  );
}

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
