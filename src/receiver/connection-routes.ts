/**
 * Connecting an organization's own Calendly account (OAuth 2.1 with PKCE), for a settings page or the dashboard:
 * behind the organization's API token, start connecting (the authorize URL), complete it, read the connection's
 * status and disconnect it. The OAuth callback Calendly redirects the browser to needs no token and connects nothing:
 * it hands `code` and `state` on to the dashboard, which completes with its token, so a consent finished in
 * anyone else's browser cannot attach a Calendly account to the organization that started it. Completing and
 * disconnecting go through the connection's lifecycle (src/connections/lifecycle.ts), which runs its set-up and
 * teardown in Temporal; these routes check the input and map the outcomes to HTTP. The status and the test webhook
 * serve every connection, the personal token one (CALENDLY_API_TOKEN) too; without config.oauth the other routes
 * answer 404 `oauth_not_configured`, and the personal token connection is neither connected nor disconnected here (it
 * follows the environment).
 */
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { requireApiToken } from '../auth/api-tokens';
import type { Config } from '../config';
import type { ConnectionServices } from '../connections/services';
import { ConnectionLifecycle, DISCONNECT_WAIT_MS } from '../connections/lifecycle';
import type { ConnectRefusal } from '../connections/oauth-connect';
import { CALENDLY_CONNECTION } from '../contract';
import { connectionOfOrganization, connectionSecretPlace, type Connection } from '../database/connections';
import { workflowListUrl } from '../temporal/web-ui-links';
import { sendTestDelivery } from '../deliveries/test-delivery';
import { answerError, errorAnswers, errorCatalogue, type CodeOf, type ErrorAnswerExtrasByStatus, type ErrorCode } from './api-errors';
import { connectionAnswerSchema, connectionSchema, connectStartSchema, testWebhookAnswerSchema } from './api-schemas';
import type { ReceiverDependencies } from './dependencies';
import { JSON_BODY_ERRORS, jsonBody } from './json-body';
import { BEARER_TOKEN, jsonAnswer, RETRY_AFTER, UNAUTHORIZED, type ApiPaths } from './openapi';
import { perOrganizationPerMinute } from './organization-rate-limit';
import { requestLogger } from './request-context';
import { oneOrganization, TENANT_SCOPE_ERRORS } from './tenant-scope';

export const CONNECTION_CALLBACK_PATH = '/api/connections/callback';
const COMPLETE_PATH = '/api/connection/complete';
/** Where the callback sends the browser, `code` and `state` in the fragment: the dashboard, which completes with its token. */
const AUTHORIZED_REDIRECT = '/?connection=authorized';
const DISCONNECT_REASON = 'disconnected by the organization (POST /api/connection/disconnect)';

/** Why a completion was refused (src/connections/oauth-connect.ts), with its status: every refusal has one. */
const CONNECT_REFUSALS = {
  invalid_state: { status: 400, means: 'the state is not one this system issued: start again' },
  state_expired: { status: 400, means: 'the flow took over 10 minutes: start again' },
  state_used: { status: 400, means: 'this consent was already completed: start again' },
  authorization_refused: { status: 400, means: 'Calendly refused the code: start again' },
  consent_of_another_organization: { status: 403, means: 'another organization started this consent' },
  calendly_organization_taken: { status: 409, means: 'this Calendly organization is connected to another organization' },
  confirm_replace_calendly_organization: {
    status: 409,
    means: 'it would replace the connected Calendly organization (`current` and `replacement` name both): complete again with `confirm`',
  },
} as const satisfies Record<ConnectRefusal, ErrorCode>;

/** Test webhooks one organization may send a minute (per receiver): each is a request through API_URL and a log row. */
const TEST_WEBHOOKS_PER_MINUTE_PER_ORGANIZATION = 10;

