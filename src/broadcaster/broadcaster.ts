/**
 * Live push to frontends: every receiver instance reads every committed outbox event on its own connection and
 * sends it to its websocket clients at /ws. Instances share nothing but the database, so any number can run.
 */
import type { Server } from 'node:http';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { OutboxFeed } from './outbox-feed';
import { OutboxListener } from './outbox-listener';
import { attachWebsocketServer } from './websocket-server';

export interface Broadcaster {
  /** Closes every client (1001) and stops listening; the HTTP server is left to its owner. */
  stop(): Promise<void>;
}

export interface BroadcasterOptions {
  server: Server;
  config: Pick<Config, 'databaseUrl' | 'apiTokens' | 'websocket'>;
  logger: Logger;
}

export function startBroadcaster({ server, config, logger }: BroadcasterOptions): Broadcaster {
  const log = logger.child({ component: 'broadcaster' });
  const listener = new OutboxListener({ databaseUrl: config.databaseUrl, logger: log, onWake: () => feed.wake() });
  const feed = new OutboxFeed((sql, params) => listener.query(sql, params), log);
  const websockets = attachWebsocketServer({
    server,
    feed,
    apiTokens: config.apiTokens,
    pingIntervalMs: config.websocket.pingIntervalSeconds * 1000,
    maxBufferedBytes: config.websocket.maxBufferedBytes,
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
