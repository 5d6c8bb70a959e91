/** Calendly's per-user request budget: a fixed one-minute window. */
const WINDOW_MS = 60_000;

export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (a delta, not an epoch), as in X-RateLimit-Reset. */
  resetSeconds: number;
}

export class RateLimiter {
  private windowStartedAt = 0;
  private used = 0;

  constructor(private readonly limitPerMinute: number) {}

  take(now = Date.now()): RateLimitVerdict {
    if (now - this.windowStartedAt >= WINDOW_MS) {
      this.windowStartedAt = now;
      this.used = 0;
    }
    const allowed = this.used < this.limitPerMinute;
    if (allowed) this.used += 1;
    return {
      allowed,
      limit: this.limitPerMinute,
      remaining: this.limitPerMinute - this.used,
      resetSeconds: Math.ceil((this.windowStartedAt + WINDOW_MS - now) / 1000),
    };
  }
}
