/**
 * The signing key of each OAuth connection's subscription, for the webhook route: read from PostgreSQL (sealed) and kept
 * in memory, so that a burst of deliveries costs one read. An entry is read again once it is older than
 * CONNECTION_SIGNING_KEY_CACHE_SECONDS, so a rotation or a disconnect takes effect within that time in every receiver
 * process. While PostgreSQL does not answer, a key read before keeps serving (Temporal alone makes a delivery
 * durable); a connection never read before cannot be checked, and `keyOf` throws SigningKeysUnavailable (the route
 * answers 503, Calendly retries). Unknown ids are remembered too, so forged requests to made-up connections cost no
 * more than real ones. Bounded: the oldest entries go first. That a connection is disconnected is never taken from
 * memory, not even during an outage: it makes its URL answer 410 Gone, which deletes a subscription at once, and a
 * reconnect (same id) must not have its new subscription deleted by a receiver that remembers the disconnect.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { SecretBox } from '../connections/secret-box';
import { connectionSecretPlace, findConnection, type Connection } from '../database/connections';
import type { Logger } from '../logger';

const MAX_ENTRIES = 10_000;
/** A read that takes longer is given up for this request: a key held already serves, so Calendly is not kept waiting. */
const READ_TIMEOUT_MS = 2_000;

export interface ConnectionKey {
  connectionId: string;
  organization: string;
  /**
   * null: the stored key does not open (sealed for another row or column, or changed), or nothing is stored (the
   * personal token connection, whose keys are the environment's), so no delivery is accepted with a stored key
   */
  signingKey: string | null;
  /** disconnected by a person: its subscription should not exist any more */
  disconnected: boolean;
  /** the key of the Calendly organization it was moved away from, whose subscription should not exist any more */
  retiredSigningKey: string | null;
}

/** PostgreSQL did not answer and the connection's key was never read: the delivery cannot be checked now. */
export class SigningKeysUnavailable extends Error {
  override name = 'SigningKeysUnavailable';
}

interface Entry {
  key: ConnectionKey | undefined;
  readAt: number;
}

export class ConnectionSigningKeys {
  private readonly cache = new Map<string, Entry>();
  /** one read per connection at a time, however many deliveries wait for it */
  private readonly reading = new Map<string, Promise<Entry>>();

  constructor(
    private readonly orm: MikroORM,
    /** unset without OAuth: then no stored key opens */
    private readonly box: SecretBox | undefined,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  /** undefined: no such connection. */
  async keyOf(connectionId: string): Promise<ConnectionKey | undefined> {
    const cached = this.cache.get(connectionId);
    if (cached && Date.now() - cached.readAt < this.ttlMs && !cached.key?.disconnected) return cached.key;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from PostgreSQL within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
    });
    try {
      return (await Promise.race([this.read(connectionId), timedOut])).key;
    } catch (error) {
      if (!cached || cached.key?.disconnected) throw new SigningKeysUnavailable(`The signing key of connection ${connectionId} cannot be read: ${(error as Error).message}`);
      this.logger.warn({ err: error, connectionId, ageMs: Date.now() - cached.readAt }, 'Signing key not refreshed (database unavailable): the one read before serves');
      return cached.key;
    } finally {
      clearTimeout(timer);
    }
  }

  private read(connectionId: string): Promise<Entry> {
    let reading = this.reading.get(connectionId);
    if (!reading) {
      reading = this.readFromDatabase(connectionId).finally(() => this.reading.delete(connectionId));
      this.reading.set(connectionId, reading);
    }
    return reading;
  }

  private async readFromDatabase(connectionId: string): Promise<Entry> {
    const connection = await findConnection(this.orm.em.fork(), connectionId);
    const key = connection && {
      connectionId,
      organization: connection.organization,
      signingKey: this.open(connection, 'signing_key'),
      disconnected: connection.status === 'disconnected',
      retiredSigningKey: this.open(connection, 'retired_signing_key'),
    };
    const entry = { key, readAt: Date.now() };
    this.cache.delete(connectionId);
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(connectionId, entry);
    return entry;
  }

  private open(connection: Connection, column: 'signing_key' | 'retired_signing_key'): string | null {
    const sealed = column === 'signing_key' ? connection.signingKey : connection.retiredSigningKey;
    if (!sealed || !this.box) return null;
    try {
      return this.box.open(sealed, connectionSecretPlace(column, connection.organization));
    } catch (error) {
      // Nothing a retry fixes: only restoring the row does.
      this.logger.error({ err: error, connectionId: connection.id, organization: connection.organization, column }, 'A sealed signing key does not open: its deliveries are refused');
      return null;
    }
  }
}
