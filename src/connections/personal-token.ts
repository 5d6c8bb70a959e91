/**
 * The single account of CALENDLY_API_TOKEN, served as a connection like the OAuth ones (kind `personal_token`): its
 * own row under a fixed id (PERSONAL_TOKEN_CONNECTION_ID), with its organization, status, schedules and sync. Its
 * token and signing keys (CALENDLY_WEBHOOK_SIGNING_KEY) stay in the environment and never reach the database. Its
 * organization of ours is the Calendly organization of the token, as it always was, so rows stored before it was a
 * connection stay its own. Its subscription keeps pointing at the bare webhook URL (WEBHOOK_URL), which the receiver
 * routes to it, as it does `<WEBHOOK_URL>/<its id>`. Connecting its Calendly organization through OAuth takes the row
 * over (kind `oauth`, same id and data); from then on the start-up leaves it OAuth's, and the token is of no use.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { CalendlyApiError, type CalendlyApiClient } from '../calendly/api-client';
import { savePersonalTokenConnection, type Connection } from '../database/connections';
import type { Logger } from '../logger';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../workflow-ids';

/**
 * Asks Calendly whose the token is, then creates or updates the row: idempotent, and safe in several processes at once.
 * Once OAuth took it over, the row is returned as it is (kind `oauth`).
 */
export async function ensurePersonalTokenConnection(orm: MikroORM, calendly: CalendlyApiClient): Promise<Connection> {
  const user = await calendly.getCurrentUser();
  return savePersonalTokenConnection(orm.em.fork(), {
    id: PERSONAL_TOKEN_CONNECTION_ID,
    organization: user.current_organization,
    calendlyOrganization: user.current_organization,
    calendlyUser: user.uri,
  });
}

const RETRY_EVERY_MS = 30_000;

/**
 * At a process's start: the row, without making the start wait for Calendly. While Calendly or PostgreSQL does not
 * answer it is tried again (not when Calendly refuses the token: that needs a person); the worker's activities create it themselves when they need it first. Returns a stop.
 */
export function keepPersonalTokenConnection(orm: MikroORM, calendly: CalendlyApiClient, logger: Logger, retryEveryMs = RETRY_EVERY_MS): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async () => {
    try {
      const connection = await ensurePersonalTokenConnection(orm, calendly);
      if (connection.kind === 'oauth') {
        logger.warn(
          { connectionId: connection.id, organization: connection.organization },
          "CALENDLY_API_TOKEN's account is now connected through OAuth: once its old subscription is deleted, remove CALENDLY_API_TOKEN and CALENDLY_WEBHOOK_SIGNING_KEY",
        );
        return;
      }
      logger.info({ connectionId: connection.id, organization: connection.organization }, 'Personal token connection ready');
    } catch (error) {
      // A refused token stays refused: say so once, and let a restart with a new token try again.
      if (error instanceof CalendlyApiError && (error.status === 401 || error.status === 403)) {
        logger.error({ status: error.status }, 'Calendly refused CALENDLY_API_TOKEN: replace it in .env and restart');
        return;
      }
      logger.warn({ err: error, retryInMs: retryEveryMs }, 'The personal token connection could not be saved yet');
      if (!stopped) timer = setTimeout(() => void attempt(), retryEveryMs);
    }
  };
  void attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
