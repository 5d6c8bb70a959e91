/**
 * Connecting an organization's own Calendly account (OAuth 2.1 with PKCE), for a settings page or the dashboard:
 * behind the organization's API token, start connecting (the authorize URL), complete it, read the connection's
 * status and disconnect it. The OAuth callback Calendly redirects the browser to needs no token and connects nothing:
 * it hands `code` and `state` on to the dashboard, which completes with its token, so a consent finished in
 * anyone else's browser cannot attach a Calendly account to the organization that started it. A completed connect
 * starts `setUpConnection` (subscription, schedules, first sync); a disconnect runs `disconnectConnection`. The status
 * and the test webhook serve every connection, the personal token one (CALENDLY_API_TOKEN) too; without config.oauth
 * the other routes answer 404 `oauth_not_configured`, and the personal token connection is neither connected nor
 * disconnected here (it follows the environment).
 */
import Router from '@koa/router';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { requireApiToken, type ApiCaller } from '../auth/api-tokens';
import type { Config } from '../config';
import type { ConnectionServices } from '../connections/services';
import { ConnectError } from '../connections/oauth-connect';
import { CALENDLY_CONNECTION } from '../contract';
import { connectionOfOrganization, connectionSecretPlace, type Connection } from '../database/connections';
import { organizationUri } from '../outbound/endpoints';
import { workflowListUrl } from '../temporal/web-ui-links';
import { connectionWorkflowIds } from '../workflow-ids';
import { sendTestDelivery } from '../deliveries/test-delivery';
import { disconnectConnection, setUpConnection } from '../../workflows';
import { connectionAnswerSchema, connectionSchema, connectStartSchema, errorWith, testWebhookAnswerSchema } from './api-schemas';
import type { ReceiverDependencies } from './dependencies';
import { BEARER_TOKEN, jsonAnswer, UNAUTHORIZED, type ApiPaths } from './openapi';
import { jsonBody } from './outbound-webhooks-api';
import { requestLogger } from './request-context';

export const CONNECTION_CALLBACK_PATH = '/api/connections/callback';
const COMPLETE_PATH = '/api/connection/complete';
/** Where the callback sends the browser, `code` and `state` in the fragment: the dashboard, which completes with its token. */
const AUTHORIZED_REDIRECT = '/?connection=authorized';
/** Temporal must accept a start within this, as for a webhook delivery. */
const START_TIMEOUT_MS = 5_000;
/** How long POST /api/connection/disconnect waits for the teardown before answering 202 with the status so far. */
const DISCONNECT_WAIT_MS = 30_000;
const DISCONNECT_REASON = 'disconnected by the organization (POST /api/connection/disconnect)';

const organizationQuery = z.object({ organization: organizationUri.optional() });
const callbackQuery = z.object({
  code: z.string().min(1).optional(),
  state: z.string().min(1).optional(),
  error: z.string().optional(),
});
const completeBody = z.object({ code: z.string().min(1).max(2048), state: z.string().min(1).max(4096), confirm: z.boolean().default(false) });
/** OAuth error codes are a fixed vocabulary (RFC 6749 §4.1.2.1); anything else is not echoed back. */
const OAUTH_ERROR_CODE = /^[a-z_]{1,64}$/;

type Handler = (ctx: Context, services: ConnectionServices) => void | Promise<void>;

