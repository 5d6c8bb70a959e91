import Koa from 'koa';
import { RequestContext } from '@mikro-orm/postgresql';
import { apiResponseHeaders } from './api-headers';
import { corsForApi } from './cors';
import { dashboardRoutes } from './dashboard/dashboard-routes';
import type { ReceiverDependencies } from './dependencies';
import { healthRoutes } from './health-routes';
import { metricsRoutes } from './metrics';
import { readApiRoutes } from './read-api';
import { requestContext } from './request-context';
import { webhookRoutes } from './webhook-route';

export function createReceiverApp(deps: ReceiverDependencies): Koa {
  const app = new Koa();
  app.proxy = true;
  // Request id, access log line, and JSON answers for errors, unknown routes and wrong methods.
  app.use(requestContext(deps.logger));
  const cors = corsForApi(deps.config.http.corsAllowedOrigins);
  if (cors) app.use(cors);
  app.use(apiResponseHeaders);
  // Each request gets its own fork of the entity manager (MikroORM's request context): routes use `orm.em`, and
  // one request's identity map never serves another's.
  app.use((_ctx, next) => RequestContext.create(deps.orm.em, next));
  for (const router of [webhookRoutes(deps), healthRoutes(deps), metricsRoutes(), readApiRoutes(deps), dashboardRoutes(deps)]) {
    app.use(router.routes()).use(router.allowedMethods());
  }
  return app;
}
