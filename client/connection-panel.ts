/**
 * The dashboard's Calendly connection panel, for the token's organization (or `?organization=` for a token bound to
 * none): its status from GET /api/connection, and the buttons that connect (through Calendly's consent page),
 * disconnect and send a test webhook. Only the status line is a live region, and it is written only when it
 * changes, so that screen readers announce status changes and not every poll.
 */
import type { z } from 'zod';
import type { Json } from '../src/broadcaster/protocol';
import type { connectionSchema, connectStartSchema, testWebhookAnswerSchema } from '../src/receiver/api-schemas';
import { when } from './format';

type Connection = Json<z.output<typeof connectionSchema>>;
type ConnectStart = z.output<typeof connectStartSchema>;
type TestWebhookAnswer = z.output<typeof testWebhookAnswerSchema>;
type ApiAnswer<Body> = { ok: true; body: Body } | { ok: false; status: number; code: string; error: string; details: Record<string, unknown> };
/** What Calendly sent back to the OAuth callback, which hands it on in the page's fragment. */
export interface Authorization {
  code: string;
  state: string;
}

/** The page's fragment (token, organization), saved while the browser is on Calendly's consent page. */
const RETURN_ADDRESS_KEY = 'dashboard-address-before-connect';
/** While a sync or the set-up runs no event says how far it got, so the panel reads the status this often. */
const POLL_WHILE_BUSY_MS = 3_000;

/**
 * The page's own parameters, from its fragment (`/#token=…&organization=…`): a fragment is never sent to a server,
 * so the token stays out of request lines, proxy logs and Referer headers. Back from Calendly, the OAuth callback
 * sends the browser to `/?connection=authorized#code=…&state=…`, without the token: the fragment saved before leaving
 * is put back in the address (so that a reload still works), and Calendly's code and state leave it.
 */
export function pageQuery(): { query: URLSearchParams; authorization: Authorization | null } {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const returned = new URLSearchParams(location.search).get('connection');
  if (returned === null) return { query: fragment, authorization: null };
  const saved = sessionStorage.getItem(RETURN_ADDRESS_KEY);
  sessionStorage.removeItem(RETURN_ADDRESS_KEY);
  const restored = new URLSearchParams(saved ?? '');
  const [code, state] = [fragment.get('code'), fragment.get('state')];
  history.replaceState(null, '', `${location.pathname}#${restored}`);
  return { query: restored, authorization: returned === 'authorized' && code && state ? { code, state } : null };
}

export class ConnectionPanel {
  private connection: Connection | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  private readonly status = node('#connection-status');
  private readonly result = node('#connection-result');
  private readonly connectButton = node<HTMLButtonElement>('#connection-connect');
  private readonly disconnectButton = node<HTMLButtonElement>('#connection-disconnect');
  private readonly testButton = node<HTMLButtonElement>('#connection-test-webhook');

  /** `onDeliveriesChanged`: the delivery log has a new row (a test webhook), which no live event announces. */
  constructor(
    private readonly token: string,
    private readonly organization: string | null,
    private readonly onDeliveriesChanged: () => void,
  ) {
    this.connectButton.addEventListener('click', () => void this.connect());
    this.disconnectButton.addEventListener('click', () => void this.disconnect());
    this.testButton.addEventListener('click', () => void this.sendTestWebhook());
  }

  showResult(message: string): void {
    this.result.textContent = message;
  }

  /** Reads and shows the status; never throws (a failure is shown in the panel). */
  async refresh(): Promise<void> {
    try {
      await this.read();
    } catch (error) {
      this.showResult(`Connection status unavailable: ${(error as Error).message}`);
    }
  }

  private async read(): Promise<void> {
    const answer = await this.call<{ connection: Connection }>('GET', '/api/connection');
    if (answer.ok) this.render(answer.body.connection);
    else if (answer.code === 'not_connected') this.render(null);
    else if (answer.code === 'oauth_not_configured') this.renderWithoutButtons('not_configured', 'Calendly connections are not configured on this server.');
    else this.renderWithoutButtons('unavailable', `Connection status unavailable: ${answer.error}`);
  }

