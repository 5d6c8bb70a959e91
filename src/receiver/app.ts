import Koa from 'koa';
import { RequestContext } from '@mikro-orm/postgresql';
import { apiResponseHeaders } from './api-headers';
import { dashboardRoutes } from './dashboard/dashboard-routes';
import type { ReceiverDependencies } from './dependencies';
import { healthRoutes } from './health-routes';
import { metricsRoutes } from './metrics';
import { readApiRoutes } from './read-api';
import { webhookRoutes } from './webhook-route';

export function createReceiverApp(deps: ReceiverDependencies): Koa {
  const app = new Koa();
  app.proxy = true;
  app.use(async (ctx, next) => {
    const started = Date.now();
    try {
      await next();
    } catch (error) {
      deps.logger.error({ err: error, method: ctx.method, path: ctx.path }, 'Request failed');
      const status = (error as { status?: number; expose?: boolean }).expose ? ((error as { status: number }).status ?? 500) : 500;
      ctx.status = status;
      ctx.body = { error: status === 500 ? 'Internal error' : (error as Error).message, code: status === 500 ? 'internal_error' : 'bad_request' };
    }
    deps.logger.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started }, 'HTTP request');
  });
  app.use(apiResponseHeaders);
  // Each request gets its own fork of the entity manager (MikroORM's request context): routes use `orm.em`, and
  // one request's identity map never serves another's.
  app.use((_ctx, next) => RequestContext.create(deps.orm.em, next));
  for (const router of [webhookRoutes(deps), healthRoutes(deps), metricsRoutes(), readApiRoutes(deps), dashboardRoutes(deps)]) {
    app.use(router.routes()).use(router.allowedMethods());
  }
  return app;
}
