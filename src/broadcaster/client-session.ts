/**
 * One websocket client: it gets the events it may see, in id order, each once. A client that resumes first gets
 * what it missed from the outbox; live events that arrive meanwhile are held and sent after that, so nothing falls
 * in between and nothing comes twice.
 */
import WebSocket from 'ws';
import { organizationLabel } from '../metrics';
import { websocketMessages } from './metrics';
import type { EventRange } from './outbox-rows';
import { CLOSE_TRY_AGAIN_LATER, type BroadcastEvent, type WelcomeMessage } from './protocol';

const BACKLOG_PAGE_SIZE = 500;
const TOO_SLOW = 'Client too slow: reconnect with ?lastEventId=<id of the last event received>';

export interface ClientSessionOptions {
  socket: WebSocket;
  /** from the token: only this organization's events; all when absent */
  organization?: string;
  /** the client's `lastEventId`: missed events after it are sent first */
  resumeAfter?: bigint;
  maxBufferedBytes: number;
  /** events the feed has already delivered live, up to its horizon */
  readDelivered(range: EventRange & { through: bigint }): Promise<BroadcastEvent[]>;
}

export class ClientSession {
  private lastSentId = 0n;
  /** live events held while the backlog is sent; undefined once the client is live */
  private held: BroadcastEvent[] | undefined = [];
  private heldBytes = 0;

  constructor(private readonly options: ClientSessionOptions) {}

  /** For every live event from the feed. */
  deliver(event: BroadcastEvent): void {
    if (this.options.organization && event.organization !== this.options.organization) return;
    if (!this.held) return this.sendLive(event);
    this.held.push(event);
    this.heldBytes += event.message.length;
    if (this.heldBytes > this.options.maxBufferedBytes) this.closeTooSlow();
  }

  /** `horizon`: the feed delivers every event after it to `deliver`; those up to it come from the outbox. */
  async start(horizon: bigint): Promise<void> {
    const { resumeAfter } = this.options;
    this.lastSentId = resumeAfter ?? horizon;
    const welcome: WelcomeMessage = {
      type: 'welcome',
      lastEventId: this.lastSentId.toString(),
      organization: this.options.organization ?? null,
    };
    this.options.socket.send(JSON.stringify(welcome));
    websocketMessages.inc({ kind: 'welcome', organization: organizationLabel(this.options.organization) });
    if (resumeAfter !== undefined && resumeAfter < horizon) await this.sendBacklog(horizon);
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.sendLive(event);
  }

  private async sendBacklog(through: bigint): Promise<void> {
    const { socket, organization, maxBufferedBytes } = this.options;
    for (;;) {
      const events = await this.options.readDelivered({ after: this.lastSentId, through, organization, limit: BACKLOG_PAGE_SIZE });
      for (const event of events) {
        if (socket.readyState !== WebSocket.OPEN) return;
        const written = new Promise((resolve) => socket.send(event.message, resolve));
        websocketMessages.inc({ kind: 'backlog', organization: organizationLabel(event.organization) });
        this.lastSentId = event.id;
        // The backlog is paced by the client instead of piling up in memory.
        if (socket.bufferedAmount > maxBufferedBytes / 2) await written;
      }
      if (events.length < BACKLOG_PAGE_SIZE) return;
    }
  }

  private sendLive(event: BroadcastEvent): void {
    const { socket } = this.options;
    if (event.id <= this.lastSentId || socket.readyState !== WebSocket.OPEN) return;
    socket.send(event.message);
    websocketMessages.inc({ kind: 'live', organization: organizationLabel(event.organization) });
    this.lastSentId = event.id;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) this.closeTooSlow();
  }

  private closeTooSlow(): void {
    this.held = undefined;
    if (this.options.socket.readyState === WebSocket.OPEN) this.options.socket.close(CLOSE_TRY_AGAIN_LATER, TOO_SLOW);
  }
}
