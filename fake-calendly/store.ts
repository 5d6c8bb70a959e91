/** The fake's Calendly-side state: one organization, its users, events, invitees, no-shows and hooks. */
import { randomUUID } from 'node:crypto';
import { uuidOf, type Invitee, type ScheduledEvent, type User, type WebhookSubscription } from '../src/calendly/schemas';
import { UnknownRecordError } from './errors';
import { newUser, slugOf } from './resources';
import { MicrosecondClock } from './timestamps';
import type { InviteeNoShow } from './types';

export interface StoredSubscription {
  resource: WebhookSubscription;
  /** Never returned by the API; null when the subscription was created without one. */
  signingKey: string | null;
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
  readonly organizationUri: string;
  /** The user the API token belongs to: `/users/me`, default host, creator of subscriptions. */
  readonly owner: User;
  readonly users = new Map<string, User>();
  readonly events = new Map<string, ScheduledEvent>();
  readonly invitees = new Map<string, Invitee>();
  readonly noShows = new Map<string, InviteeNoShow>();
  readonly subscriptions = new Map<string, StoredSubscription>();
  private readonly eventTypes = new Map<string, EventType>();

  constructor(readonly baseUrl: string) {
    this.organizationUri = this.uriFor('organizations', randomUUID());
    this.owner = this.hostFor(OWNER);
  }

  uriFor(collection: string, uuid: string): string {
    return `${this.baseUrl}/${collection}/${uuid}`;
  }

  inviteeUriFor(eventUri: string, inviteeUuid: string): string {
    return `${eventUri}/invitees/${inviteeUuid}`;
  }

  /** Hosts other than the owner become users of the same organization. */
  hostFor(person: { name: string; email: string }): User {
    const existing = [...this.users.values()].find((user) => user.email === person.email);
    if (existing) return existing;
    const uuid = randomUUID();
    const user = newUser(this.uriFor('users', uuid), this.organizationUri, person, this.clock.now());
    this.users.set(uuid, user);
    return user;
  }

  eventTypeFor(name: string): EventType {
    const existing = this.eventTypes.get(name);
    if (existing) return existing;
    const eventType = { uri: this.uriFor('event_types', randomUUID()), name, slug: slugOf(name) };
    this.eventTypes.set(name, eventType);
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
