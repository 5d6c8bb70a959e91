/**
 * Which organization's data a request acts on, by the caller's API token (`ctx.state.apiToken`, set by
 * requireApiToken). A token bound to an organization only ever acts on that organization; the policies differ in
 * what a token bound to none (an API_TOKENS entry without organization) may do. Every route names its policy here.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { ApiCaller } from '../auth/api-tokens';
import { organizationUri } from '../outbound/endpoints';
import { answerError, answerInvalidQuery, errorCatalogue, QUERY_ERRORS } from './api-errors';

export const TENANT_SCOPE_ERRORS = errorCatalogue({
  ...QUERY_ERRORS,
  organization_required: { status: 400, means: 'a token bound to no organization must name one with `?organization=`' },
  forbidden: { status: 403, means: 'the token is bound to another organization than `?organization=`' },
});

const organizationQuery = z.object({ organization: organizationUri.optional() });

const callerOf = (ctx: Context): ApiCaller | undefined => (ctx.state as { apiToken?: ApiCaller }).apiToken;

/**
 * The token's organization, or every organization (undefined) for a token bound to none; `?organization=` is not
 * read. Never refuses. The read API and the dashboard.
 */
export function tokenOrganization(ctx: Context): string | undefined {
  return callerOf(ctx)?.organization;
}

/**
 * The token's organization, or for a token bound to none the `?organization=` it names, or every organization
 * (`organization` undefined) when it names none. Undefined when refused (answered 400 `invalid_query` or 403
 * `forbidden`). The outbound webhook lists, removals and replays.
 */
export function tokenOrNamedOrganization(ctx: Context): { organization: string | undefined } | undefined {
  const named = namedOrganization(ctx);
  if (named === refused) return undefined;
  return { organization: callerOf(ctx)?.organization ?? named };
}

/**
 * Exactly one organization: the token's, or for a token bound to none the `?organization=` it must name. Undefined
 * when refused (answered 400 `invalid_query` or `organization_required`, or 403 `forbidden`). The connection routes
 * and adding an outbound endpoint.
 */
export function oneOrganization(ctx: Context): string | undefined {
  const named = namedOrganization(ctx);
  if (named === refused) return undefined;
  const organization = callerOf(ctx)?.organization ?? named;
  if (!organization) {
    return void answerError(TENANT_SCOPE_ERRORS, ctx, 'organization_required', 'This token is not bound to an organization: name one with ?organization=<organization URI>');
  }
  return organization;
}

const refused = Symbol('refused');

/** `?organization=`, checked against the token's own; `refused` when answered 400 or 403. */
function namedOrganization(ctx: Context): string | undefined | typeof refused {
  const query = organizationQuery.safeParse({ organization: ctx.query.organization });
  if (!query.success) {
    answerInvalidQuery(ctx, query.error);
    return refused;
  }
  const named = query.data.organization;
  const own = callerOf(ctx)?.organization;
  if (own && named && named !== own) {
    answerError(TENANT_SCOPE_ERRORS, ctx, 'forbidden', 'This token is bound to another organization');
    return refused;
  }
  return named;
}
