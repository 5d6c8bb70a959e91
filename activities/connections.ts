/**
 * Setting up and tearing down a connection: its webhook subscription (with its own callback URL and signing key),
 * its own reconcile and subscription-check schedules, and on disconnect the revocation of its token. A teardown
 * terminates a set-up still running, and a set-up step that was already under way then undoes its own work, so
 * that nothing of a disconnected connection is recreated.
 */
import { log } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { CalendlyApiError } from '../src/calendly/api-client';
import type { Config } from '../src/config';
import { ConnectionUnavailableError } from '../src/connections/connection-tokens';
import type { OAuthConnect } from '../src/connections/oauth-connect';
import type { Activities, ConnectionTeardown } from '../src/contract';
import { findConnection, recordWebhookState } from '../src/database/connections';
import { reconnectSubscription } from '../src/subscriptions/reconnect';
import { createOrUpdateSchedule, deleteScheduleIfExists } from '../src/temporal/schedules';
import { connectionScheduleIds, connectionWorkflowIds } from '../src/workflow-ids';
import { accountScheduleOptions } from './account-schedules';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';
import { recordRoutingFormsOf } from './routing-forms';

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
          if (await isDisconnected(connectionId)) {
            // Disconnected meanwhile: the teardown did not see this subscription. Its URL answers 410 Gone, which
            // makes Calendly delete it if this deletion fails (the token is likely revoked by now).
            if (result.subscription) await calendly.deleteWebhookSubscription(result.subscription.uri).catch(() => undefined);
            return 'deleted';
          }
          await recordWebhookState(orm.em.fork(), connectionId, 'active', result.subscription?.uri ?? null, null);
          if (result.subscription) await recordRoutingFormsOf(orm, connectionId, result.subscription);
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
      if (await isDisconnected(connectionId)) return void log.info('Disconnected: no schedules', { connectionId });
      const ids = connectionScheduleIds(taskQueue, connectionId);
      for (const options of accountScheduleOptions(taskQueue, schedules, ids, connectionId)) {
        const outcome = await createOrUpdateSchedule(temporal, options);
        log.info(`Schedule ${outcome}`, { scheduleId: options.scheduleId, connectionId });
      }
      // A teardown marks the connection disconnected before deleting its schedules: whichever ran second removes them.
      if (await isDisconnected(connectionId)) {
        for (const scheduleId of [ids.reconcile, ids.subscriptionCheck]) await deleteScheduleIfExists(temporal, scheduleId);
        log.info('Disconnected meanwhile: its schedules were deleted again', { connectionId });
      }
    },

    async tearDownConnection({ connectionId, reason }: ConnectionTeardown): Promise<void> {
      const connection = await findConnection(orm.em.fork(), connectionId);
      if (!connection || !connect) return;
      await terminateIfRunning(temporal, connectionWorkflowIds(connectionId).setUp, reason);
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
      await connect.disconnect(connectionId, reason);
      const ids = connectionScheduleIds(taskQueue, connectionId);
      for (const scheduleId of [ids.reconcile, ids.subscriptionCheck]) await deleteScheduleIfExists(temporal, scheduleId);
    },
  };

  async function isDisconnected(connectionId: string): Promise<boolean> {
    return (await findConnection(orm.em.fork(), connectionId))?.status === 'disconnected';
  }
}

/** An activity of it may still be under way: the set-up's steps check the connection's status for that. */
async function terminateIfRunning(temporal: Client, workflowId: string, reason: string): Promise<void> {
  try {
    await temporal.workflow.getHandle(workflowId).terminate(reason);
  } catch (error) {
    // `instanceof` can fail across module copies (e.g. under jest), so the name is checked.
    if ((error as Error).name !== 'WorkflowNotFoundError') throw error;
  }
}
