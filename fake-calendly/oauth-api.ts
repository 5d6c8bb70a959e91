/**
 * The auth.calendly.com routes, served on the fake's own origin: the consent page (`GET /oauth/authorize`, one
 * "Allow" button per user of the fake, as a browser or the dashboard can click), its form (`POST /oauth/authorize`)
 * and the token, revoke and introspect endpoints (application/x-www-form-urlencoded).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { OAuthError, type AuthorizeRequest, type ClientCredentials, type OAuthServer } from './oauth';
import type { CalendlyStore } from './store';

const MAX_FORM_BYTES = 64 * 1024;

async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new OAuthError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_FORM_BYTES) throw new OAuthError(400, 'invalid_request', 'the body is too large');
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** HTTP Basic carries the form-encoded client_id and client_secret (RFC 6749 §2.3.1); else the form's fields. */
function clientOf(ctx: Context, form: URLSearchParams): ClientCredentials {
  const basic = /^Basic\s+(\S+)\s*$/i.exec(ctx.get('Authorization'))?.[1];
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { clientId: null, clientSecret: null, basic: true };
    const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    return { clientId: decode(decoded.slice(0, colon)), clientSecret: decode(decoded.slice(colon + 1)), basic: true };
  }
  return { clientId: form.get('client_id'), clientSecret: form.get('client_secret'), basic: false };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

const AUTHORIZE_FIELDS = ['client_id', 'response_type', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope'];

function consentPage(store: CalendlyStore, request: AuthorizeRequest, params: URLSearchParams): string {
  const hidden = AUTHORIZE_FIELDS.filter((name) => params.has(name))
    .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(params.get(name) ?? '')}">`)
    .join('');
  const rows = [...store.users.values()]
    .map((user) => {
      const organization = store.organization(user.current_organization);
      return (
        `<li><form method="post" action="/oauth/authorize">${hidden}` +
        `<input type="hidden" name="user" value="${escapeHtml(user.uri)}">` +
        `<span class="user">${escapeHtml(user.name)} &lt;${escapeHtml(user.email)}&gt;</span> ` +
        `<span class="organization">${escapeHtml(organization.uri)} (${organization.plan}, ${store.roleOf(user.uri)})</span> ` +
        `<button type="submit" name="decision" value="allow">Allow</button></form></li>`
      );
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize ${escapeHtml(request.clientId)} - fake Calendly</title></head>
<body><h1>Allow ${escapeHtml(request.clientId)} to access your Calendly account?</h1>
<p>Scope: ${escapeHtml(request.scope)}. Sign in as one of these users:</p>
<ul>
${rows}
</ul>
<form method="post" action="/oauth/authorize">${hidden}<button type="submit" name="decision" value="deny">Deny</button></form>
</body></html>`;
}

export function oauthRouter(store: CalendlyStore, oauth: OAuthServer | null): Router {
  const router = new Router({ prefix: '/oauth' });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      ctx.status = error.status;
      if (error.status === 401) ctx.set('WWW-Authenticate', 'Basic realm="Calendly"');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = error.body;
    }
  });

  const server = (): OAuthServer => {
    if (oauth === null) throw new OAuthError(400, 'invalid_client', 'the fake has no OAuth application configured');
    return oauth;
  };

  router.get('/authorize', (ctx) => {
    const params = new URLSearchParams(ctx.querystring);
    const request = server().authorizeRequest(params);
    ctx.type = 'text/html';
    ctx.body = consentPage(store, request, params);
  });

  router.post('/authorize', async (ctx) => {
    const form = await readForm(ctx);
    const request = server().authorizeRequest(form);
    const user = form.get('decision') === 'allow' ? form.get('user') : null;
    ctx.redirect(server().decide(request, user));
  });

  router.post('/token', async (ctx) => {
    const form = await readForm(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = server().token(form, clientOf(ctx, form));
  });

  router.post('/revoke', async (ctx) => {
    const form = await readForm(ctx);
    server().revoke(form, clientOf(ctx, form));
    ctx.body = {};
  });

  router.post('/introspect', async (ctx) => {
    const form = await readForm(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = server().introspect(form, clientOf(ctx, form));
  });

  return router;
}
