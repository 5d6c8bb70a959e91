/**
 * Live push to frontends: every receiver instance reads every committed outbox event on its own connection and
 * sends it to its websocket clients at /ws. Instances share nothing but the database, so any number can run.
 */
import type { Server } from 'node:http';
import type { ApiTokens } from '../auth/api-tokens';
import type { Config } from '../config';
import { API_TOKEN_REVOCATIONS_CHANNEL } from '../database/api-tokens';
import type { Logger } from '../logger';
import { OutboxFeed } from './outbox-feed';
import { OutboxListener } from './outbox-listener';
import { TokenRevocations } from './token-revocations';
import { attachWebsocketServer } from './websocket-server';

export interface Broadcaster {
  /** Closes every client (1001) and stops listening; the HTTP server is left to its owner. */
  stop(): Promise<void>;
}

export interface BroadcasterOptions {
  server: Server;
  config: Pick<Config, 'databaseUrl' | 'websocket'>;
  /** the same as the receiver's routes use */
  apiTokens: ApiTokens;
  logger: Logger;
}

export function startBroadcaster({ server, config, apiTokens, logger }: BroadcasterOptions): Broadcaster {
  const log = logger.child({ component: 'broadcaster' });
  const revocations = new TokenRevocations((ids) => apiTokens.issued.revokedAmong(ids), log);
  const listener = new OutboxListener({
    databaseUrl: config.databaseUrl,
    logger: log,
    onWake: () => feed.wake(),
    channels: { [API_TOKEN_REVOCATIONS_CHANNEL]: (tokenId) => revocations.revoked(tokenId) },
    onListening: () => revocations.listening(),
  });
  const feed = new OutboxFeed((sql, params) => listener.query(sql, params), log);
  const websockets = attachWebsocketServer({
    server,
    feed,
    apiTokens,
    revocations,
    pingIntervalMs: config.websocket.pingIntervalSeconds * 1000,
    maxBufferedBytes: config.websocket.maxBufferedBytes,
    limits: config.websocket,
    logger: log,
  });
  listener.start();
  return {
    async stop() {
      await websockets.close();
      feed.stop();
      await listener.stop();
    },
  };
}