export function connectionRoutes({ config, temporal, orm, logger, apiTokens, connections }: ReceiverDependencies): Router {
  const router = new Router();
  const authenticated = requireApiToken(apiTokens);
  const configured =
    (handler: Handler): Middleware =>
    async (ctx) => {
      if (!connections) return notConfigured(ctx);
      await handler(ctx, connections);
    };
  /** The organization's connection of any kind (the token's, or `?organization=`'s); undefined once answered 400, 403 or 404. */
  const connectionOfRequest = async (ctx: Context): Promise<{ connection: Connection; organization: string } | undefined> => {
    const organization = organizationOf(ctx);
    if (!organization) return undefined;
    const connection = await connectionOfOrganization(orm.em, organization);
    // Without OAuth, an organization without a connection has no way to get one here.
    if (!connection) return void (connections ? notConnected(ctx) : notConfigured(ctx));
    return { connection, organization };
  };
  const ofConnection =
    (handler: (ctx: Context, connection: Connection, organization: string) => void | Promise<void>): Middleware =>
    async (ctx) => {
      const found = await connectionOfRequest(ctx);
      if (found) await handler(ctx, found.connection, found.organization);
    };
  /** Disconnecting is OAuth's: the personal token connection follows CALENDLY_API_TOKEN. */
  const ofOAuthConnection =
    (handler: (ctx: Context, services: ConnectionServices, connection: Connection, organization: string) => void | Promise<void>): Handler =>
    async (ctx, services) => {
      const found = await connectionOfRequest(ctx);
      if (!found) return;
      if (found.connection.kind !== 'oauth') {
        return answer(ctx, 409, 'personal_token_connection', 'This connection uses CALENDLY_API_TOKEN: it follows the environment, and is not disconnected here');
      }
      await handler(ctx, services, found.connection, found.organization);
    };
  const taskQueue = config.temporal.taskQueue;

  router.post(
    '/api/connection/connect',
    authenticated,
    configured(async (ctx, { connect }) => {
      const organization = organizationOf(ctx);
      if (!organization) return;
      let started;
      try {
        started = await connect.start(organization);
      } catch (error) {
        requestLogger(ctx, logger).error({ err: error, organization }, 'Could not record the Calendly connect');
        return answer(ctx, 503, 'database_unavailable', 'Connecting cannot start now: try again in a moment');
      }
      requestLogger(ctx, logger).info({ organization }, 'Calendly connect started');
      ctx.body = started satisfies z.output<typeof connectStartSchema>;
    }),
  );

  router.get(
    '/api/connection',
    authenticated,
    ofConnection((ctx, connection) => {
      ctx.body = { connection: connectionView(connection, config) } satisfies z.output<typeof connectionAnswerSchema>;
    }),
  );

  router.post(
    '/api/connection/disconnect',
    authenticated,
    configured(ofOAuthConnection(async (ctx, services, connection, organization) => {
      const log = requestLogger(ctx, logger).child({ connectionId: connection.id, organization });
      if (connection.status !== 'disconnected') {
        let handle;
        try {
          handle = await temporal.connection.withDeadline(Date.now() + START_TIMEOUT_MS, () =>
            temporal.workflow.start(disconnectConnection, {
              workflowId: connectionWorkflowIds(connection.id).teardown,
              taskQueue,
              args: [{ connectionId: connection.id, reason: DISCONNECT_REASON }],
              // A second click while one runs joins it; a later disconnect (after a reconnect) runs anew.
              workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
              workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
              typedSearchAttributes: [{ key: CALENDLY_CONNECTION, value: connection.id }],
            }),
          );
        } catch (error) {
          log.error({ err: error }, 'Temporal did not accept the disconnect');
          return answer(ctx, 503, 'temporal_unavailable', 'The disconnect could not be started now: try again in a moment');
        }
        const timeout = AbortSignal.timeout(DISCONNECT_WAIT_MS);
        try {
          await temporal.withAbortSignal(timeout, () => handle.result());
          log.info('Calendly disconnected');
        } catch (error) {
          if (!timeout.aborted) {
            log.error({ err: error }, 'Disconnecting failed');
            return answer(ctx, 502, 'disconnect_failed', `Disconnecting failed: see workflow ${handle.workflowId} in the Temporal Web UI, then try again`);
          }
          // Still under way (e.g. Calendly is slow): the status says how far it got; GET /api/connection later.
          ctx.status = 202;
        }
      }
      const current = (await services.connect.connectionOf(organization)) ?? connection;
      ctx.body = { connection: connectionView(current, config) } satisfies z.output<typeof connectionAnswerSchema>;
    })),
  );

  router.post(
    '/api/connection/test-webhook',
    authenticated,
    ofConnection(async (ctx, connection, organization) => {
      if (connection.status === 'disconnected') return notConnected(ctx);
      const signingKey = signingKeyOf(connection);
      if (!signingKey) return answer(ctx, 409, 'no_signing_key', 'This connection has no signing key here (CALENDLY_WEBHOOK_SIGNING_KEY, or OAuth not configured)');
      // Through API_URL, as Calendly would reach it: a wrong API_URL or proxy shows here, not at the first booking.
      const result = await sendTestDelivery(callbackUrlOf(connection, config), signingKey, connection.id);
      requestLogger(ctx, logger).info({ connectionId: connection.id, organization, status: result.status }, 'Test webhook sent');
      ctx.body = { received: result.status === 200, ...result } satisfies z.output<typeof testWebhookAnswerSchema>;
    }),
  );

  router.get(
    CONNECTION_CALLBACK_PATH,
    configured((ctx) => {
      const query = callbackQuery.safeParse(ctx.query);
      if (!query.success) return answer(ctx, 400, 'invalid_callback', 'code, state and error must each be given once');
      const { code, state, error } = query.data;
      if (error === 'access_denied') {
        return answer(ctx, 403, 'access_denied', 'Access was declined in Calendly, so nothing was connected: start connecting again to retry');
      }
      if (error !== undefined) {
        const named = OAUTH_ERROR_CODE.test(error) ? ` (${error})` : '';
        return answer(ctx, 400, 'authorization_failed', `Calendly did not authorize the connection${named}: start connecting again`);
      }
      if (!code || !state) {
        return answer(ctx, 400, 'invalid_callback', 'code and state are required: this URL is where Calendly sends the browser back after consent');
      }
      // Nothing is connected here: the dashboard completes with the organization's own token. In the fragment, code
      // and state reach neither a server's logs nor a Referer again.
      ctx.set('Referrer-Policy', 'no-referrer');
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(`${AUTHORIZED_REDIRECT}#${new URLSearchParams({ code, state }).toString()}`);
    }),
  );

  router.post(
    COMPLETE_PATH,
    authenticated,
    configured(async (ctx, services) => {
      const organization = organizationOf(ctx);
      if (!organization) return;
      const body = await jsonBody(ctx);
      if (body === undefined) return;
      const parsed = completeBody.safeParse(body);
      if (!parsed.success) return answer(ctx, 400, 'invalid_body', 'code and state (as the callback handed them over) are required; confirm is a boolean');
      const { code, state, confirm } = parsed.data;
      const log = requestLogger(ctx, logger).child({ organization });

      let connection: Connection;
      try {
        connection = await services.connect.complete(organization, state, code, confirm);
      } catch (failure) {
        if (failure instanceof ConnectError) {
          log.info({ code: failure.code }, 'Calendly connect not completed');
          answer(ctx, failure.status, failure.code, failure.message);
          Object.assign(ctx.body as object, failure.details);
          return;
        }
        log.error({ err: failure }, 'Could not complete the Calendly connect');
        return answer(ctx, 502, 'connect_failed', 'Calendly or the database did not answer while connecting: start connecting again');
      }
      const connectionId = connection.id;
      try {
        await temporal.connection.withDeadline(Date.now() + START_TIMEOUT_MS, () =>
          temporal.workflow.start(setUpConnection, {
            workflowId: connectionWorkflowIds(connectionId).setUp,
            taskQueue,
            args: [{ connectionId, syncFrom: syncFromFor(connection, config) }],
            // A reconnect replaces a set-up still running (with the tokens it had); a finished one may run again.
            workflowIdConflictPolicy: WorkflowIdConflictPolicy.TERMINATE_EXISTING,
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
            typedSearchAttributes: [{ key: CALENDLY_CONNECTION, value: connectionId }],
          }),
        );
      } catch (failure) {
        log.error({ err: failure, connectionId }, 'Temporal did not accept the connection set-up');
        return answer(ctx, 503, 'temporal_unavailable', 'Connected, but its set-up could not be started now: start connecting again in a moment');
      }
      log.info({ connectionId }, 'Calendly connected');
      ctx.body = { connection: connectionView(connection, config) } satisfies z.output<typeof connectionAnswerSchema>;
    }),
  );

  /** The key its subscription signs with: the environment's for the personal token connection, the stored one for OAuth's. */
  function signingKeyOf(connection: Connection): string | undefined {
    if (connection.kind === 'personal_token') return config.calendly.signingKeys[0];
    if (!connection.signingKey) return undefined;
    return connections?.box.open(connection.signingKey, connectionSecretPlace('signing_key', connection.organization));
  }

  return router;
}