  /**
   * Completes a connect with this page's token: only the organization that started it can. Replacing the connected
   * Calendly organization by another is confirmed first.
   */
  async complete(authorization: Authorization): Promise<void> {
    if (!this.token) {
      this.showResult(
        "Nothing was connected: this browser holds no API token of the organization that started connecting Calendly. Open the dashboard with that organization's token and click Connect there.",
      );
      return;
    }
    const send = (confirmed: boolean) => this.call<{ connection: Connection }>('POST', '/api/connection/complete', { ...authorization, confirm: confirmed });
    const answer = await this.act('Completing the connection to Calendly…', async () => {
      const first = await send(false);
      if (first.ok || first.code !== 'confirm_replace_calendly_organization') return first;
      const { current, replacement } = first.details as Record<'current' | 'replacement', { calendlyOrganization: string | null } | undefined>;
      const question = `Replace the connected Calendly organization ${current?.calendlyOrganization ?? ''} by ${replacement?.calendlyOrganization ?? ''}? Its webhook is deleted and its bookings stop arriving.`;
      if (confirm(question)) return send(true);
      return { ...first, error: 'Nothing was changed: the connection keeps its Calendly organization.' };
    });
    if (answer) this.showResult('Calendly connected: its webhook and a first sync are being set up.');
  }

  private async connect(): Promise<void> {
    const answer = await this.act('Opening Calendly…', () => this.call<ConnectStart>('POST', '/api/connection/connect'));
    if (!answer) return;
    sessionStorage.setItem(RETURN_ADDRESS_KEY, location.hash.slice(1));
    location.assign(answer.authorizeUrl);
  }

  private async disconnect(): Promise<void> {
    if (!confirm('Disconnect Calendly? Its webhook is deleted and new bookings stop arriving until you connect again.')) return;
    const answer = await this.act('Disconnecting…', () => this.call<{ connection: Connection }>('POST', '/api/connection/disconnect'));
    if (!answer) return;
    this.showResult(answer.connection.status === 'disconnected' ? 'Disconnected.' : 'Disconnecting is still under way.');
    this.render(answer.connection);
  }

  private async sendTestWebhook(): Promise<void> {
    const answer = await this.act('Sending a test webhook…', () => this.call<TestWebhookAnswer>('POST', '/api/connection/test-webhook'));
    if (!answer) return;
    const trackingId = (answer.answer as { trackingId?: unknown } | null)?.trackingId;
    this.showResult(
      answer.received
        ? `Test webhook received (HTTP ${answer.status}${typeof trackingId === 'string' ? `, tracking id ${trackingId}` : ''}): see the delivery log.`
        : `Test webhook not received: ${answer.url} answered ${answer.status ?? 'nothing (unreachable)'}. Check API_URL and any proxy in front of the receiver.`,
    );
    this.onDeliveriesChanged();
  }

  /** Runs one button's request with the buttons disabled; the answer's body, or undefined after showing its error. */
  private async act<Body>(pending: string, request: () => Promise<ApiAnswer<Body>>): Promise<Body | undefined> {
    this.busy = true;
    this.setButtonsDisabled(true);
    this.showResult(pending);
    try {
      const answer = await request();
      if (answer.ok) return answer.body;
      this.showResult(answer.error);
      return undefined;
    } catch (error) {
      this.showResult(`The request failed: ${(error as Error).message}`);
      return undefined;
    } finally {
      this.busy = false;
      this.setButtonsDisabled(false);
      await this.refresh();
    }
  }

  private async call<Body>(method: 'GET' | 'POST', path: string, json?: object): Promise<ApiAnswer<Body>> {
    const query = this.organization ? `?${new URLSearchParams({ organization: this.organization })}` : '';
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (json) headers['content-type'] = 'application/json';
    const response = await fetch(`${path}${query}`, { method, headers, body: json && JSON.stringify(json) });
    const body = (await response.json()) as Body & { code?: string; error?: string };
    if (response.ok) return { ok: true, body };
    const error = body.error ?? `${method} ${path} answered ${response.status}`;
    return { ok: false, status: response.status, code: body.code ?? 'unknown', error, details: body };
  }

