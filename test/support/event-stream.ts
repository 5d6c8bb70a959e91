/** A websocket client of the receiver for tests: collects what is pushed and waits, with a bound, for what is expected. */
import { once } from 'node:events';
import { createServer } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';
import type { MikroORM } from '@mikro-orm/postgresql';
import { recordEvent, type NewEvent } from '../../src/database/outbox';
import { startBroadcaster } from '../../src/broadcaster/broadcaster';
import { WEBSOCKET_PATH, WEBSOCKET_TICKET_PATH, type EventMessage, type WelcomeMessage } from '../../src/broadcaster/protocol';
import { createLogger } from '../../src/logger';
import type { TestSystem } from './system';

export interface StreamOptions {
  token?: string;
  /** how the token is presented: the Authorization header (default), or as browsers do: a ticket bought with it */
  tokenIn?: 'header' | 'ticket';
  /** the receiver that issues the ticket (POST /api/ws-ticket); by default the websocket's own, but any receiver redeems it */
  ticketFrom?: string;
  /** a ticket as given, e.g. one already spent */
  ticket?: string;
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

/** A websocket ticket bought with the token, as the dashboard does. */
export async function buyTicket(receiverUrl: string, token: string): Promise<string> {
  const response = await fetch(`${receiverUrl}${WEBSOCKET_TICKET_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 201) throw new Error(`POST ${WEBSOCKET_TICKET_PATH} answered ${response.status}`);
  return ((await response.json()) as { ticket: string }).ticket;
}

async function urlFor(websocketUrl: string, { token, tokenIn = 'header', ticketFrom, ticket, lastEventId }: StreamOptions): Promise<string> {
  const url = new URL(websocketUrl);
  const receiverUrl = ticketFrom ?? `${url.protocol === 'wss:' ? 'https' : 'http'}://${url.host}`;
  const presented = ticket ?? (token && tokenIn === 'ticket' ? await buyTicket(receiverUrl, token) : undefined);
  if (presented) url.searchParams.set('ticket', presented);
  if (lastEventId) url.searchParams.set('lastEventId', lastEventId);
  return url.toString();
}

async function connect(websocketUrl: string, options: StreamOptions): Promise<WebSocket> {
  const headers = options.token && options.tokenIn !== 'ticket' ? { authorization: `Bearer ${options.token}` } : undefined;
  return new WebSocket(await urlFor(websocketUrl, options), { headers, ...options.socket });
}

/** Connects and resolves once the welcome has arrived: from then on, every event committed reaches the stream. */
export async function openEventStream(websocketUrl: string, options: StreamOptions): Promise<EventStream> {
  const socket = await connect(websocketUrl, options);
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
export async function refusedUpgrade(websocketUrl: string, options: StreamOptions): Promise<{ status: number; body: any; headers: Record<string, string | string[] | undefined> }> {
  const socket = await connect(websocketUrl, options);
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text), headers: response.headers }));
    });
    socket.once('error', () => undefined);
  });
}

/** Commits one outbox event in its own transaction, as the activities do; returns its id. */
export function commitEvent(orm: MikroORM, event: Partial<NewEvent> = {}): Promise<string> {
  return orm.em.fork().transactional((em) => recordEvent(em, { type: 'lead.updated', organization: null, payload: {}, ...event }));
}

/** A second receiver's broadcaster on a server of its own (its own LISTEN connection), as in another process behind the load balancer. */
export async function startSecondBroadcaster(system: Pick<TestSystem, 'config' | 'apiTokens'>): Promise<{ websocketUrl: string; stop(): Promise<void> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const broadcaster = startBroadcaster({ server, config: system.config, apiTokens: system.apiTokens, logger: createLogger('fatal', 'test') });
  return {
    websocketUrl: `ws://127.0.0.1:${(server.address() as { port: number }).port}${WEBSOCKET_PATH}`,
    async stop() {
      await broadcaster.stop();
      server.close();
    },
  };
}