/**
 * The first sync reaches back `syncLookBackDays`; a reconnect reaches back to its last complete sync if that is
 * earlier, so that bookings made while the connection was broken are backfilled.
 */
function syncFromFor(connection: Connection, config: Config): string {
  const lookBack = Date.now() - (config.oauth?.syncLookBackDays ?? 0) * 86_400_000;
  const lastSynced = connection.lastSyncedAt?.getTime() ?? lookBack;
  return new Date(Math.min(lookBack, lastSynced)).toISOString();
}

/**
 * Where its subscription delivers: the personal token connection's was made before connections had URLs of their
 * own, and keeps the bare one (webhook-route.ts routes it to that connection).
 */
function callbackUrlOf(connection: Connection, config: Config): string {
  return connection.kind === 'personal_token' ? config.webhookUrl : `${config.webhookUrl}/${connection.id}`;
}

/** What the status shows: never a token or key, sealed or not. */
function connectionView(connection: Connection, config: Config): z.output<typeof connectionSchema> {
  return {
    id: connection.id,
    kind: connection.kind,
    organization: connection.organization,
    status: connection.status,
    statusReason: connection.statusReason,
    statusChangedAt: connection.statusChangedAt,
    calendlyOrganization: connection.calendlyOrganization,
    calendlyUser: connection.calendlyUser,
    webhook: {
      state: connection.webhookState,
      active: connection.webhookState === 'active',
      subscriptionUri: connection.webhookSubscriptionUri,
      detail: connection.webhookDetail,
    },
    lastDeliveryAt: connection.lastDeliveryAt,
    lastSyncedAt: connection.lastSyncedAt,
    sync: { state: connection.syncState, progress: connection.syncProgress },
    callbackUrl: callbackUrlOf(connection, config),
    workflowsUrl: workflowListUrl(config.temporal, `${CALENDLY_CONNECTION.name} = "${connection.id}"`),
  };
}

