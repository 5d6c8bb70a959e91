/**
 * Connecting an organization as its admin would: POST /api/connection/connect with its token, Calendly's consent
 * page (the fake's, over HTTP), the choice, then the browser following the redirect to the receiver's callback.
 */
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
export async function followToCallback(system: Parties, location: URL, accept = 'application/json'): Promise<CallbackAnswer> {
  const response = await fetch(`${system.receiverUrl}${location.pathname}${location.search}`, { headers: { accept }, redirect: 'manual' });
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, location: response.headers.get('location'), body: json ? await response.json() : undefined };
}

/** The whole flow, `userUri` allowing access in Calendly. */
export async function connectThroughCalendly(system: Parties, token: string, userUri: string, accept?: string): Promise<CallbackAnswer> {
  return followToCallback(system, await consent(system, await startConnect(system, token), userUri), accept);
}