  private render(connection: Connection | null): void {
    this.connection = connection;
    const state = connection?.status ?? 'not_connected';
    node('#connection').dataset.status = state;
    setText(this.status, statusText(connection));
    node('#connection-details').hidden = !connection;
    if (connection) {
      setText(node('#connection-webhook'), webhookText(connection.webhook));
      node('#connection-webhook').dataset.active = String(connection.webhook.active);
      setText(node('#connection-calendly'), connection.calendlyOrganization ?? '—');
      setText(node('#connection-last-delivery'), connection.lastDeliveryAt ? when(connection.lastDeliveryAt) : 'None yet');
      setText(node('#connection-sync'), syncText(connection));
      node('#connection-sync').dataset.state = connection.sync.state;
      node<HTMLAnchorElement>('#connection-workflows').href = connection.workflowsUrl;
    }
    node('#connection-actions').hidden = false;
    this.connectButton.textContent = connection ? 'Reconnect' : 'Connect Calendly';
    // The deployment's CALENDLY_API_TOKEN connection follows the environment: only its test webhook is for this page.
    const personalToken = connection?.kind === 'personal_token';
    this.connectButton.hidden = personalToken;
    this.disconnectButton.hidden = !connection || personalToken || connection.status === 'disconnected';
    this.testButton.hidden = !connection || connection.status === 'disconnected';
    this.setButtonsDisabled(this.busy);
    this.pollWhileBusy();
  }

  private renderWithoutButtons(state: string, message: string): void {
    this.connection = null;
    node('#connection').dataset.status = state;
    setText(this.status, message);
    node('#connection-details').hidden = true;
    node('#connection-actions').hidden = true;
  }

  private setButtonsDisabled(disabled: boolean): void {
    for (const button of [this.connectButton, this.disconnectButton, this.testButton]) button.disabled = disabled;
  }

  /** Reads the status again soon while the set-up or a sync runs, until neither does. */
  private pollWhileBusy(): void {
    const connection = this.connection;
    const settingUp = connection?.status === 'connected' && connection.webhook.state === 'none';
    if (this.pollTimer || !(connection?.sync.state === 'running' || settingUp)) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.refresh();
    }, POLL_WHILE_BUSY_MS);
  }
}

function statusText(connection: Connection | null): string {
  if (!connection) return 'Not connected: connect your Calendly account to receive its bookings.';
  const reason = connection.statusReason ? ` (${connection.statusReason})` : '';
  switch (connection.status) {
    case 'connected':
      return 'Connected to Calendly.';
    case 'needs_reauthorization':
      return `Needs reauthorization${reason}: click Reconnect and allow access in Calendly again.`;
    case 'disconnected':
      return `Disconnected${reason}: click Reconnect to receive bookings again.`;
  }
}

function webhookText(webhook: Connection['webhook']): string {
  const detail = webhook.detail ? ` (${webhook.detail})` : '';
  switch (webhook.state) {
    case 'active':
      return 'Active';
    case 'none':
      return 'Not active: being set up…';
    case 'upgrade_required':
      return `Not active: the Calendly plan has no webhooks (upgrade it in Calendly); bookings arrive with the periodic sync${detail}`;
    case 'failed':
      return `Not active: the subscription failed${detail}; Reconnect to try again`;
    case 'deleted':
      return `Not active: the subscription was deleted${detail}`;
  }
}

function syncText({ sync, lastSyncedAt }: Connection): string {
  const message = typeof sync.progress?.message === 'string' ? sync.progress.message : null;
  const last = lastSyncedAt ? `last complete sync ${when(lastSyncedAt)}` : 'no complete sync yet';
  if (sync.state === 'running') return `Running: ${message ?? 'started'} (${last})`;
  if (sync.state === 'failed') return `Failed${message ? `: ${message}` : ''} (${last})`;
  // A finished sync's summary (SyncSummary): what it found, and how much of it was new here.
  const { invitees, started } = sync.progress ?? {};
  const found = message === 'done' && typeof invitees === 'number' && typeof started === 'number' ? `: ${invitees} booking${invitees === 1 ? '' : 's'} found, ${started} new` : '';
  return `${last.charAt(0).toUpperCase()}${last.slice(1)}${found}`;
}

/** Writes only a change: rewriting the same text would make a live region announce it again. */
function setText(target: HTMLElement, value: string): void {
  if (target.textContent !== value) target.textContent = value;
}

function node<Element extends HTMLElement = HTMLElement>(selector: string): Element {
  return document.querySelector<Element>(selector)!;
}
