/**
 * The signing key of each connection's subscription, for the webhook route: read from PostgreSQL (sealed) and kept
 * in memory for a short while, so that a burst of deliveries costs one read, and a disconnect takes effect within
 * that while in every receiver process. Unknown ids are remembered too, so forged requests to made-up connections
 * cost no more than real ones. Bounded: the oldest entries go first. That a connection is disconnected is never
 * taken from memory: it makes its URL answer 410 Gone, which deletes a subscription at once, and a reconnect (same
 * id) must not have its new subscription deleted by a receiver that remembers the disconnect.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ConnectionServices } from '../connections/services';
import { findConnection } from '../database/connections';

const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

export interface ConnectionKey {
  connectionId: string;
  organization: string;
  signingKey: string;
  /** disconnected by a person: its subscription should not exist any more */
  disconnected: boolean;
  /** the key of the Calendly organization it was moved away from, whose subscription should not exist any more */
  retiredSigningKey: string | null;
}

export class ConnectionSigningKeys {
  private readonly cache = new Map<string, { key: ConnectionKey | undefined; until: number }>();

  constructor(
    private readonly orm: MikroORM,
    private readonly services: ConnectionServices,
  ) {}

  /** undefined: no such connection. */
  async keyOf(connectionId: string, now = Date.now()): Promise<ConnectionKey | undefined> {
    const cached = this.cache.get(connectionId);
    if (cached && cached.until > now && !cached.key?.disconnected) return cached.key;
    const connection = await findConnection(this.orm.em.fork(), connectionId);
    const key = connection && {
      connectionId,
      organization: connection.organization,
      signingKey: this.services.box.open(connection.signingKey),
      disconnected: connection.status === 'disconnected',
      retiredSigningKey: connection.retiredSigningKey && this.services.box.open(connection.retiredSigningKey),
    };
    this.cache.delete(connectionId);
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(connectionId, { key, until: now + TTL_MS });
    return key;
  }
}
