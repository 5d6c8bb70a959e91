/**
 * `calendly_connection_status{organization,kind,status,webhook}`: one series per connection, of either kind, read from PostgreSQL
 * when Prometheus scrapes the worker, so every worker reports the same truth (alert on status="needs_reauthorization").
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { Gauge, register } from 'prom-client';
import { listConnections } from '../database/connections';

const NAME = 'calendly_connection_status';

export function registerConnectionStatusGauge(orm: MikroORM): void {
  register.removeSingleMetric(NAME);
  new Gauge({
    name: NAME,
    help: 'Connections by organization, kind (personal_token, oauth), status (connected, needs_reauthorization, disconnected) and webhook state: 1 per connection',
    labelNames: ['organization', 'kind', 'status', 'webhook'],
    async collect() {
      this.reset();
      for (const connection of await listConnections(orm.em.fork())) {
        this.set({ organization: connection.organization, kind: connection.kind, status: connection.status, webhook: connection.webhookState }, 1);
      }
    },
  });
}
