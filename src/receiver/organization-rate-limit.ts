/**
 * A per-organization budget of requests a minute, per receiver process, for the routes whose every call makes work
 * outside the request (a replay's workflow and Calendly calls, a test webhook's delivery log row): one organization
 * cannot spend the deployment's capacity or its own Calendly rate limit by clicking, and another is not slowed.
 */
import type { Context } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface OrganizationRateLimit {
  /** spends one of the organization's points; false when none is left, after setting `Retry-After` */
  allows(ctx: Context, organization: string | undefined): Promise<boolean>;
}

export function perOrganizationPerMinute(points: number): OrganizationRateLimit {
  const limiter = new RateLimiterMemory({ points, duration: 60 });
  return {
    async allows(ctx, organization) {
      try {
        await limiter.consume(organization ?? '');
        return true;
      } catch (refused) {
        if (!(refused instanceof RateLimiterRes)) throw refused;
        ctx.set('Retry-After', String(Math.max(1, Math.ceil(refused.msBeforeNext / 1000))));
        return false;
      }
    },
  };
}
