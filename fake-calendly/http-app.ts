/**
 * The fake's Koa app: control routes, then the OAuth routes (auth.calendly.com) and Calendly's REST API behind rate
 * limit, faults and auth.
 */
import type Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import type { AccessControl, Caller } from './access';
import { CalendlyApiError, errorFor, notFound, UnknownRecordError } from './errors';
import type { FaultInjector } from './fault-injection';
import type { OAuthServer } from './oauth';
import { oauthRouter } from './oauth-api';
import type { RateLimiter } from './rate-limit';
import { restApiRouter, type RestApiDependencies } from './rest-api';
import { routingFormsRouter, type RoutingForms } from './routing-forms';
import type { RequestLogEntry } from './types';
import { webhookSubscriptionsRouter } from './webhook-subscriptions-api';

export interface HttpAppDependencies extends RestApiDependencies {
  access: AccessControl;
  oauth: OAuthServer | null;
  rateLimiter: RateLimiter;
  faults: FaultInjector;
  requests: RequestLogEntry[];
  controlRouter: Router;
  routingForms: RoutingForms;
}

async function answerErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (error) {
    const answer = error instanceof UnknownRecordError ? notFound() : error;
    if (answer instanceof CalendlyApiError) {
      ctx.status = answer.status;
      ctx.body = answer.body;
      return;
    }
    ctx.status = 500;
    ctx.body = errorFor(500).body;
    ctx.app.emit('error', error, ctx);
  }
}

export function createHttpApp(deps: HttpAppDependencies): Koa {
  const app = new Koa();

  app.use(deps.controlRouter.routes());

  app.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      deps.requests.push({ method: ctx.method, path: ctx.path, status: ctx.status });
    }
  });

  app.use(answerErrors);

  app.use(async (ctx, next) => {
    // The REST budget; Calendly limits the token endpoint separately (8 per user per minute), which the fake does not.
    if (ctx.path.startsWith('/oauth/')) {
      await next();
      return;
    }
    const verdict = deps.rateLimiter.take();
    ctx.set('X-RateLimit-Limit', String(verdict.limit));
    ctx.set('X-RateLimit-Remaining', String(verdict.remaining));
    ctx.set('X-RateLimit-Reset', String(verdict.resetSeconds));
    if (!verdict.allowed) throw errorFor(429);
    await next();
  });

  app.use(async (ctx, next) => {
    const status = deps.faults.take(ctx.path);
    if (status === undefined) {
      await next();
      return;
    }
    if (status === 429) ctx.set('X-RateLimit-Remaining', '0');
    throw errorFor(status);
  });

  app.use(oauthRouter(deps.store, deps.oauth).routes());

  app.use(async (ctx, next) => {
    (ctx.state as { caller: Caller }).caller = deps.access.callerOf(ctx);
    await next();
  });

  app.use(restApiRouter(deps).routes());
  app.use(webhookSubscriptionsRouter(deps).routes());
  app.use(routingFormsRouter(deps).routes());
  app.use(() => {
    throw notFound();
  });
  return app;
}
