/** Says whether Calendly delivers bookings to this system, and if not, what is wrong and how to fix it. */
import type { CalendlyApiClient } from '../calendly/api-client';
import { HANDLED_EVENTS } from '../calendly/schemas';
import type { SubscriptionInspection, SubscriptionProblem } from '../contract';
import { describeSubscription, inspectSubscriptions } from './inspection';

/** Exit codes of `npm run subscription:verify`; 1 is left for unexpected errors, 2 for wrong usage. */
export const VERIFY_EXIT_CODES = {
  connected: 0,
  missing: 3,
  disabled: 4,
  'wrong-events': 5,
  failing: 6,
  'other-subscriptions': 7,
  'self-test-failed': 8,
} as const satisfies Record<SubscriptionProblem | 'connected' | 'self-test-failed', number>;

export interface Finding {
  problem: SubscriptionProblem;
  message: string;
  fix: string;
}

export interface Verification {
  inspection: SubscriptionInspection;
  /** most urgent first; empty when connected */
  findings: Finding[];
  exitCode: number;
}

/** `connectionId`: the fixes name it, as the commands they suggest need it too. */
export async function verifySubscription(
  calendly: CalendlyApiClient,
  callbackUrl: string,
  { allowOthers = false, connectionId }: { allowOthers?: boolean; connectionId?: string } = {},
): Promise<Verification> {
  const inspection = await inspectSubscriptions(calendly, callbackUrl);
  const commands = connectionId
    ? { reconnect: `run npm run subscription:reconnect -- --connection ${connectionId}`, sync: `npm run bookings:sync -- --connection ${connectionId}` }
    : { reconnect: 'run npm run subscription:reconnect', sync: 'npm run bookings:sync --' };
  const findings = inspection.problems
    .filter((problem) => !(allowOthers && problem === 'other-subscriptions'))
    .map((problem) => findingFor(problem, inspection, commands));
  return { inspection, findings, exitCode: findings.length ? VERIFY_EXIT_CODES[findings[0].problem] : VERIFY_EXIT_CODES.connected };
}

function findingFor(
  problem: SubscriptionProblem,
  { ours, others, callbackUrl }: SubscriptionInspection,
  { reconnect, sync }: { reconnect: string; sync: string },
): Finding {
  const handled = HANDLED_EVENTS.join(', ');
  switch (problem) {
    case 'missing':
      return { problem, message: `No subscription delivers to ${callbackUrl}: Calendly sends no bookings here.`, fix: reconnect };
    case 'disabled': {
      // A booking made after deliveries started failing starts after that moment too: its start time is in the window.
      const since = ours?.retry_started_at ?? '<when deliveries stopped>';
      return {
        problem,
        message: `${ours?.uri} is disabled: Calendly gave up after 24 h of failed deliveries (failing since ${since}) and cannot re-enable it.`,
        fix: `${reconnect} (re-creates it), then ${sync} --from ${since} to fetch the bookings made meanwhile`,
      };
    }
    case 'wrong-events':
      return {
        problem,
        message: `${ours?.uri} listens to ${ours?.events.join(', ')} instead of exactly ${handled}.`,
        fix: `${reconnect} (replaces it)`,
      };
    case 'failing':
      return {
        problem,
        message: `${ours?.uri} is active, but deliveries have failed since ${ours?.retry_started_at}: Calendly retries them for 24 h, then disables it.`,
        fix: `make the receiver answer 2xx at ${callbackUrl} (GET /ready, then npm run subscription:verify -- --self-test); re-creating it would drop the retries`,
      };
    case 'other-subscriptions':
      return {
        problem,
        message: `Other subscriptions receive invitee events too: ${others.map(describeSubscription).join('; ')}.`,
        fix: `${reconnect} (deletes them; add --dry-run to see the plan first), or --allow-others if another integration owns them`,
      };
  }
}
