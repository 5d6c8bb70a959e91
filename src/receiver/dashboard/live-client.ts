/**
 * A client of the receiver's websocket (/ws) that stays connected: after a drop it connects again with
 * `?lastEventId=<id of the last event received>`, so the server sends what was missed first, with no gap and no
 * duplicate (docs/websocket.md). Attempts are spaced by exponential back-off with jitter, up to a cap, so
 * that many clients cut off together do not come back all at once. Each attempt first buys a single-use ticket with the
 * API token (POST /api/ws-ticket) and opens `/ws?ticket=…`, so that the token never travels in a URL. The dashboard
 * page uses it in the browser; it only needs fetch and a WebSocket, so it runs in Node too (with the `ws` package).
 */
import { WEBSOCKET_TICKET_PATH, type EventMessage, type ServerMessage, type WelcomeMessage } from '../../broadcaster/protocol';

/** The part of the WebSocket API this client uses: the browser's WebSocket, or the `ws` package's. */
export interface WebSocketLike {
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number }) => void): void;
  addEventListener(type: 'error', listener: () => void): void;
  close(code?: number, reason?: string): void;
}

/**
 * `connecting`: the first attempt; `live`: welcomed, events arrive; `reconnecting`: dropped, waiting to try again or
 * trying; `stopped`: by `stop()`, or the server said the token is not valid (it will not become valid by retrying).
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface StateChange {
  state: ConnectionState;
  /** reconnecting: when the next attempt starts */
  retryInMs?: number;
  /** the close code of the connection that dropped, when there was one */
  closeCode?: number;
}

export interface LiveClientOptions {
  /** the websocket endpoint, e.g. wss://bookings.example.com/ws */
  url: string;
  /** the API token: it buys each attempt's ticket from POST /api/ws-ticket on the same host */
  token: string;
  /** resume after this event id (e.g. kept from an earlier session); without it the stream starts at the connection */
  lastEventId?: string;
  createSocket(url: string): WebSocketLike;
  onEvent(event: EventMessage): void;
  /** after every connection: whatever the client shows may have changed while it was away */
  onWelcome?(welcome: WelcomeMessage): void;
  onStateChange?(change: StateChange): void;
  /** the first retry waits up to `initialDelayMs`, each next one up to twice as long, never more than `maxDelayMs` */
  backOff?: { initialDelayMs: number; maxDelayMs: number };
}

const DEFAULT_BACK_OFF = { initialDelayMs: 500, maxDelayMs: 30_000 };
/** Closes after which retrying cannot help: the token was revoked (src/broadcaster/protocol.ts) or refused. */
const PERMANENT_CLOSE_CODES = new Set([1008, 4401]);

export class LiveClient {
  private socket: WebSocketLike | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** failed attempts since the last welcome */
  private failures = 0;
  private currentState: ConnectionState = 'connecting';
  private lastId: string | undefined;

  constructor(private readonly options: LiveClientOptions) {
    this.lastId = options.lastEventId;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The id to resume after: of the last event received, else of the last welcome. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.setState({ state: 'stopped' });
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'Client stopped');
  }

  private connect(): void {
    this.requestTicket().then(
      (ticket) => {
        if (this.currentState === 'stopped') return;
        // Refused: the token is not valid, and retrying will not make it so.
        if (ticket === undefined) return this.setState({ state: 'stopped' });
        this.open(ticket);
      },
      () => this.retryLater(),
    );
  }

  /** A new ticket, or undefined when the token is refused (401). */
  private async requestTicket(): Promise<string | undefined> {
    const url = new URL(WEBSOCKET_TICKET_PATH, this.options.url.replace(/^ws/, 'http'));
    const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${this.options.token}` } });
    if (response.status === 401) return undefined;
    if (!response.ok) throw new Error(`POST ${WEBSOCKET_TICKET_PATH} answered ${response.status}`);
    return ((await response.json()) as { ticket: string }).ticket;
  }

  private open(ticket: string): void {
    const url = new URL(this.options.url);
    url.searchParams.set('ticket', ticket);
    if (this.lastId !== undefined) url.searchParams.set('lastEventId', this.lastId);
    const socket = this.options.createSocket(url.toString());
    this.socket = socket;
    socket.addEventListener('message', ({ data }) => {
      if (this.socket !== socket) return;
      const message = JSON.parse(String(data)) as ServerMessage;
      if (message.type === 'welcome') {
        this.failures = 0;
        this.lastId = message.lastEventId;
        this.setState({ state: 'live' });
        this.options.onWelcome?.(message);
        return;
      }
      this.lastId = message.id;
      this.options.onEvent(message);
    });
    // An error is always followed by a close, which decides what comes next (unheard, `ws` would throw it).
    socket.addEventListener('error', () => undefined);
    socket.addEventListener('close', ({ code }) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (PERMANENT_CLOSE_CODES.has(code)) return this.setState({ state: 'stopped', closeCode: code });
      this.retryLater(code);
    });
  }

  private retryLater(closeCode?: number): void {
    if (this.currentState === 'stopped') return;
    const retryInMs = this.nextDelay();
    this.setState({ state: 'reconnecting', retryInMs, closeCode });
    this.retryTimer = setTimeout(() => this.connect(), retryInMs);
  }

  /** Half of the current step for sure, the other half at random ("equal jitter"). */
  private nextDelay(): number {
    const { initialDelayMs, maxDelayMs } = this.options.backOff ?? DEFAULT_BACK_OFF;
    const step = Math.min(maxDelayMs, initialDelayMs * 2 ** this.failures);
    this.failures += 1;
    return Math.round(step / 2 + (Math.random() * step) / 2);
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.options.onStateChange?.(change);
  }
}
