/**
 * POST /api/ws-ticket: a single-use ticket, valid 30 seconds, that opens one websocket (`/ws?ticket=…`) as the
 * caller's token would. Browsers cannot set a header on a websocket; the ticket keeps the long-lived token out of the
 * URL, and so out of browser history and proxy logs. Stored in PostgreSQL: any receiver redeems it.
 */
import Router from '@koa/router';
import type { z } from 'zod';
import { requireApiToken, type ApiCaller } from '../auth/api-tokens';
import { WEBSOCKET_TICKET_PATH } from '../broadcaster/protocol';
import { websocketTicketSchema } from './api-schemas';
import type { ReceiverDependencies } from './dependencies';
import { BEARER_TOKEN, jsonAnswer, UNAUTHORIZED, type ApiPaths } from './openapi';

export function websocketTicketRoutes({ apiTokens }: ReceiverDependencies): Router {
  const router = new Router();
  router.post(WEBSOCKET_TICKET_PATH, requireApiToken(apiTokens), async (ctx) => {
    ctx.status = 201;
    ctx.body = (await apiTokens.issueWebsocketTicket(ctx.state.apiToken as ApiCaller)) satisfies z.output<typeof websocketTicketSchema>;
  });
  return router;
}

export const websocketTicketPaths: ApiPaths = {
  [WEBSOCKET_TICKET_PATH]: {
    post: {
      operationId: 'createWebsocketTicket',
      tags: ['websocket'],
      summary: 'A single-use ticket to open the websocket with',
      description:
        'Opens one websocket as `/ws?ticket=<ticket>`, bound to the organization of the token that asked for it, within 30 seconds. ' +
        'Browsers cannot set `Authorization` on a websocket, and an API token must not travel in a URL.',
      security: BEARER_TOKEN,
      responses: {
        201: jsonAnswer('The ticket.', websocketTicketSchema),
        401: UNAUTHORIZED,
      },
    },
  },
};
