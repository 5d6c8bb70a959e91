/**
 * Webhook deliveries as Calendly makes them: compact JSON POSTed to every active subscription that lists
 * the event, signed with the subscription's key; failures retried with exponential back-off until the
 * retry window passes, then the subscription is disabled. An answer of 410 Gone deletes the subscription at once,
 * without a retry (Calendly's webhooks overview).
 */
import { SIGNATURE_HEADER, signatureFor } from '../src/calendly/signature';
import { uuidOf, type WebhookEventName } from '../src/calendly/schemas';
import type { Notification } from './scheduling';
import type { CalendlyStore, StoredSubscription } from './store';
import type { DeliveryAttempt, DeliveryRetryOptions } from './types';

/** Calendly's documented read timeout. */
const READ_TIMEOUT_MS = 15_000;

interface DeliveryJob {
  subscription: StoredSubscription;
  event: WebhookEventName;
  body: string;
  attempt: number;
  /** Set on the attempt scheduled at the end of the retry window that started at `retry_started_at`. */
  closesWindowStartedAt: string | null;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class WebhookDeliveries {
  private readonly attempts: DeliveryAttempt[] = [];
  private readonly retries = new Map<NodeJS.Timeout, StoredSubscription>();
  private readonly inFlight = new Set<Promise<DeliveryAttempt>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly store: CalendlyStore,
    private readonly retry: DeliveryRetryOptions,
  ) {}

  /** Sends to every listening subscription; resolves when each first attempt has finished. */
  deliver(notification: Notification): Promise<DeliveryAttempt[]> {
    const jobs = this.listeners(notification).map((subscription) => ({
      subscription,
      event: notification.event,
      body: this.envelope(notification.event, notification.payload, subscription.resource.creator ?? this.store.owner.uri),
      attempt: 1,
      closesWindowStartedAt: null,
    }));
    return Promise.all(jobs.map((job) => this.track(this.attempt(job))));
  }

  /**
   * An organization-wide notification (a routing form submission: Calendly allows its event in organization scope
   * only): to the organization's active organization-scope subscriptions that list it.
   */
  deliverToOrganization(organizationUri: string, event: WebhookEventName, payload: object): Promise<DeliveryAttempt[]> {
    const jobs = [...this.store.subscriptions.values()]
      .filter(({ resource }) => resource.state === 'active' && resource.events.includes(event) && resource.organization === organizationUri && resource.scope === 'organization')
      .map((subscription) => ({
        subscription,
        event,
        body: this.envelope(event, payload, subscription.resource.creator ?? this.store.owner.uri),
        attempt: 1,
        closesWindowStartedAt: null,
      }));
    return Promise.all(jobs.map((job) => this.track(this.attempt(job))));
  }

  /** The exact bytes and header Calendly would send, signed with `signingKey` at `t`. */
  signed(notification: Notification, signingKey: string, t = nowSeconds()): { body: string; signature: string } {
    const organization = this.store.organizationOf(notification.payload.scheduled_event);
    const body = this.envelope(notification.event, notification.payload, this.store.ownerOf(organization).uri);
    return { body, signature: signatureFor(body, signingKey, t) };
  }

  log(): DeliveryAttempt[] {
    return structuredClone(this.attempts);
  }

  /** As after the retry window passed without a successful delivery. */
  disable(subscription: StoredSubscription): void {
    const { resource } = subscription;
    const now = this.store.clock.now();
    resource.state = 'disabled';
    resource.retry_started_at ??= now;
    resource.updated_at = now;
    this.stopRetries(subscription);
  }

