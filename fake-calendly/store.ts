/**
 * The fake's Calendly-side state: organizations (the default one and any a test adds), their users, events,
 * invitees, no-shows and hooks. A scheduled event belongs to the organization of its (first) host.
 */
import { randomUUID } from 'node:crypto';
import { uuidOf, type Invitee, type ScheduledEvent, type User, type WebhookSubscription } from '../src/calendly/schemas';
import { InvalidOperationError, UnknownRecordError } from './errors';
import { newUser, slugOf } from './resources';
import { MicrosecondClock } from './timestamps';
import type { InviteeNoShow, Plan, Role } from './types';

export interface StoredSubscription {
  resource: WebhookSubscription;
  /** Never returned by the API; null when the subscription was created without one. */
  signingKey: string | null;
}

export interface Organization {
  uri: string;
  plan: Plan;
}

export interface EventType {
  uri: string;
  name: string;
  slug: string;
}

const OWNER = { name: 'Jordan Avery', email: 'jordan.avery@example.com' };

function trailingUuid(uri: string): string | undefined {
  return URL.canParse(uri) ? uuidOf(uri) : undefined;
}

export class CalendlyStore {
  readonly clock = new MicrosecondClock();
  /** The default organization: where bookings go unless a test names another. */
  readonly organizationUri: string;
  /** Owner of the default organization, whose personal access token is the `apiToken` option. */
  readonly owner: User;
  readonly organizations = new Map<string, Organization>();
  readonly roles = new Map<string, Role>();
  readonly users = new Map<string, User>();
  readonly events = new Map<string, ScheduledEvent>();
  readonly invitees = new Map<string, Invitee>();
  readonly noShows = new Map<string, InviteeNoShow>();
  readonly subscriptions = new Map<string, StoredSubscription>();
  private readonly eventTypes = new Map<string, EventType>();

  constructor(readonly baseUrl: string) {
    const { organization, owner } = this.addOrganization('standard', OWNER);
    this.organizationUri = organization.uri;
    this.owner = owner;
  }

  addOrganization(plan: Plan, owner: { name: string; email: string }): { organization: Organization; owner: User } {
    const organization = { uri: this.uriFor('organizations', randomUUID()), plan };
    this.organizations.set(organization.uri, organization);
    return { organization, owner: this.addUser(organization.uri, owner, 'owner') };
  }

  organization(uri: string): Organization {
    const organization = this.organizations.get(uri);
    if (!organization) throw new UnknownRecordError(`no organization ${uri}`);
    return organization;
  }

  /** Calendly emails identify one user across all organizations. */
  addUser(organizationUri: string, person: { name: string; email: string }, role: Role): User {
    this.organization(organizationUri);
    if ([...this.users.values()].some((user) => user.email === person.email)) {
      throw new InvalidOperationError(`a user with email ${person.email} already exists`);
    }
    const uuid = randomUUID();
    const user = newUser(this.uriFor('users', uuid), organizationUri, person, this.clock.now());
    this.users.set(uuid, user);
    this.roles.set(user.uri, role);
    return user;
  }

  ownerOf(organizationUri: string): User {
    const owner = this.membersOf(organizationUri).find((user) => this.roleOf(user.uri) === 'owner');
    if (!owner) throw new UnknownRecordError(`no organization ${organizationUri}`);
    return owner;
  }

  membersOf(organizationUri: string): User[] {
    return [...this.users.values()].filter((user) => user.current_organization === organizationUri);
  }

  roleOf(userUri: string): Role {
    return this.roles.get(userUri) ?? 'user';
  }

  /** The organization of the event's first host. */
  organizationOf(event: Pick<ScheduledEvent, 'event_memberships'>): string {
    const [host] = event.event_memberships;
    return host ? this.user(host.user).current_organization : this.organizationUri;
  }

  uriFor(collection: string, uuid: string): string {
    return `${this.baseUrl}/${collection}/${uuid}`;
  }

  inviteeUriFor(eventUri: string, inviteeUuid: string): string {
    return `${eventUri}/invitees/${inviteeUuid}`;
  }

  /** A host named by a booking is the user with that email, or a new user of the organization. */
  hostFor(person: { name: string; email: string }, organizationUri = this.organizationUri): User {
    const existing = [...this.users.values()].find((user) => user.email === person.email);
    if (!existing) return this.addUser(organizationUri, person, 'user');
    if (existing.current_organization !== organizationUri) {
      throw new InvalidOperationError(`${person.email} is a user of another organization`);
    }
    return existing;
  }

  /** Event types are per organization: two organizations' "30 Minute Meeting" are different records. */
  eventTypeFor(name: string, organizationUri: string): EventType {
    const key = `${organizationUri} ${name}`;
    const existing = this.eventTypes.get(key);
    if (existing) return existing;
    const eventType = { uri: this.uriFor('event_types', randomUUID()), name, slug: slugOf(name) };
    this.eventTypes.set(key, eventType);
    return eventType;
  }

  eventType(uri: string): EventType {
    const eventType = [...this.eventTypes.values()].find((candidate) => candidate.uri === uri);
    if (!eventType) throw new UnknownRecordError(`no event type ${uri}`);
    return eventType;
  }

  user(uri: string): User {
    return this.required(this.users, uri, 'user');
  }

  event(uri: string): ScheduledEvent {
    return this.required(this.events, uri, 'scheduled event');
  }

  invitee(uri: string): Invitee {
    return this.required(this.invitees, uri, 'invitee');
  }

  subscription(uri: string): StoredSubscription {
    return this.required(this.subscriptions, uri, 'webhook subscription');
  }

  /** In creation order. */
  inviteesOf(eventUri: string): Invitee[] {
    return [...this.invitees.values()].filter((invitee) => invitee.event === eventUri);
  }

  removeEvent(eventUri: string): void {
    const event = this.event(eventUri);
    for (const invitee of this.inviteesOf(event.uri)) {
      this.invitees.delete(uuidOf(invitee.uri));
      if (invitee.no_show) this.noShows.delete(uuidOf(invitee.no_show.uri));
    }
    this.events.delete(uuidOf(event.uri));
  }

  private required<T>(records: Map<string, T>, uri: string, kind: string): T {
    const uuid = trailingUuid(uri);
    const record = uuid === undefined ? undefined : records.get(uuid);
    if (!record) throw new UnknownRecordError(`no ${kind} ${uri}`);
    return record;
  }
}
