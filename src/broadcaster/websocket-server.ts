/**
 * The websocket endpoint on the receiver's HTTP server: refuses upgrades without a valid API token or ticket and
 * those over a limit (websocket-caps.ts, 429), starts a session per client, pings every client and drops those that
 * stopped answering.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { Logger } from '../logger';
import type { ApiCaller, ApiTokens } from '../auth/api-tokens';
import { ClientSession } from './client-session';
import { organizationLabel } from '../metrics';
import { websocketClients, websocketRefusals } from './metrics';
import { WebsocketCaps, type WebsocketLimit, type WebsocketLimits } from './websocket-caps';
import type { OutboxFeed } from './outbox-feed';
import { CLOSE_GOING_AWAY, CLOSE_INTERNAL_ERROR, WEBSOCKET_PATH } from './protocol';
import type { TokenRevocations } from './token-revocations';

/** Clients only ever send pongs; anything larger is not a message this server understands. */
const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024;
/** On shutdown, how long clients get to answer the close before they are cut off. */
const CLOSE_GRACE_MS = 1_000;
/** A place frees when one of the caller's websockets closes, which the server cannot foresee: a fixed pause. */
const LIMITED_RETRY_AFTER_SECONDS = 30;

const LIMIT_REFUSALS: Record<WebsocketLimit, [code: string, error: string]> = {
  receiver: ['too_many_websockets', 'This receiver has all the websockets it takes: try again later'],
  organization: ['too_many_websockets_for_organization', "This organization's websockets are at their limit on this receiver: close one or try again later"],
  token: ['too_many_websockets_for_token', "This API token's websockets are at their limit on this receiver: close one or try again later"],
};

export interface WebsocketServerOptions {
  server: Server;
  feed: OutboxFeed;
  apiTokens: ApiTokens;
  revocations: TokenRevocations;
  pingIntervalMs: number;
  maxBufferedBytes: number;
  limits: WebsocketLimits;
  logger: Logger;
}

export interface EventWebsocketServer {
  close(): Promise<void>;
}

