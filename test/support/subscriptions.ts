/** Arranging the fake Calendly's webhook subscriptions the way a test needs them, through its REST API. */
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { HANDLED_EVENTS, SUBSCRIBED_EVENTS, uuidOf, type WebhookSubscription } from '../../src/calendly/schemas';
import type { SubscriptionTarget } from '../../src/subscriptions/inspection';
import { CALENDLY_TOKEN, SIGNING_KEY, type TestSystem } from './system';

export const FRONTEND_URL = 'https://frontend.example.com/calendly/webhook';

export interface SubscriptionKit {
  calendly: CalendlyApiClient;
  /** the receiver of the test system, signed with the test signing key */
  target: SubscriptionTarget;
  /** Deletes every subscription, organization and user scope. */
  reset(): Promise<void>;
  /** An organization subscription as someone else might have made it. */
  create(url: string, events?: readonly string[], signingKey?: string): Promise<WebhookSubscription>;
  /** A user-scope subscription: the organization list does not show it, but its URL is taken. */
  createForUser(url: string): Promise<WebhookSubscription>;
  /** `METHOD /path status` of the changes made to subscriptions since `mark()`. */
  changesSince(mark: number): string[];
  mark(): number;
}

export function subscriptionKit(system: TestSystem): SubscriptionKit {
  const { fake } = system;
  const calendly = new CalendlyApiClient({ baseUrl: fake.url, token: CALENDLY_TOKEN });
  const post = async (body: object): Promise<WebhookSubscription> => {
    const response = await fetch(`${fake.url}/webhook_subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALENDLY_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ organization: fake.organizationUri, signing_key: SIGNING_KEY, ...body }),
    });
    if (response.status !== 201) throw new Error(`subscription not created: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { resource: WebhookSubscription }).resource;
  };
  return {
    calendly,
    target: { callbackUrl: `${system.receiverUrl}/calendly/webhook`, signingKey: SIGNING_KEY },
    async reset() {
      for (const subscription of fake.subscriptions()) await calendly.deleteWebhookSubscription(subscription.uri);
    },
    create: (url, events = SUBSCRIBED_EVENTS, signingKey = SIGNING_KEY) => post({ url, events, scope: 'organization', signing_key: signingKey }),
    createForUser: (url) => post({ url, events: HANDLED_EVENTS, scope: 'user', user: fake.userUri }),
    mark: () => fake.requestLog().length,
    changesSince: (mark) =>
      fake
        .requestLog()
        .slice(mark)
        .filter(({ method, path }) => method !== 'GET' && path.startsWith('/webhook_subscriptions'))
        .map(({ method, path, status }) => `${method} ${path} ${status}`),
  };
}

export const pathOf = (subscription: WebhookSubscription) => `/webhook_subscriptions/${uuidOf(subscription.uri)}`;