  stopRetries(subscription: StoredSubscription): void {
    for (const [timer, owner] of this.retries) {
      if (owner !== subscription) continue;
      clearTimeout(timer);
      this.retries.delete(timer);
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    for (const timer of this.retries.keys()) clearTimeout(timer);
    this.retries.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Key order follows Calendly's captures (alphabetical); the body is serialised once and never re-encoded. */
  private envelope(event: WebhookEventName, payload: object, createdBy: string): string {
    return JSON.stringify({
      created_at: this.store.clock.nowWholeSecond(),
      created_by: createdBy,
      event,
      payload,
    });
  }

  /**
   * Only subscriptions of the event's organization hear it: organization (and group) scope every event there,
   * user scope only its user's.
   */
  private listeners(notification: Notification): StoredSubscription[] {
    const hosts = notification.payload.scheduled_event.event_memberships.map((membership) => membership.user);
    const organization = this.store.organizationOf(notification.payload.scheduled_event);
    return [...this.store.subscriptions.values()].filter(({ resource }) => {
      if (resource.state !== 'active' || !resource.events.includes(notification.event)) return false;
      if (resource.organization !== organization) return false;
      return resource.scope !== 'user' || (resource.user !== null && hosts.includes(resource.user));
    });
  }

  private track(delivery: Promise<DeliveryAttempt>): Promise<DeliveryAttempt> {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
    return delivery;
  }

  private async attempt(job: DeliveryJob): Promise<DeliveryAttempt> {
    const { signingKey, resource } = job.subscription;
    const signature = signingKey === null ? null : signatureFor(job.body, signingKey, nowSeconds());
    const at = this.store.clock.now();
    const status = await this.post(resource.callback_url, job.body, signature);
    const attempt: DeliveryAttempt = {
      subscriptionUri: resource.uri,
      url: resource.callback_url,
      event: job.event,
      status,
      attempt: job.attempt,
      at,
      body: job.body,
      signature,
    };
    this.attempts.push(attempt);
    if (typeof status === 'number' && status >= 200 && status < 300) resource.retry_started_at = null;
    else if (status === 410) this.deleteGone(job.subscription);
    else this.failed(job);
    return structuredClone(attempt);
  }

  /** Redirects are not followed: Calendly counts any 3xx as a failure. */
  private async post(url: string, body: string, signature: string | null): Promise<number | 'network-error'> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (signature !== null) headers[SIGNATURE_HEADER] = signature;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(READ_TIMEOUT_MS), this.closing.signal]),
      });
      await response.body?.cancel();
      return response.status;
    } catch {
      return 'network-error';
    }
  }

  private deleteGone(subscription: StoredSubscription): void {
    const uuid = uuidOf(subscription.resource.uri);
    if (this.store.subscriptions.get(uuid) === subscription) this.store.subscriptions.delete(uuid);
    this.stopRetries(subscription);
  }

  private failed(job: DeliveryJob): void {
    const { subscription } = job;
    const { resource } = subscription;
    if (this.closing.signal.aborted || !this.isLive(subscription)) return;
    resource.retry_started_at ??= this.store.clock.now();
    const windowEnd = Date.parse(resource.retry_started_at) + this.retry.windowMs;
    const now = Date.now();
    if (now >= windowEnd || job.closesWindowStartedAt === resource.retry_started_at) {
      this.disable(subscription);
      return;
    }
    const backOff = Math.min(this.retry.initialDelayMs * 2 ** (job.attempt - 1), this.retry.maxDelayMs);
    const closesWindow = now + backOff >= windowEnd;
    this.schedule(closesWindow ? windowEnd - now : backOff, {
      ...job,
      attempt: job.attempt + 1,
      closesWindowStartedAt: closesWindow ? resource.retry_started_at : null,
    });
  }

  private schedule(delayMs: number, job: DeliveryJob): void {
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if (this.isLive(job.subscription)) void this.track(this.attempt(job));
    }, delayMs);
    timer.unref();
    this.retries.set(timer, job.subscription);
  }

  /** Deleted or disabled subscriptions get no further attempts. */
  private isLive(subscription: StoredSubscription): boolean {
    const current = this.store.subscriptions.get(uuidOf(subscription.resource.uri));
    return current === subscription && subscription.resource.state === 'active';
  }
}