/**
 * The organization a request acts for: the token's own, or for a token bound to none the `?organization=` it must
 * name. Undefined when it was refused (answered 400 or 403).
 */
function organizationOf(ctx: Context): string | undefined {
  const token = (ctx.state as { apiToken?: ApiCaller }).apiToken;
  const query = organizationQuery.safeParse({ organization: ctx.query.organization });
  if (!query.success) return void answer(ctx, 400, 'invalid_query', query.error.issues.map((issue) => `organization: ${issue.message}`).join('; '));
  const named = query.data.organization;
  if (token?.organization) {
    if (named && named !== token.organization) return void answer(ctx, 403, 'forbidden', 'This token is bound to another organization');
    return token.organization;
  }
  if (!named) return void answer(ctx, 400, 'organization_required', 'This token is not bound to an organization: name one with ?organization=<organization URI>');
  return named;
}

function notConfigured(ctx: Context): void {
  answer(
    ctx,
    404,
    'oauth_not_configured',
    'OAuth connections are not configured here: set CALENDLY_CLIENT_ID, CALENDLY_CLIENT_SECRET, CALENDLY_OAUTH_REDIRECT_URI and CONNECTION_ENCRYPTION_KEY',
  );
}

function notConnected(ctx: Context): void {
  answer(ctx, 404, 'not_connected', 'This organization has no Calendly connection: POST /api/connection/connect to start one');
}

function answer(ctx: Context, status: number, code: string, error: string): void {
  ctx.status = status;
  ctx.body = { error, code };
}

