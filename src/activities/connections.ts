/**
 * Setting up and tearing down a connection: its webhook subscription (with its own callback URL and signing key),
 * its own reconcile and subscription-check schedules, and on disconnect the revocation of its token.
 */
import { log } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { CalendlyApiError } from '../calendly/api-client';
import type { Config } from '../config';
import { ConnectionUnavailableError } from '../connections/connection-tokens';
import type { OAuthConnect } from '../connections/oauth-connect';
import type { Activities, ConnectionTeardown } from '../contract';
import { findConnection, recordWebhookState } from '../database/connections';
import { reconnectSubscription } from '../subscriptions/reconnect';
import { createOrUpdateSchedule, deleteScheduleIfExists } from '../temporal/schedules';
import { connectionScheduleIds } from '../workflow-ids';
import { accountScheduleOptions } from './account-schedules';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';

export interface ConnectionActivityDependencies {
  orm: MikroORM;
  accounts: CalendlyAccounts;
  temporal: Client;
  taskQueue: string;
  schedules: Config['schedules'];
  /** absent when OAuth is not configured: these activities then have nothing to work on */
  connect?: OAuthConnect;
}

export function createConnectionActivities(
  deps: ConnectionActivityDependencies,
): Pick<Activities, 'setUpConnectionSubscription' | 'ensureConnectionSchedules' | 'tearDownConnection'> {
  const { orm, accounts, temporal, taskQueue, schedules, connect } = deps;
  return {
    async setUpConnectionSubscription(connectionId: string): Promise<string> {
      return await withActivityFailures(async () => {
        const { calendly, target } = await accounts.of(connectionId);
        try {
          const result = await reconnectSubscription({ calendly, target, removeOthers: false, report: (line) => void log.info(line, { connectionId }) });
          await recordWebhookState(orm.em.fork(), connectionId, 'active', result.subscription?.uri ?? null, null);
          return 'active';
        } catch (error) {
          // Webhooks need a paid Calendly plan; its bookings still come in through the reconcile schedule.
          if (error instanceof CalendlyApiError && error.status === 403) {
            const detail = `Calendly refused the webhook subscription (403: ${error.message}); webhooks need a Standard plan or higher. Bookings are fetched by the reconcile schedule instead, later.`;
            await recordWebhookState(orm.em.fork(), connectionId, 'upgrade_required', null, detail);
            return 'upgrade_required';
          }
          throw error;
        }
      });
    },

    async ensureConnectionSchedules(connectionId: string): Promise<void> {
      for (const options of accountScheduleOptions(taskQueue, schedules, connectionScheduleIds(taskQueue, connectionId), connectionId)) {
        const outcome = await createOrUpdateSchedule(temporal, options);
        log.info(`Schedule ${outcome}`, { scheduleId: options.scheduleId, connectionId });
      }
    },

    async tearDownConnection({ connectionId, reason }: ConnectionTeardown): Promise<void> {
      const connection = await findConnection(orm.em.fork(), connectionId);
      if (!connection || !connect) return;
      const ids = connectionScheduleIds(taskQueue, connectionId);
      for (const scheduleId of [ids.reconcile, ids.subscriptionCheck]) await deleteScheduleIfExists(temporal, scheduleId);
      if (connection.status !== 'disconnected' && connection.webhookSubscriptionUri) {
        try {
          await (await accounts.of(connectionId)).calendly.deleteWebhookSubscription(connection.webhookSubscriptionUri);
        } catch (error) {
          // Gone already, or the token is dead (then Calendly stops delivering by itself): nothing left to delete.
          if (!(error instanceof CalendlyApiError) && !(error instanceof ConnectionUnavailableError)) throw error;
          log.warn('The webhook subscription could not be deleted', { connectionId, error: error.message });
        }
      }
      await recordWebhookState(orm.em.fork(), connectionId, 'deleted', null, reason);
      await connect.disconnect(connection, reason);
    },
  };
}
