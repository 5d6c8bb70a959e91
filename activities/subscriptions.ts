/**
 * The self-healing schedules' activities, for one connection of any kind: checking and repairing the webhook
 * subscription, backfilling bookings (each sync records its progress on the connection).
 */
import { heartbeat, log, sleep } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { WebhookSubscription } from '../src/calendly/schemas';
import type { Activities, BackfillWindow, ConnectionRef, ReconnectResult, SubscriptionInspection, SyncSummary } from '../src/contract';
import { recordedConnectionId } from '../src/workflow-ids';
import { findConnection, recordSyncProgress, recordWebhookState } from '../src/database/connections';
import { syncBookings } from '../src/deliveries/backfill';
import { organizationLabel } from '../src/metrics';
import { inspectSubscriptions } from '../src/subscriptions/inspection';
import { reconnectSubscription } from '../src/subscriptions/reconnect';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';
import { subscriptionProblems } from './metrics';
import { recordRoutingFormsOf } from './routing-forms';

export interface SubscriptionActivityDependencies {
  orm: MikroORM;
  accounts: CalendlyAccounts;
  temporal: Client;
  taskQueue: string;
}

export function createSubscriptionActivities({
  orm,
  accounts,
  temporal,
  taskQueue,
}: SubscriptionActivityDependencies): Pick<Activities, 'inspectWebhookSubscription' | 'repairWebhookSubscription' | 'backfillBookings'> {
  /**
   * What the check found working shows on the connection's status, for every kind (an OAuth connection's set-up
   * records it too). Only the good news: a failure keeps the state its set-up recorded (e.g. upgrade_required).
   * Best effort: the check does not fail for a database that cannot take it now.
   */
  async function recordActive(connectionId: string, subscription: WebhookSubscription): Promise<void> {
    try {
      await recordWebhookState(orm.em.fork(), connectionId, 'active', subscription.uri, null);
      await recordRoutingFormsOf(orm, connectionId, subscription);
    } catch (error) {
      log.warn('The webhook state could not be recorded on the connection', { connectionId, error: (error as Error).message });
    }
  }

  /** Refused before: the check keeps a subscription without the routing form event rather than be refused again. */
  async function routingFormsRefused(connectionId: string): Promise<boolean> {
    return (await findConnection(orm.em.fork(), connectionId))?.routingForms === 'unavailable';
  }

  return {
    async inspectWebhookSubscription(connection: ConnectionRef | undefined): Promise<SubscriptionInspection> {
      const { inspection, organization, connectionId } = await withActivityFailures(async () => {
        const { calendly, target, organization, connectionId } = await accounts.of(connection?.connectionId);
        const withoutRoutingForms = await routingFormsRefused(connectionId);
        return { inspection: await inspectSubscriptions(calendly, target.callbackUrl, withoutRoutingForms), organization, connectionId };
      });
      const labels = { organization: organizationLabel(organization) };
      for (const problem of inspection.problems) subscriptionProblems.inc({ problem, ...labels });
      if (inspection.ours && !inspection.repairable) await recordActive(connectionId, inspection.ours);
      return inspection;
    },

    /** Re-creates ours when it is missing, disabled or wrong; subscriptions at other URLs are left to a person. */
    async repairWebhookSubscription(connection: ConnectionRef | undefined): Promise<ReconnectResult> {
      return await withActivityFailures(async () => {
        const { calendly, target, connectionId } = await accounts.of(connection?.connectionId);
        const withoutRoutingForms = await routingFormsRefused(connectionId);
        const result = await reconnectSubscription({ calendly, target, removeOthers: false, withoutRoutingForms, report: (line) => void log.info(line) });
        if (result.subscription) await recordActive(connectionId, result.subscription);
        return result;
      });
    },

    /** Idempotent: a retry lists again and finds what the failed attempt started already known. */
    async backfillBookings({ from, to }: BackfillWindow, connection: ConnectionRef | undefined): Promise<SyncSummary> {
      const connectionId = recordedConnectionId(connection?.connectionId);
      const progress = async (state: 'running' | 'idle' | 'failed', detail: Record<string, unknown>, finished?: { startedAt: string }) => {
        await recordSyncProgress(orm.em.fork(), connectionId, state, { from, to, ...detail, at: new Date().toISOString() }, finished);
      };
      const startedAt = new Date().toISOString();
      let pending = Promise.resolve();
      try {
        await progress('running', { message: 'starting' });
        const report = (line: string) => {
          heartbeat();
          log.info(line, { connectionId });
          // Page lines are the progress people watch; one write at a time, never blocking the sync.
          if (line.startsWith('Page ')) pending = pending.then(() => progress('running', { message: line })).catch(() => undefined);
        };
        const wait = async (ms: number) => {
          heartbeat();
          await sleep(ms);
        };
        const summary = await withActivityFailures(async () => {
          const { calendly, organization } = await accounts.of(connectionId);
          const window = { from: new Date(from), to: new Date(to) };
          const synced = await syncBookings({ calendly, connectionId, temporal, taskQueue, window, report, sleep: wait, routingForms: { em: orm.em, organization } });
          if (synced.routingFormSubmissions === null) {
            log.warn('Calendly refused to list routing forms: no routing form submissions for this connection', { connectionId });
          }
          return synced;
        });
        await pending;
        await progress('idle', { message: 'done', ...summary }, { startedAt });
        return summary;
      } catch (error) {
        await pending;
        await progress('failed', { message: (error as Error).message }).catch(() => undefined);
        throw error;
      }
    },
  };
}