const NOT_CONFIGURED_OR_CONNECTED = jsonAnswer(
  '`oauth_not_configured`: this deployment has no OAuth app; `not_connected`: the organization has no connection.',
  errorWith(['oauth_not_configured', 'not_connected']),
);
const ORGANIZATION_REFUSED = jsonAnswer(
  '`organization_required`: a token bound to no organization must name one with `?organization=`; `invalid_query`: it is not an http(s) URI.',
  errorWith(['organization_required', 'invalid_query']),
);
const OTHER_ORGANIZATION = jsonAnswer('The token is bound to another organization than `?organization=`.', errorWith(['forbidden']));
const ORGANIZATION_PARAM = z.object({
  organization: z.string().optional().meta({ description: 'The organization, for a token bound to none (required then).' }),
});
const CONNECTION_STATUS = jsonAnswer("The organization's connection.", connectionAnswerSchema);

export const connectionPaths: ApiPaths = {
  '/api/connection/connect': {
    post: {
      operationId: 'startCalendlyConnect',
      tags: ['connections'],
      summary: "Start connecting the organization's Calendly account (OAuth)",
      description:
        'Send the admin to `authorizeUrl`; Calendly brings the browser back to the callback, which hands `code` and `state` ' +
        `to the dashboard; POST ${COMPLETE_PATH} with them (and this token) connects the account.`,
      security: BEARER_TOKEN,
      requestParams: { query: ORGANIZATION_PARAM },
      responses: {
        200: jsonAnswer('The consent URL, valid until `expiresAt`.', connectStartSchema),
        503: jsonAnswer('The flow could not be recorded: try again.', errorWith(['database_unavailable'])),
        400: ORGANIZATION_REFUSED,
        401: UNAUTHORIZED,
        403: OTHER_ORGANIZATION,
        404: jsonAnswer('This deployment has no OAuth app.', errorWith(['oauth_not_configured'])),
      },
    },
  },
  '/api/connection': {
    get: {
      operationId: 'getCalendlyConnection',
      tags: ['connections'],
      summary: "The organization's Calendly connection: status, webhook, last delivery, sync progress",
      security: BEARER_TOKEN,
      requestParams: { query: ORGANIZATION_PARAM },
      responses: { 200: CONNECTION_STATUS, 400: ORGANIZATION_REFUSED, 401: UNAUTHORIZED, 403: OTHER_ORGANIZATION, 404: NOT_CONFIGURED_OR_CONNECTED },
    },
  },
  '/api/connection/disconnect': {
    post: {
      operationId: 'disconnectCalendly',
      tags: ['connections'],
      summary: "Disconnect the organization's Calendly account",
      description:
        "Deletes its webhook subscription, revokes its token and stops its schedules; its data stays, and a reconnect finds it. Waits up to " +
        `${DISCONNECT_WAIT_MS / 1000} s for that, then answers the status. Disconnecting a disconnected connection changes nothing.`,
      security: BEARER_TOKEN,
      requestParams: { query: ORGANIZATION_PARAM },
      responses: {
        200: jsonAnswer('Disconnected: the status.', connectionAnswerSchema),
        202: jsonAnswer('Still under way after the wait: the status so far; read it again later.', connectionAnswerSchema),
        400: ORGANIZATION_REFUSED,
        401: UNAUTHORIZED,
        403: OTHER_ORGANIZATION,
        404: NOT_CONFIGURED_OR_CONNECTED,
        502: jsonAnswer('The teardown failed (its workflow says why): try again.', errorWith(['disconnect_failed'])),
        503: jsonAnswer('Temporal did not accept the teardown in time: try again.', errorWith(['temporal_unavailable'])),
      },
    },
  },
  '/api/connection/test-webhook': {
    post: {
      operationId: 'sendCalendlyTestWebhook',
      tags: ['connections'],
      summary: "Send a signed test webhook to the connection's own webhook URL",
      description:
        "Signed with the connection's key and sent through API_URL, as Calendly would; the receiver logs it in the " +
        'delivery log (outcome `test`) and starts nothing. Works for an organization without any booking.',
      security: BEARER_TOKEN,
      requestParams: { query: ORGANIZATION_PARAM },
      responses: {
        200: jsonAnswer('What the webhook URL answered (`received` when it logged the test).', testWebhookAnswerSchema),
        400: ORGANIZATION_REFUSED,
        401: UNAUTHORIZED,
        403: OTHER_ORGANIZATION,
        404: NOT_CONFIGURED_OR_CONNECTED,
      },
    },
  },
  [CONNECTION_CALLBACK_PATH]: {
    get: {
      operationId: 'receiveCalendlyConsent',
      tags: ['connections'],
      summary: 'The OAuth redirect URI (CALENDLY_OAUTH_REDIRECT_URI): Calendly sends the browser here after consent',
      description:
        'No token, and nothing is connected here: the browser is sent on (303) to ' +
        `\`${AUTHORIZED_REDIRECT}#code=…&state=…\`, where the dashboard completes with its own token (POST ${COMPLETE_PATH}).`,
      requestParams: {
        query: z.object({
          code: z.string().optional().meta({ description: "Calendly's authorization code." }),
          state: z.string().optional().meta({ description: 'As issued with the authorize URL.' }),
          error: z.string().optional().meta({ description: 'Set by Calendly instead of `code`: `access_denied` when the user declined.' }),
        }),
      },
      responses: {
        303: { description: `On to the dashboard (\`${AUTHORIZED_REDIRECT}\`), \`code\` and \`state\` in the fragment.` },
        400: jsonAnswer(
          '`authorization_failed` (Calendly answered an error), `invalid_callback` (no code or state).',
          errorWith(['authorization_failed', 'invalid_callback']),
        ),
        403: jsonAnswer('The user declined access in Calendly.', errorWith(['access_denied'])),
        404: jsonAnswer('This deployment has no OAuth app.', errorWith(['oauth_not_configured'])),
      },
    },
  },
  [COMPLETE_PATH]: {
    post: {
      operationId: 'completeCalendlyConnect',
      tags: ['connections'],
      summary: 'Complete connecting, with the code and state Calendly sent back',
      description:
        'Only with the token of the organization that started connecting, once per start, within 10 minutes. Connects ' +
        '(or reconnects, keeping the data) and starts the set-up. Replacing the connected Calendly organization by ' +
        'another is answered 409 `confirm_replace_calendly_organization` first; the same completion with `"confirm": true` proceeds.',
      security: BEARER_TOKEN,
      requestParams: { query: ORGANIZATION_PARAM },
      requestBody: {
        content: {
          'application/json': {
            schema: z.object({
              code: z.string().meta({ description: 'From the callback.' }),
              state: z.string().meta({ description: 'From the callback.' }),
              confirm: z.boolean().optional().meta({ description: "Replace the connection's Calendly organization by another." }),
            }),
          },
        },
      },
      responses: {
        200: jsonAnswer('Connected; its set-up runs in the background.', connectionAnswerSchema),
        400: jsonAnswer(
          '`invalid_state`, `state_expired`, `state_used` (start again), `authorization_refused` (the code was refused), `invalid_body`, or the organization was refused.',
          errorWith(['invalid_state', 'state_expired', 'state_used', 'authorization_refused', 'invalid_body', 'organization_required', 'invalid_query']),
        ),
        401: UNAUTHORIZED,
        403: jsonAnswer(
          '`consent_of_another_organization`: another organization started this consent; `forbidden`: the token is bound to another organization than `?organization=`.',
          errorWith(['consent_of_another_organization', 'forbidden']),
        ),
        404: jsonAnswer('This deployment has no OAuth app.', errorWith(['oauth_not_configured'])),
        409: jsonAnswer(
          '`calendly_organization_taken`: connected to another organization; `confirm_replace_calendly_organization`: it would replace ' +
            'the connected one (`current` and `replacement` name both): complete again with `confirm`.',
          errorWith(['calendly_organization_taken', 'confirm_replace_calendly_organization']).extend({
            current: z.object({ calendlyOrganization: z.string().nullable(), calendlyUser: z.string().nullable() }).optional(),
            replacement: z.object({ calendlyOrganization: z.string(), calendlyUser: z.string() }).optional(),
          }),
        ),
        413: jsonAnswer('Body over 16 KiB.', errorWith(['payload_too_large'])),
        502: jsonAnswer('Calendly or the database did not answer: start connecting again.', errorWith(['connect_failed'])),
        503: jsonAnswer('Connected, but Temporal did not accept its set-up: start connecting again.', errorWith(['temporal_unavailable'])),
      },
    },
  },
};