export const CONNECTION_ERRORS = errorCatalogue({
  ...TENANT_SCOPE_ERRORS,
  ...JSON_BODY_ERRORS,
  ...CONNECT_REFUSALS,
  oauth_not_configured: { status: 404, means: 'this deployment has no OAuth app' },
  not_connected: { status: 404, means: 'the organization has no connection' },
  personal_token_connection: { status: 409, means: 'the connection uses CALENDLY_API_TOKEN: it follows the environment, and is not disconnected here' },
  no_signing_key: { status: 409, means: 'the connection has no signing key here (CALENDLY_WEBHOOK_SIGNING_KEY, or OAuth not configured)' },
  test_webhook_rate_limited: {
    status: 429,
    means: `the organization sent more than ${TEST_WEBHOOKS_PER_MINUTE_PER_ORGANIZATION} test webhooks this minute; \`Retry-After\` says when to send again`,
  },
  database_unavailable: { status: 503, means: 'the flow could not be recorded: try again' },
  temporal_unavailable: { status: 503, means: 'Temporal did not accept the workflow in time: try again' },
  disconnect_failed: { status: 502, means: 'the teardown failed (its workflow says why): try again' },
  connect_failed: { status: 502, means: 'Calendly or the database did not answer: start connecting again' },
  invalid_callback: { status: 400, means: 'no code or state' },
  authorization_failed: { status: 400, means: 'Calendly answered an error' },
  access_denied: { status: 403, means: 'the user declined access in Calendly' },
});
const answer = (ctx: Context, code: CodeOf<typeof CONNECTION_ERRORS>, error: string) => answerError(CONNECTION_ERRORS, ctx, code, error);

const callbackQuery = z.object({
  code: z.string().min(1).optional(),
  state: z.string().min(1).optional(),
  error: z.string().optional(),
});
const completeBody = z.object({ code: z.string().min(1).max(2048), state: z.string().min(1).max(4096), confirm: z.boolean().default(false) });
/** OAuth error codes are a fixed vocabulary (RFC 6749 §4.1.2.1); anything else is not echoed back. */
const OAUTH_ERROR_CODE = /^[a-z_]{1,64}$/;

interface ConnectionRouting {
  services: ConnectionServices;
  lifecycle: ConnectionLifecycle;
}
type Handler = (ctx: Context, routing: ConnectionRouting) => void | Promise<void>;

