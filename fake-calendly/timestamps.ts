/** Calendly writes every timestamp in UTC with six fractional digits: `2026-03-10T14:22:32.123456Z`. */

function formatMicros(epochMicros: number): string {
  const millis = Math.floor(epochMicros / 1000);
  const fraction = String(epochMicros % 1_000_000).padStart(6, '0');
  return `${new Date(millis).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** Parses any ISO-8601 date-time (with offset) and writes it the way Calendly does. */
export function calendlyTime(isoDateTime: string): string {
  const millis = Date.parse(isoDateTime);
  if (Number.isNaN(millis)) throw new TypeError(`not an ISO-8601 date-time: ${isoDateTime}`);
  return formatMicros(millis * 1000);
}

export function addMinutes(calendlyTimestamp: string, minutes: number): string {
  return calendlyTime(new Date(Date.parse(calendlyTimestamp) + minutes * 60_000).toISOString());
}

/**
 * Strictly increasing microsecond timestamps, so records created in the same millisecond still sort by
 * creation and carry realistic (non-zero) microseconds.
 */
export class MicrosecondClock {
  private last = 0;

  now(): string {
    return formatMicros(this.nextMicros());
  }

  /** Webhook envelopes carry whole seconds (`.000000Z`) in Calendly's captures. */
  nowWholeSecond(): string {
    return formatMicros(Math.floor(this.nextMicros() / 1_000_000) * 1_000_000);
  }

  private nextMicros(): number {
    const current = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    this.last = Math.max(current, this.last + 1);
    return this.last;
  }
}
