/**
 * The Calendly client's Prometheus counters, in prom-client's default registry: whichever process uses the client
 * counts its calls (the worker serves them). Each is created once per process.
 */
import { counter } from '../metrics';

/** Calendly API calls by route template and HTTP status (`error` when no answer came: timeout, network). */
export const calendlyApiRequests = counter(
  'calendly_api_requests_total',
  'Calendly API calls, by route template (e.g. /scheduled_events/{uuid}), HTTP status ("error" when none came back) and organization',
  ['endpoint', 'status', 'organization'],
);

/** Calls refused because of the token (401/403): revoked, or lacking a scope. */
export const calendlyAuthFailures = counter(
  'calendly_api_auth_failures_total',
  'Calendly API calls that answered 401 or 403 (the API token was revoked or lacks a scope), by status and organization',
  ['status', 'organization'],
);

/** Pages asked for again after a 429: each is a wait of X-RateLimit-Reset seconds. */
export const calendlyRateLimitWaits = counter(
  'calendly_api_rate_limit_waits_total',
  'Times a Calendly API page answered 429 and the caller waited for the rate limit to reset before asking again, by organization',
  ['organization'],
);

/** The routes the client calls; anything else (an unexpected next_page path) is counted as `other`. */
const ROUTES = [
  '/users/me',
  '/webhook_subscriptions',
  '/webhook_subscriptions/{uuid}',
  '/scheduled_events',
  '/scheduled_events/{uuid}',
  '/scheduled_events/{uuid}/invitees',
  '/scheduled_events/{uuid}/invitees/{uuid}',
] as const;

/** `/scheduled_events/abc/invitees?count=100` -> `/scheduled_events/{uuid}/invitees`: a fixed set, never a raw URI. */
export function endpointOf(path: string): string {
  const segments = (path.split('?')[0] ?? '').split('/').filter(Boolean);
  const template = `/${segments.map((segment, index) => (index % 2 === 1 && segment !== 'me' ? '{uuid}' : segment)).join('/')}`;
  return (ROUTES as readonly string[]).includes(template) ? template : 'other';
}