export function connectionRoutes({ config, temporal, orm, logger, apiTokens, connections }: ReceiverDependencies): Router {
  const router = new Router();
  const testWebhooks = perOrganizationPerMinute(TEST_WEBHOOKS_PER_MINUTE_PER_ORGANIZATION);
  const authenticated = requireApiToken(apiTokens);
  const routing = connections && {
    services: connections,
    lifecycle: new ConnectionLifecycle({
      temporal,
      taskQueue: config.temporal.taskQueue,
      services: connections,
      syncLookBackDays: config.oauth?.syncLookBackDays ?? 0,
    }),
  };
  const configured =
    (handler: Handler): Middleware =>
    async (ctx) => {
      if (!routing) return notConfigured(ctx);
      await handler(ctx, routing);
    };
  /** The organization's connection of any kind (the token's, or `?organization=`'s); undefined once answered 400, 403 or 404. */
  const connectionOfRequest = async (ctx: Context): Promise<{ connection: Connection; organization: string } | undefined> => {
    const organization = oneOrganization(ctx);
    if (!organization) return undefined;
    const connection = await connectionOfOrganization(orm.em, organization);
    // Without OAuth, an organization without a connection has no way to get one here.
    if (!connection) return void (routing ? notConnected(ctx) : notConfigured(ctx));
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
    (handler: (ctx: Context, routing: ConnectionRouting, connection: Connection, organization: string) => void | Promise<void>): Handler =>
    async (ctx, routing) => {
      const found = await connectionOfRequest(ctx);
      if (!found) return;
      if (found.connection.kind !== 'oauth') {
        return answer(ctx, 'personal_token_connection', 'This connection uses CALENDLY_API_TOKEN: it follows the environment, and is not disconnected here');
      }
      await handler(ctx, routing, found.connection, found.organization);
    };

  router.post(
    '/api/connection/connect',
    authenticated,
    configured(async (ctx, { services }) => {
      const organization = oneOrganization(ctx);
      if (!organization) return;
      let started;
      try {
        started = await services.connect.start(organization);
      } catch (error) {
        requestLogger(ctx, logger).error({ err: error, organization }, 'Could not record the Calendly connect');
        return answer(ctx, 'database_unavailable', 'Connecting cannot start now: try again in a moment');
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
    configured(
      ofOAuthConnection(async (ctx, { lifecycle }, connection, organization) => {
        const log = requestLogger(ctx, logger).child({ connectionId: connection.id, organization });
        const alreadyDisconnected = connection.status === 'disconnected';
        const result = await lifecycle.disconnect(connection, DISCONNECT_REASON);
        switch (result.outcome) {
          case 'not_started':
            log.error({ err: result.cause }, 'Temporal did not accept the disconnect');
            return answer(ctx, 'temporal_unavailable', 'The disconnect could not be started now: try again in a moment');
          case 'failed':
            log.error({ err: result.cause }, 'Disconnecting failed');
            return answer(ctx, 'disconnect_failed', `Disconnecting failed: see workflow ${result.workflowId} in the Temporal Web UI, then try again`);
          case 'under_way':
            // GET /api/connection later says how far it got.
            ctx.status = 202;
            break;
          case 'disconnected':
            if (!alreadyDisconnected) log.info('Calendly disconnected');
        }
        ctx.body = { connection: connectionView(result.connection, config) } satisfies z.output<typeof connectionAnswerSchema>;
      }),
    ),
  );

  router.post(
    '/api/connection/test-webhook',
    authenticated,
    ofConnection(async (ctx, connection, organization) => {
      if (connection.status === 'disconnected') return notConnected(ctx);
      const signingKey = signingKeyOf(connection);
      if (!signingKey) return answer(ctx, 'no_signing_key', 'This connection has no signing key here (CALENDLY_WEBHOOK_SIGNING_KEY, or OAuth not configured)');
      if (!(await testWebhooks.allows(ctx, organization))) return answer(ctx, 'test_webhook_rate_limited', 'Too many test webhooks for this organization this minute');
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
      if (!query.success) return answer(ctx, 'invalid_callback', 'code, state and error must each be given once');
      const { code, state, error } = query.data;
      if (error === 'access_denied') {
        return answer(ctx, 'access_denied', 'Access was declined in Calendly, so nothing was connected: start connecting again to retry');
      }
      if (error !== undefined) {
        const named = OAUTH_ERROR_CODE.test(error) ? ` (${error})` : '';
        return answer(ctx, 'authorization_failed', `Calendly did not authorize the connection${named}: start connecting again`);
      }
      if (!code || !state) {
        return answer(ctx, 'invalid_callback', 'code and state are required: this URL is where Calendly sends the browser back after consent');
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
    configured(async (ctx, { lifecycle }) => {
      const organization = oneOrganization(ctx);
      if (!organization) return;
      const body = await jsonBody(ctx);
      if (body === undefined) return;
      const parsed = completeBody.safeParse(body);
      if (!parsed.success) return answer(ctx, 'invalid_body', 'code and state (as the callback handed them over) are required; confirm is a boolean');
      const { code, state, confirm } = parsed.data;
      const log = requestLogger(ctx, logger).child({ organization });

      const result = await lifecycle.complete(organization, state, code, confirm);
      switch (result.outcome) {
        case 'refused': {
          const { refusal } = result;
          log.info({ code: refusal.code }, 'Calendly connect not completed');
          answer(ctx, refusal.code, refusal.message);
          Object.assign(ctx.body as object, refusal.details);
          return;
        }
        case 'connect_failed':
          log.error({ err: result.cause }, 'Could not complete the Calendly connect');
          return answer(ctx, 'connect_failed', 'Calendly or the database did not answer while connecting: start connecting again');
        case 'set_up_not_started':
          log.error({ err: result.cause, connectionId: result.connection.id }, 'Temporal did not accept the connection set-up');
          return answer(ctx, 'temporal_unavailable', 'Connected, but its set-up could not be started now: start connecting again in a moment');
        case 'connected':
          log.info({ connectionId: result.connection.id }, 'Calendly connected');
          ctx.body = { connection: connectionView(result.connection, config) } satisfies z.output<typeof connectionAnswerSchema>;
      }
    }),
  );
  return router;

  /** The key its subscription signs with: the environment's for the personal token connection, the stored one for OAuth's. */
  function signingKeyOf(connection: Connection): string | undefined {
    if (connection.kind === 'personal_token') return config.calendly.signingKeys[0];
    if (!connection.signingKey) return undefined;
    return connections?.box.open(connection.signingKey, connectionSecretPlace('signing_key', connection.organization));
  }
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
    routingForms: { state: connection.routingForms, detail: connection.routingFormsDetail },
    lastDeliveryAt: connection.lastDeliveryAt,
    lastSyncedAt: connection.lastSyncedAt,
    sync: { state: connection.syncState, progress: connection.syncProgress },
    callbackUrl: callbackUrlOf(connection, config),
    workflowsUrl: workflowListUrl(config.temporal, `${CALENDLY_CONNECTION.name} = "${connection.id}"`),
  };
}

function notConfigured(ctx: Context): void {
  answer(
    ctx,
    'oauth_not_configured',
    'OAuth connections are not configured here: set CALENDLY_CLIENT_ID, CALENDLY_CLIENT_SECRET, CALENDLY_OAUTH_REDIRECT_URI and CONNECTION_ENCRYPTION_KEY',
  );
}

function notConnected(ctx: Context): void {
  answer(ctx, 'not_connected', 'This organization has no Calendly connection: POST /api/connection/connect to start one');
}

/** The errors of an operation: `codes` and, behind a token, the tenant scope's and 401. */
const errors = (codes: readonly CodeOf<typeof CONNECTION_ERRORS>[], extras?: ErrorAnswerExtrasByStatus) =>
  errorAnswers(CONNECTION_ERRORS, codes, extras);
const scoped = (codes: readonly CodeOf<typeof CONNECTION_ERRORS>[], extras?: ErrorAnswerExtrasByStatus) => ({
  ...errors(['invalid_query', 'organization_required', 'forbidden', 'oauth_not_configured', ...codes], extras),
  401: UNAUTHORIZED,
});
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
        ...scoped(['database_unavailable']),
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
      responses: { 200: CONNECTION_STATUS, ...scoped(['not_connected']) },
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
        ...scoped(['not_connected', 'personal_token_connection', 'disconnect_failed', 'temporal_unavailable']),
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
        ...scoped(['not_connected', 'no_signing_key', 'test_webhook_rate_limited'], { 429: { headers: RETRY_AFTER } }),
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
        ...errors(['authorization_failed', 'invalid_callback', 'access_denied', 'oauth_not_configured']),
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
        ...scoped(
          [
            ...(Object.keys(CONNECT_REFUSALS) as (keyof typeof CONNECT_REFUSALS)[]),
            'invalid_body',
            'payload_too_large',
            'connect_failed',
            'temporal_unavailable',
          ],
          {
            409: {
              fields: {
                current: z.object({ calendlyOrganization: z.string().nullable(), calendlyUser: z.string().nullable() }).optional(),
                replacement: z.object({ calendlyOrganization: z.string(), calendlyUser: z.string() }).optional(),
              },
            },
          },
        ),
      },
    },
  },
};
