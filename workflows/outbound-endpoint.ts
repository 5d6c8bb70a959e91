import { continueAsNew, log, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { outboundEventsWaiting, type Activities, type EndpointDeliveryInput, type OutboundRetrySchedule } from '../src/contract';
import { RETRY_UNTIL_DONE } from './retry-policy';

/**
 * A pass sends for up to 20 s (each POST waits at most 15 s for its answer); a worker killed mid-pass is noticed
 * once the minute is up, and the pass runs again: a delivery cut short is sent again with its Idempotency-Key.
 */
const { sendEndpointBacklog } = proxyActivities<Activities>({ ...RETRY_UNTIL_DONE, startToCloseTimeout: '1 minute' });

/** Passes per run before continue-as-new keeps the history short (a busy endpoint's run lives on). */
const PASSES_PER_RUN = 500;

/**
 * One endpoint's outbound deliveries, in the order their events happened: one workflow per endpoint, woken by the
 * dispatcher (Signal-With-Start) when it has deliveries waiting. Each pass is one activity that sends everything
 * pending, so a burst of events costs one wake and one activity, not a workflow each. Only a failed attempt sets a
 * timer: the back-off before the oldest delivery is tried again (the ones after it wait their turn). A delivery
 * refused for good, or failing its last allowed attempt, is dead (ops see and replay it) and the next one goes.
 * The run ends once nothing is pending and no wake came meanwhile; the dispatcher starts the next one.
 */
export async function deliverEndpointEvents(input: EndpointDeliveryInput): Promise<void> {
  const { endpointId, organization, retry } = input;
  let woken = input.woken ?? true;
  setHandler(outboundEventsWaiting, () => {
    woken = true;
  });
  for (let passes = 0; woken; ) {
    woken = false;
    for (;;) {
      if (++passes > PASSES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof deliverEndpointEvents>({ ...input, woken: true });
      }
      const pass = await sendEndpointBacklog(endpointId, retry.maximumAttempts);
      if (pass.state === 'drained') break;
      if (pass.state === 'retrying') {
        const waitSeconds = retryWaitSeconds(retry, pass.attempts);
        log.info('Outbound delivery failed an attempt; the endpoint waits before trying it again', {
          endpointId,
          organization,
          deliveryId: pass.deliveryId,
          attempts: pass.attempts,
          waitSeconds,
        });
        await sleep(waitSeconds * 1000);
      }
    }
  }
}

/** The wait after the n-th failed attempt: the initial wait, doubled each time, up to the longest. */
function retryWaitSeconds({ initialIntervalSeconds, maximumIntervalSeconds }: OutboundRetrySchedule, attempts: number): number {
  return Math.min(maximumIntervalSeconds, initialIntervalSeconds * 2 ** Math.max(0, attempts - 1));
}
