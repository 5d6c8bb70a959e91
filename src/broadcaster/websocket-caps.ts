/**
 * How many websockets this receiver keeps open: in all (below HTTP_MAX_CONNECTIONS, so that webhooks always keep
 * connections), per organization and per API token, so that one tenant cannot take every place. Counted per
 * receiver process: behind a load balancer each receiver applies the same limits.
 */
import type { ApiCaller } from '../auth/api-tokens';

export type WebsocketLimit = 'receiver' | 'organization' | 'token';

export interface WebsocketLimits {
  maxConnections: number;
  maxPerOrganization: number;
  maxPerToken: number;
}

/** A token of every organization counts under this name. */
const EVERY_ORGANIZATION = '*';

export class WebsocketCaps {
  private total = 0;
  private readonly perOrganization = new Map<string, number>();
  private readonly perToken = new Map<string, number>();

  constructor(private readonly limits: WebsocketLimits) {}

  /** A place for the caller's websocket, given back by `release()` (once, however often called), or the limit that refuses it. */
  take(caller: ApiCaller): { release(): void } | { refused: WebsocketLimit } {
    const organization = caller.organization ?? EVERY_ORGANIZATION;
    if (this.total >= this.limits.maxConnections) return { refused: 'receiver' };
    if ((this.perToken.get(caller.tokenKey) ?? 0) >= this.limits.maxPerToken) return { refused: 'token' };
    if ((this.perOrganization.get(organization) ?? 0) >= this.limits.maxPerOrganization) return { refused: 'organization' };
    this.total += 1;
    add(this.perToken, caller.tokenKey, 1);
    add(this.perOrganization, organization, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        add(this.perToken, caller.tokenKey, -1);
        add(this.perOrganization, organization, -1);
      },
    };
  }
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  const count = (counts.get(key) ?? 0) + delta;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
}
