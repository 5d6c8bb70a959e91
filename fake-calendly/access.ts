/**
 * Who calls the REST API and what they may see. A bearer token is a personal access token or an OAuth access token;
 * either acts as one user of one organization. Owners and admins see their whole organization, other users their own
 * events; nobody sees another organization's records.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { ScheduledEvent, User } from '../src/calendly/schemas';
import { CalendlyApiError, unauthenticated } from './errors';
import type { OAuthServer } from './oauth';
import type { CalendlyStore, Organization } from './store';
import type { Role } from './types';

export interface Caller {
  user: User;
  organization: Organization;
  role: Role;
  /** Subscriptions made with an OAuth token default to the app's signing key. */
  via: 'personal-access-token' | 'oauth';
}

const expired = () => new CalendlyApiError(401, { title: 'Unauthenticated', message: 'The access token is expired' });

export class AccessControl {
  private readonly personalTokens = new Map<string, string>();

  constructor(
    private readonly store: CalendlyStore,
    private readonly oauth: OAuthServer | null,
  ) {}

  /** A personal access token of `userUri`; `token` is chosen by the caller (e.g. the `apiToken` option) or random. */
  issuePersonalAccessToken(userUri: string, token = randomBytes(32).toString('base64url')): string {
    this.personalTokens.set(token, this.store.user(userUri).uri);
    return token;
  }

  /** The caller of a request: 401 Unauthenticated for a missing, unknown, revoked or expired token. */
  callerOf(ctx: Context): Caller {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(ctx.get('Authorization'))?.[1];
    if (token === undefined) throw unauthenticated();
    const personal = this.personalTokens.get(token);
    if (personal !== undefined) return this.callerFor(personal, 'personal-access-token');
    const owner = this.oauth?.accessTokenOwner(token) ?? 'invalid';
    if (owner === 'invalid') throw unauthenticated();
    if (owner === 'expired') throw expired();
    return this.callerFor(owner.userUri, 'oauth');
  }

  private callerFor(userUri: string, via: Caller['via']): Caller {
    const user = this.store.user(userUri);
    return { user, organization: this.store.organization(user.current_organization), role: this.store.roleOf(user.uri), via };
  }
}

export const isAdmin = (caller: Caller) => caller.role === 'owner' || caller.role === 'admin';

export const isMemberOf = (store: CalendlyStore, caller: Caller, userUri: string) =>
  store.membersOf(caller.organization.uri).some((user) => user.uri === userUri);

/** An admin sees every event of the organization, a user the events they host. */
export function canSeeEvent(store: CalendlyStore, caller: Caller, event: ScheduledEvent): boolean {
  if (store.organizationOf(event) !== caller.organization.uri) return false;
  return isAdmin(caller) || event.event_memberships.some((membership) => membership.user === caller.user.uri);
}

/** Set by the HTTP layer's authentication step for every REST request. */
export const callerIn = (ctx: Context): Caller => (ctx.state as { caller: Caller }).caller;