export function attachWebsocketServer(options: WebsocketServerOptions): EventWebsocketServer {
  const { server, feed, logger } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES });
  const caps = new WebsocketCaps(options.limits);
  const answeredPing = new WeakMap<WebSocket, boolean>();

  const onUpgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws takes the socket over, an error on it (the client went away, e.g. during the token check) ends it here.
    socket.on('error', () => socket.destroy());
    const url = requestUrl(request.url);
    if (!url) return refuse(socket, 400, 'invalid_url', 'The request target is not a valid URL');
    if (url.pathname !== WEBSOCKET_PATH) return refuse(socket, 404, 'not_found', `Websockets are served at ${WEBSOCKET_PATH}`);
    const lastEventId = url.searchParams.get('lastEventId');
    if (lastEventId !== null && !/^\d{1,19}$/.test(lastEventId)) {
      return refuse(socket, 400, 'invalid_last_event_id', 'lastEventId must be the id of an event, e.g. ?lastEventId=42');
    }
    const checkpoint = options.revocations.checkpoint;
    const ticket = url.searchParams.get('ticket');
    let caller: ApiCaller | undefined;
    try {
      caller = ticket === null ? await options.apiTokens.authenticate(request.headers.authorization) : await options.apiTokens.redeemWebsocketTicket(ticket);
    } catch (error) {
      logger.warn({ err: error }, 'Could not check the API token of a websocket client');
      return refuse(socket, 503, 'unavailable', 'The API token could not be checked: try again shortly');
    }
    if (!caller) {
      return refuse(socket, 401, 'unauthorized', 'A valid API token is required: Authorization: Bearer <token>, or ?ticket=<ticket from POST /api/ws-ticket>');
    }
    if (socket.destroyed) return;
    const place = caps.take(caller);
    if ('refused' in place) {
      websocketRefusals.inc({ limit: place.refused, organization: organizationLabel(caller.organization) });
      return refuse(socket, 429, ...LIMIT_REFUSALS[place.refused]);
    }
    // The place is given back when the connection ends, whether or not the upgrade completed.
    socket.once('close', () => place.release());
    wss.handleUpgrade(request, socket, head, (ws) => {
      const resumeAfter = lastEventId === null ? undefined : BigInt(lastEventId);
      serve(ws, caller, resumeAfter, checkpoint).catch((error: unknown) => {
        logger.error({ err: error, organization: caller.organization }, 'Websocket session failed');
        ws.close(CLOSE_INTERNAL_ERROR, 'Internal error: reconnect with ?lastEventId=<id of the last event received>');
      });
    });
  };

  const serve = async (ws: WebSocket, caller: ApiCaller, resumeAfter: bigint | undefined, checkpoint: number) => {
    answeredPing.set(ws, true);
    const clients = { organization: organizationLabel(caller.organization) };
    websocketClients.inc(clients);
    ws.once('close', () => websocketClients.dec(clients));
    ws.on('pong', () => answeredPing.set(ws, true));
    ws.on('error', (error) => logger.debug({ err: error }, 'Websocket client error'));
    if (caller.issuedTokenId && caller.organization) {
      await options.revocations.track({ id: caller.issuedTokenId, organization: caller.organization }, ws, checkpoint);
    }
    const session = new ClientSession({
      socket: ws,
      organization: caller.organization,
      resumeAfter,
      maxBufferedBytes: options.maxBufferedBytes,
      readDelivered: (range) => feed.readDelivered(range),
    });
    await feed.ready;
    if (ws.readyState !== WebSocket.OPEN) return;
    const subscription = feed.subscribe((event) => session.deliver(event));
    ws.once('close', () => subscription.unsubscribe());
    try {
      await session.start(subscription.after);
    } catch (error) {
      logger.warn({ err: error }, 'Could not send missed events to a websocket client');
      ws.close(CLOSE_INTERNAL_ERROR, 'Could not read missed events: reconnect with ?lastEventId=<id of the last event received>');
    }
  };

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!answeredPing.get(ws)) {
        ws.terminate();
        continue;
      }
      answeredPing.set(ws, false);
      // A socket closing meanwhile makes ping throw; it is gone at the next round anyway.
      try {
        ws.ping();
      } catch (error) {
        logger.debug({ err: error }, 'Could not ping a websocket client');
      }
    }
  }, options.pingIntervalMs);

  // An event handler's rejection would be unhandled and stop the process: each one ends here, logged, its socket closed.
  const onUpgradeRequest = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    onUpgrade(request, socket, head).catch((error: unknown) => {
      logger.error({ err: error, path: pathOf(request.url) }, 'Websocket upgrade failed');
      socket.destroy();
    });
  server.on('upgrade', onUpgradeRequest);

  return {
    async close() {
      clearInterval(pinger);
      server.off('upgrade', onUpgradeRequest);
      const closed = [...wss.clients].map((ws) => new Promise((resolve) => ws.once('close', resolve)));
      for (const ws of wss.clients) ws.close(CLOSE_GOING_AWAY, 'Server shutting down: reconnect with ?lastEventId=<id of the last event received>');
      const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
      await Promise.race([Promise.all(closed), grace]);
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** The request target as a URL, or undefined when it is not one (`//[`, `http://a:99999/ws`): `new URL` throws then. */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://receiver');
  } catch {
    return undefined;
  }
}

/** For a log line: the path without its query string, which can carry credentials. */
const pathOf = (target: string | undefined) => (target ?? '/').split('?')[0].slice(0, 200);

function refuse(socket: Duplex, status: 400 | 401 | 404 | 429 | 503, code: string, error: string): void {
  const body = JSON.stringify({ error, code });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status];
  socket.once('finish', () => socket.destroy());
  socket.end(
    [
      `HTTP/1.1 ${status} ${reason}`,
      'Connection: close',
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...(status === 401 ? ['WWW-Authenticate: Bearer'] : []),
      ...(status === 429 ? [`Retry-After: ${LIMITED_RETRY_AFTER_SECONDS}`] : []),
      '',
      body,
    ].join('\r\n'),
  );
}
