/**
 * The receiver's one dedicated PostgreSQL connection (not the MikroORM pool): it LISTENs on the outbox channel (and on
 * the channels given, e.g. API token revocations) and carries the broadcaster's outbox reads. When it drops, it is re-established with back-off.
 */
import { Client } from 'pg';
import { OUTBOX_CHANNEL } from '../database/outbox';
import type { Logger } from '../logger';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;
/** A read that takes longer means the connection is dead without having said so (e.g. a silent network partition). */
const QUERY_TIMEOUT_MS = 10_000;

export interface OutboxListenerOptions {
  databaseUrl: string;
  logger: Logger;
  /** How the connection shows in pg_stat_activity; the broadcaster's by default. */
  applicationName?: string;
  /** After every (re)connection and every notification: there may be new rows to read. */
  onWake(): void;
  /** Further channels LISTENed on the same connection, each with what to do with a notification's payload. */
  channels?: Record<string, (payload: string) => void>;
  /** After every (re)connection: notifications sent on those channels while it was down are lost. */
  onListening?(): void;
}

export class OutboxListener {
  private client: Client | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: OutboxListenerOptions) {}

  start(): void {
    this.reconnect();
  }

  /** Any failure drops the connection and starts a new one, which wakes the caller again once it is up. */
  async query<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
    const client = this.client;
    if (!client) throw new Error('The outbox connection is down; it is being re-established');
    try {
      return (await client.query(sql, params)).rows as Row[];
    } catch (error) {
      this.dropped(client, error as Error);
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end();
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      keepAlive: true,
      query_timeout: QUERY_TIMEOUT_MS,
      application_name: this.options.applicationName ?? 'calendly-bookings broadcaster',
    });
    client.on('error', (error) => this.dropped(client, error));
    client.on('end', () => this.dropped(client, new Error('connection ended')));
    client.on('notification', ({ channel, payload }) => {
      this.safely({ channel }, () => (channel === OUTBOX_CHANNEL ? this.options.onWake() : this.options.channels?.[channel]?.(payload ?? '')));
    });
    try {
      await client.connect();
      for (const channel of [OUTBOX_CHANNEL, ...Object.keys(this.options.channels ?? {})]) await client.query(`listen ${channel}`);
    } catch (error) {
      client.end().catch(() => undefined);
      this.options.logger.warn({ err: error, retryInMs: this.retryMs }, 'Could not listen for outbox events; retrying');
      return this.retry();
    }
    if (this.stopped) return void client.end().catch(() => undefined);
    this.client = client;
    this.retryMs = FIRST_RETRY_MS;
    this.options.logger.info('Listening for outbox events');
    this.safely({ channel: OUTBOX_CHANNEL }, () => {
      this.options.onWake();
      this.options.onListening?.();
    });
  }

  /** The caller's handlers run inside pg's socket events, where a throw would stop the process: it is logged instead. */
  private safely(context: { channel: string }, handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.options.logger.error({ err: error, ...context }, 'Could not handle an outbox notification');
    }
  }

  private dropped(client: Client, error: Error): void {
    if (client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.options.logger.warn({ err: error, retryInMs: this.retryMs }, 'Lost the outbox connection; reconnecting');
    this.retry();
  }

  private retry(): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => this.reconnect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  /** Whatever fails unforeseen while connecting is logged and retried, never left unhandled. */
  private reconnect(): void {
    this.connect().catch((error: unknown) => {
      this.options.logger.error({ err: error, retryInMs: this.retryMs }, 'Could not start listening for outbox events; retrying');
      this.retry();
    });
  }
}
