/** A websocket client of the receiver for tests: collects what is pushed and waits, with a bound, for what is expected. */
import WebSocket, { type ClientOptions } from 'ws';
import type { MikroORM } from '@mikro-orm/postgresql';
import { recordEvent, type NewEvent } from '../../src/database/outbox';
import type { EventMessage, WelcomeMessage } from '../../src/broadcaster/protocol';

export interface StreamOptions {
  token?: string;
  /** how the token is presented: the Authorization header (default) or ?token= as browsers do */
  tokenIn?: 'header' | 'query';
  lastEventId?: string;
  socket?: ClientOptions;
}

export interface EventStream {
  socket: WebSocket;
  welcome: WelcomeMessage;
  /** every event received after the welcome, in order */
  events: EventMessage[];
  ids(): string[];
  /** Resolves with the first event that matches; rejects if the connection closes first or after `timeoutMs`. */
  waitFor(match: (event: EventMessage) => boolean, what: string, timeoutMs?: number): Promise<EventMessage>;
  waitForEvent(id: string, timeoutMs?: number): Promise<EventMessage>;
  /** Resolves with the close code and reason once the server closes the connection; rejects after `timeoutMs`. */
  closedByServer(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export function urlFor(websocketUrl: string, { token, tokenIn = 'header', lastEventId }: StreamOptions): string {
  const url = new URL(websocketUrl);
  if (token && tokenIn === 'query') url.searchParams.set('token', token);
  if (lastEventId) url.searchParams.set('lastEventId', lastEventId);
  return url.toString();
}

function connect(websocketUrl: string, options: StreamOptions): WebSocket {
  const headers = options.token && options.tokenIn !== 'query' ? { authorization: `Bearer ${options.token}` } : undefined;
  return new WebSocket(urlFor(websocketUrl, options), { headers, ...options.socket });
}

/** Connects and resolves once the welcome has arrived: from then on, every event committed reaches the stream. */
export function openEventStream(websocketUrl: string, options: StreamOptions): Promise<EventStream> {
  const socket = connect(websocketUrl, options);
  const events: EventMessage[] = [];
  const arrivals = new Set<() => void>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString()) as EventMessage | WelcomeMessage;
      if ('type' in message && message.type === 'welcome') return resolve(stream(message));
      events.push(message);
      for (const arrival of arrivals) arrival();
    });
  });

  function stream(welcome: WelcomeMessage): EventStream {
    return {
      socket,
      welcome,
      events,
      ids: () => events.map((event) => event.id),
      waitFor(match, what, timeoutMs = 10_000) {
        return new Promise((resolve, reject) => {
          const check = () => {
            const found = events.find(match);
            if (!found) return;
            done();
            resolve(found);
          };
          const timer = setTimeout(() => {
            done();
            reject(new Error(`${what} did not arrive within ${timeoutMs} ms; received ${JSON.stringify(events.map((e) => [e.id, e.type]))}`));
          }, timeoutMs);
          const onClose = (code: number) => {
            done();
            reject(new Error(`the connection closed (${code}) before ${what} arrived`));
          };
          const done = () => {
            clearTimeout(timer);
            arrivals.delete(check);
            socket.off('close', onClose);
          };
          arrivals.add(check);
          socket.once('close', onClose);
          check();
        });
      },
      waitForEvent(id, timeoutMs) {
        return this.waitFor((event) => event.id === id, `event ${id}`, timeoutMs);
      },
      closedByServer(timeoutMs = 10_000) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${timeoutMs} ms`)), timeoutMs);
        });
        return Promise.race([closed, timeout]).finally(() => clearTimeout(timer));
      },
      async close() {
        if (socket.readyState !== WebSocket.CLOSED) socket.close();
        await closed;
      },
    };
  }
}

/** The HTTP status an upgrade is refused with, and its JSON body. */
export function refusedUpgrade(websocketUrl: string, options: StreamOptions): Promise<{ status: number; body: any }> {
  const socket = connect(websocketUrl, options);
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    socket.once('error', () => undefined);
  });
}

/** Commits one outbox event in its own transaction, as the activities do; returns its id. */
export function commitEvent(orm: MikroORM, event: Partial<NewEvent> = {}): Promise<string> {
  return orm.em.fork().transactional((em) => recordEvent(em, { type: 'lead.updated', organization: null, payload: {}, ...event }));
}
