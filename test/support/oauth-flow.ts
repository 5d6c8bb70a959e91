/**
 * Connecting an organization as its admin would: POST /api/connection/connect with its token, Calendly's consent
 * page (the fake's, over HTTP), the choice, the browser following the redirect to the receiver's callback, and the
 * dashboard it lands on completing with the organization's token.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/connections/secret-box';
import { connectionSecretPlace, findConnection } from '../../src/database/connections';
import { connectionWorkflowIds } from '../../src/workflow-ids';
import { OAUTH_APP, type TestSystem } from './system';

/** What the flow needs of a system: the in-process test system, or real processes beside a fake (the fault suite). */
type Parties = Pick<TestSystem, 'receiverUrl' | 'fake'>;

export interface CallbackAnswer {
  status: number;
  /** the Location header of a redirect */
  location: string | null;
  body: any;
}

/** The authorize URL the receiver hands out for the token's organization. */
export async function startConnect(system: Parties, token: string): Promise<string> {
  const response = await fetch(`${system.receiverUrl}/api/connection/connect`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { authorizeUrl: string; expiresAt: string };
  if (response.status !== 200) throw new Error(`connect answered ${response.status}: ${JSON.stringify(body)}`);
  return body.authorizeUrl;
}

/** The consent page as a browser sees it, then the user's choice (null: deny): where Calendly sends the browser back. */
export async function consent(system: Parties, authorizeUrl: string, userUri: string | null): Promise<URL> {
  if (!authorizeUrl.startsWith(`${system.fake.url}/oauth/authorize?`)) throw new Error(`not the fake's consent page: ${authorizeUrl}`);
  const page = await fetch(authorizeUrl);
  const html = await page.text();
  if (page.status !== 200 || (userUri && !html.includes(userUri))) throw new Error(`the consent page answered ${page.status} without ${userUri}`);
  const form = new URLSearchParams(new URL(authorizeUrl).searchParams);
  if (userUri) form.set('user', userUri);
  form.set('decision', userUri ? 'allow' : 'deny');
  const decided = await fetch(`${system.fake.url}/oauth/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const location = decided.headers.get('location');
  if (decided.status !== 302 || !location) throw new Error(`the consent answered ${decided.status}, not a redirect`);
  const back = new URL(location);
  if (`${back.origin}${back.pathname}` !== OAUTH_APP.redirectUri) throw new Error(`redirected to ${location}, not CALENDLY_OAUTH_REDIRECT_URI`);
  return back;
}

/**
 * The browser following Calendly's redirect to CALENDLY_OAUTH_REDIRECT_URI, which is this receiver's callback (its
 * port is only known once it runs, so the query is replayed on it).
 */
export async function followToCallback(system: Parties, location: URL): Promise<CallbackAnswer> {
  const response = await fetch(`${system.receiverUrl}${location.pathname}${location.search}`, { redirect: 'manual' });
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, location: response.headers.get('location'), body: json ? await response.json() : undefined };
}

/**
 * The dashboard the callback sends the browser on to: it takes `code` and `state` from the fragment and completes
 * with the token it holds (null: a browser that holds none).
 */
export async function completeConnect(system: Parties, token: string | null, location: URL, confirm?: boolean): Promise<{ status: number; body: any }> {
  const landed = await followToCallback(system, location);
  if (landed.status !== 303 || !landed.location?.startsWith('/?connection=authorized#')) {
    throw new Error(`the callback answered ${landed.status} ${landed.location ?? JSON.stringify(landed.body)}, not the dashboard`);
  }
  return completeWith(system, token, Object.fromEntries(new URLSearchParams(landed.location.split('#')[1])), confirm);
}

/** POST /api/connection/complete as the dashboard sends it, with `code` and `state` from the callback. */
export async function completeWith(system: Parties, token: string | null, authorization: Record<string, string>, confirm?: boolean): Promise<{ status: number; body: any }> {
  const response = await fetch(`${system.receiverUrl}/api/connection/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ ...authorization, ...(confirm === undefined ? {} : { confirm }) }),
  });
  return { status: response.status, body: await response.json() };
}

/** The whole flow, `userUri` allowing access in Calendly and the organization's dashboard completing it. */
export async function connectThroughCalendly(system: Parties, token: string, userUri: string, confirm?: boolean): Promise<{ status: number; body: any }> {
  return completeConnect(system, token, await consent(system, await startConnect(system, token), userUri), confirm);
}

/** A connection's webhook signing key in clear, as its Calendly subscription holds it. */
export async function signingKeyOf(system: Pick<TestSystem, 'orm'>, connectionId: string): Promise<string> {
  const connection = (await findConnection(system.orm.em.fork(), connectionId))!;
  return new SecretBox(Buffer.from(OAUTH_APP.encryptionKey, 'base64')).open(connection.signingKey!, connectionSecretPlace('signing_key', connection.organization));
}

/** A value in the format written before associated data existed (v1), sealed as the code before did it. */
export function sealedAsBefore(plain: string, key = Buffer.from(OAUTH_APP.encryptionKey, 'base64')): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), data].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
}

/** A Calendly organization of its own in the fake (a paid plan, so that it can subscribe), with its owner to consent. */
export function calendlyAccount(system: Parties, name: string): { organizationUri: string; owner: string } {
  const { organizationUri, owner } = system.fake.createOrganization({ owner: { name, email: `${randomBytes(8).toString('hex')}@calendly-${name.toLowerCase()}.test` }, plan: 'standard' });
  return { organizationUri, owner: owner.uri };
}

/** The whole flow, then the connection's set-up (subscription, schedules, first sync) awaited: its id. */
export async function connectAndSetUp(system: TestSystem, token: string, userUri: string, confirm?: boolean): Promise<string> {
  const answer = await connectThroughCalendly(system, token, userUri, confirm);
  if (answer.status !== 200) throw new Error(`connect answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  const id = answer.body.connection.id as string;
  await system.temporal.workflow.getHandle(connectionWorkflowIds(id).setUp).result();
  return id;
}
