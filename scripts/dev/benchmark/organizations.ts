/**
 * Organizations of the benchmark's fairness phase: each one a tenant of the service (an API token bound to it) with
 * its own Calendly organization in the fake, connected through OAuth as its admin would from the settings page.
 * The connect flow lives here only, so that a change to it (e.g. consent bound to the organization that started it)
 * is one edit.
 */
import { randomBytes } from 'node:crypto';
import type { FakeCalendly } from '../../../fake-calendly';

/** The OAuth app the fake registers and the receiver and worker are configured with (their `env`). */
export const OAUTH_APP = {
  clientId: 'benchmark-oauth-client',
  clientSecret: 'benchmark-oauth-client-secret',
  encryptionKey: Buffer.alloc(32, 11).toString('base64'),
} as const;

export interface Tenant {
  /** what the service calls the organization, e.g. in `API_TOKENS` */
  organization: string;
  /** its API token, bound to it */
  token: string;
  calendlyOrganization: string;
  /** the Calendly user who allows the app */
  owner: string;
}

/** A tenant with a new Calendly organization in the fake; `API_TOKENS` entry: `${token}:${organization}`. */
export function newTenant(fake: FakeCalendly, name: string): Tenant {
  const { organizationUri, owner } = fake.createOrganization({ owner: { name: `Owner ${name}`, email: `owner-${name}-${randomBytes(4).toString('hex')}@example.com` } });
  return {
    organization: `https://benchmark.example.com/organizations/${name}`,
    token: `benchmark-${name}-token-${randomBytes(12).toString('hex')}`,
    calendlyOrganization: organizationUri,
    owner: owner.uri,
  };
}

/**
 * The connect flow: the tenant asks for an authorize URL with its token, its Calendly owner allows the app on the
 * fake's consent page, the browser follows the redirect to the receiver's callback, which hands `code` and `state`
 * on to the dashboard in the fragment, and the dashboard completes with the tenant's token, which starts the
 * connection's set-up (subscription, schedules, first sync). Resolves with the connection's id once completed.
 */
export async function connectThroughOAuth(receiverUrl: string, fake: FakeCalendly, tenant: Tenant): Promise<string> {
  const started = await fetch(`${receiverUrl}/api/connection/connect`, { method: 'POST', headers: { authorization: `Bearer ${tenant.token}` } });
  const { authorizeUrl } = (await started.json()) as { authorizeUrl: string };
  if (started.status !== 200) throw new Error(`POST /api/connection/connect answered ${started.status} for ${tenant.organization}`);
  const callback = await fetch(fake.authorize(authorizeUrl, tenant.owner), { redirect: 'manual' });
  const landing = callback.headers.get('location') ?? '';
  if (callback.status !== 303 || !landing.includes('#')) throw new Error(`the connect callback answered ${callback.status} for ${tenant.organization}`);
  const completed = await fetch(`${receiverUrl}/api/connection/complete`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(Object.fromEntries(new URLSearchParams(landing.slice(landing.indexOf('#') + 1)))),
  });
  const body = (await completed.json()) as { connection?: { id: string } };
  if (completed.status !== 200 || !body.connection) throw new Error(`completing the connect answered ${completed.status} for ${tenant.organization}: ${JSON.stringify(body)}`);
  return body.connection.id;
}
