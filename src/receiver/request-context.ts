/**
 * The outermost middleware of the receiver: gives every request an id (the caller's `X-Request-Id` when it is a
 * sane token, else a new UUID), echoes it as `X-Request-Id`, answers what went wrong as JSON (an error thrown by a
 * route, an unknown route, a wrong method) and writes one access log line per request: method, path without its
 * query string (query strings can carry tokens), status, ms and requestId.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Logger } from '../logger';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What a caller may choose as request id: short, and nothing a log reader could be fooled by. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Answers Koa would otherwise give as text, given a JSON body and a code instead. */
const STATUS_CODES: Record<number, { error: string; code: string }> = {
  404: { error: 'Not found', code: 'not_found' },
  405: { error: 'Method not allowed', code: 'method_not_allowed' },
  501: { error: 'Not implemented', code: 'not_implemented' },
};

interface RequestState {
  requestId?: string;
  log?: Logger;
  /** set by the webhook route: the trackingId it answered with, also on the access log line */
  trackingId?: string;
}

const stateOf = (ctx: Context): RequestState => ctx.state;

/** The request's logger, carrying its requestId; `fallback` outside a request. */
export function requestLogger(ctx: Context, fallback: Logger): Logger {
  return stateOf(ctx).log ?? fallback;
}

/** Puts the webhook's trackingId on the access log line too. */
export function setTrackingId(ctx: Context, trackingId: string): void {
  stateOf(ctx).trackingId = trackingId;
}

/**
 * The request's path, or undefined when its target is not a URL Node can parse: Koa's `ctx.path` (and `ctx.query`)
 * throw then (e.g. `GET HTTP://xn--/ HTTP/1.1`), in a route or in an error handler alike.
 */
export function pathOf(ctx: Context): string | undefined {
  try {
    return ctx.path;
  } catch {
    return undefined;
  }
}

export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(ctx.get(REQUEST_ID_HEADER) || undefined);
    const state = stateOf(ctx);
    state.requestId = requestId;
    state.log = logger.child({ requestId });
    ctx.set(REQUEST_ID_HEADER, requestId);
    const path = pathOf(ctx);
    if (path === undefined) {
      ctx.status = 400;
      ctx.body = { error: 'The request target is not a valid URL', code: 'invalid_url' };
      logger.info({ method: ctx.method, status: ctx.status, requestId }, 'HTTP request');
      return;
    }
    try {
      await next();
      const status = ctx.status;
      const known = STATUS_CODES[status];
      if (known && ctx.body == null) {
        ctx.body = known;
        ctx.status = status; // an unmatched route's 404 is Koa's default, which setting a body would turn into 200
      }
    } catch (error) {
      state.log.error({ err: error, method: ctx.method, path }, 'Request failed');
      const exposed = error as { status?: number; expose?: boolean; message?: string };
      const status = exposed.expose ? (exposed.status ?? 500) : 500;
      ctx.status = status;
      ctx.set(REQUEST_ID_HEADER, requestId);
      ctx.body = { error: status === 500 ? 'Internal error' : exposed.message, code: status === 500 ? 'internal_error' : 'bad_request' };
    }
    const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
    logger.info(
      { method: ctx.method, path, status: ctx.status, ms, requestId, ...(state.trackingId ? { trackingId: state.trackingId } : {}) },
      'HTTP request',
    );
  };
}
