import Koa from 'koa';
import { RequestContext } from '@mikro-orm/postgresql';
import { apiResponseHeaders } from './api-headers';
import { connectionPaths, connectionRoutes } from './connection-routes';
import { corsForApi } from './cors';
import { dashboardPaths, dashboardRoutes } from './dashboard/dashboard-routes';
import { deliveryLogPaths, deliveryLogRoutes } from './delivery-log-api';
import type { ReceiverDependencies } from './dependencies';
import { healthPaths, healthRoutes } from './health-routes';
import { outboundWebhookPaths, outboundWebhookRoutes } from './outbound-webhooks-api';
import { apiDocument, openApiRoutes } from './openapi';
import { readApiPaths, readApiRoutes } from './read-api';
import { requestContext } from './request-context';
import { webhookPaths, webhookRoutes } from './webhook-route';
import { websocketTicketPaths, websocketTicketRoutes } from './websocket-ticket-route';

export function createReceiverApp(deps: ReceiverDependencies): Koa {
  const app = new Koa();
  // X-Forwarded-For only from the proxies said to be in front (TRUST_PROXY_HOPS): without one, a client could name
  // any address it likes and so escape the per-address refusal limit. ctx.ip is then the address the outermost
  // trusted proxy saw.
  const { trustProxyHops } = deps.config.http;
  app.proxy = trustProxyHops > 0;
  app.maxIpsCount = trustProxyHops;
  // Request id, access log line, and JSON answers for errors, unknown routes and wrong methods.
  app.use(requestContext(deps.logger));
  const cors = corsForApi(deps.config.http.corsAllowedOrigins);
  if (cors) app.use(cors);
  app.use(apiResponseHeaders);
  // Each request gets its own fork of the entity manager (MikroORM's request context): routes use `orm.em`, and
  // one request's identity map never serves another's.
  app.use((_ctx, next) => RequestContext.create(deps.orm.em, next));
  // Each route module's paths make GET /openapi.json; test/receiver/openapi.test.ts fails for a route missing there.
  const document = apiDocument(deps.config.apiUrl, [webhookPaths, healthPaths, readApiPaths, outboundWebhookPaths, connectionPaths, dashboardPaths, websocketTicketPaths, deliveryLogPaths]);
  for (const router of [webhookRoutes(deps), healthRoutes(deps), readApiRoutes(deps), outboundWebhookRoutes(deps), connectionRoutes(deps), dashboardRoutes(deps), websocketTicketRoutes(deps), deliveryLogRoutes(deps), openApiRoutes(document)]) {
    app.use(router.routes()).use(router.allowedMethods());
  }
  return app;
}
