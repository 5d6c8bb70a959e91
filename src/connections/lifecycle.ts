/**
 * A connection's life in Temporal: completing a connect starts its set-up (`setUpConnection`: subscription,
 * schedules, first sync), a disconnect runs its teardown (`disconnectConnection`) and waits a while for it. The
 * routes call these and map the outcomes to HTTP; the workflow IDs, their conflict policies and the waits are
 * decided here. Workflows are started by reference, as the deliveries do (see .dependency-cruiser.cjs).
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { CALENDLY_CONNECTION } from '../contract';
import type { Connection } from '../database/connections';
import { connectionWorkflowIds } from '../workflow-ids';
import { disconnectConnection, setUpConnection } from '../../workflows';
import { ConnectError } from './oauth-connect';
import type { ConnectionServices } from './services';

/** Temporal must accept a start within this, as for a webhook delivery. */
const START_TIMEOUT_MS = 5_000;
/** How long a disconnect waits for the teardown before it answers with the status so far. */
export const DISCONNECT_WAIT_MS = 30_000;

export interface ConnectionLifecycleOptions {
  temporal: Client;
  taskQueue: string;
  services: ConnectionServices;
  /** how far back the first sync of a connection reaches (config.oauth.syncLookBackDays) */
  syncLookBackDays: number;
}

export type CompleteOutcome =
  | { outcome: 'connected'; connection: Connection }
  /** the flow cannot complete: its code and status say why (ConnectError) */
  | { outcome: 'refused'; refusal: ConnectError }
  /** Calendly or the database did not answer */
  | { outcome: 'connect_failed'; cause: unknown }
  /** connected, but Temporal did not accept its set-up */
  | { outcome: 'set_up_not_started'; connection: Connection; cause: unknown };

export type DisconnectOutcome =
  /** torn down (or it already was): the connection as it is now */
  | { outcome: 'disconnected'; connection: Connection }
  /** the teardown still runs after the wait: the connection so far */
  | { outcome: 'under_way'; connection: Connection }
  | { outcome: 'not_started'; cause: unknown }
  | { outcome: 'failed'; workflowId: string; cause: unknown };

export class ConnectionLifecycle {
  constructor(private readonly options: ConnectionLifecycleOptions) {}

  /** Completes a connect (see OAuthConnect.complete) and starts the connection's set-up. */
  async complete(organization: string, state: string, code: string, confirm: boolean): Promise<CompleteOutcome> {
    let connection: Connection;
    try {
      connection = await this.options.services.connect.complete(organization, state, code, confirm);
    } catch (failure) {
      if (failure instanceof ConnectError) return { outcome: 'refused', refusal: failure };
      return { outcome: 'connect_failed', cause: failure };
    }
    const connectionId = connection.id;
    try {
      await this.start(() =>
        this.options.temporal.workflow.start(setUpConnection, {
          workflowId: connectionWorkflowIds(connectionId).setUp,
          taskQueue: this.options.taskQueue,
          args: [{ connectionId, syncFrom: this.syncFrom(connection) }],
          // A reconnect replaces a set-up still running (with the tokens it had); a finished one may run again.
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.TERMINATE_EXISTING,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: [{ key: CALENDLY_CONNECTION, value: connectionId }],
        }),
      );
    } catch (cause) {
      return { outcome: 'set_up_not_started', connection, cause };
    }
    return { outcome: 'connected', connection };
  }

  /** Runs the connection's teardown and waits up to DISCONNECT_WAIT_MS for it; a disconnected one changes nothing. */
  async disconnect(connection: Connection, reason: string): Promise<DisconnectOutcome> {
    if (connection.status === 'disconnected') return { outcome: 'disconnected', connection };
    let handle;
    try {
      handle = await this.start(() =>
        this.options.temporal.workflow.start(disconnectConnection, {
          workflowId: connectionWorkflowIds(connection.id).teardown,
          taskQueue: this.options.taskQueue,
          args: [{ connectionId: connection.id, reason }],
          // A second click while one runs joins it; a later disconnect (after a reconnect) runs anew.
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          typedSearchAttributes: [{ key: CALENDLY_CONNECTION, value: connection.id }],
        }),
      );
    } catch (cause) {
      return { outcome: 'not_started', cause };
    }
    const timeout = AbortSignal.timeout(DISCONNECT_WAIT_MS);
    let outcome: 'disconnected' | 'under_way' = 'disconnected';
    try {
      await this.options.temporal.withAbortSignal(timeout, () => handle.result());
    } catch (cause) {
      if (!timeout.aborted) return { outcome: 'failed', workflowId: handle.workflowId, cause };
      // Still under way (e.g. Calendly is slow): the status says how far it got.
      outcome = 'under_way';
    }
    const current = (await this.options.services.connect.connectionOf(connection.organization)) ?? connection;
    return { outcome, connection: current };
  }

  private start<T>(start: () => Promise<T>): Promise<T> {
    return this.options.temporal.connection.withDeadline(Date.now() + START_TIMEOUT_MS, start);
  }

  /**
   * The first sync reaches back `syncLookBackDays`; a reconnect reaches back to its last complete sync if that is
   * earlier, so that bookings made while the connection was broken are backfilled.
   */
  private syncFrom(connection: Connection): string {
    const lookBack = Date.now() - this.options.syncLookBackDays * 86_400_000;
    const lastSynced = connection.lastSyncedAt?.getTime() ?? lookBack;
    return new Date(Math.min(lookBack, lastSynced)).toISOString();
  }
}
