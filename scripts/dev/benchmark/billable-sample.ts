/**
 * The benchmark's billable actions phase: Temporal Cloud billable actions per booking of today's workflow shape,
 * counted (billable-actions.ts) from the histories of every workflow a sample of bookings caused, with one outbound
 * endpoint of their organization subscribed to `meeting.*` and `lead.*` (a local server answering 204). A booking's
 * workflows: its meeting's (keepMeetingReminders, which takes and processes its deliveries) and its share of the
 * endpoint's (deliverEndpointEvents: every run of it while the sample was sent, divided by the bookings). Counted once
 * each has done its work at booking time: the meeting waiting on its first reminder's timer (its delivery processed),
 * the outbound deliveries delivered and the endpoint's workflow ended.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { meetingWorkflowId, outboundEndpointWorkflowId, PERSONAL_TOKEN_CONNECTION_ID } from '../../../src/workflow-ids';
import { billableActions, noActions, perUnit, sumActions, type BillableActions, type History, type HistoryEvent } from './billable-actions';

export const SAMPLE_EVENT_TYPES = ['meeting.*', 'lead.*'];

export interface BillableSample {
  temporal: Client;
  receiverUrl: string;
  /** a token that may name the organization (bound to none) */
  apiToken: string;
  /** the organization of the personal token connection, whose bookings the sample is */
  organization: string;
  /** invitees booked in the fake and not delivered yet, with their emails (which their lead events carry) */
  bookings: { inviteeUri: string; email: string }[];
  /** one more, delivered once the sample's outbound is done: a booking alone on its endpoint */
  loneBooking: string;
  deliver: (inviteeUri: string) => Promise<{ status: number }>;
  /** a meeting of the same organization's connection whose first reminder has fired */
  probeInviteeUri: string;
  /** the reminders planned for each meeting (REMINDER_OFFSETS) */
  reminders: number;
  timeoutSeconds: number;
  say: (message: string) => void;
}

export interface BillableResult {
  bookings: number;
  /** actions of every workflow a booking caused, until it has done its work at booking time, per booking */
  atBooking: BillableActions;
  /** the same, per kind of workflow, per booking */
  byWorkflow: { meeting: BillableActions; outbound: BillableActions };
  outboundDeliveriesPerBooking: number;
  /** the runs of the endpoint's workflow that sent them */
  outboundRuns: number;
  /** the outbound actions of a booking delivered alone (no other event of its endpoint at that time): its own wake */
  outboundAlone: BillableActions;
  /** a probe meeting's actions from its first reminder's timer firing until its next timer is set: measured */
  firstReminderMeasured: BillableActions;
  /** what each meeting's reminders will still cost, computed from the plan (see remindersToCome) */
  remindersToCome: BillableActions;
  withReminders: BillableActions;
}

/** Books the sample, waits until each booking's workflows have done their work at booking time, and counts. */
export async function measureBillableActions(sample: BillableSample): Promise<BillableResult> {
  const { temporal, bookings, say } = sample;
  const deadline = Date.now() + sample.timeoutSeconds * 1000;
  const endpoint = await startEndpoint();
  try {
    const endpointId = await addEndpoint(sample, endpoint.url);
    say(`billable actions: ${bookings.length} bookings delivered, with one outbound endpoint on ${SAMPLE_EVENT_TYPES.join(' and ')}`);
    for (const { inviteeUri } of bookings) {
      const { status } = await sample.deliver(inviteeUri);
      if (status !== 202) throw new Error(`billable actions: a delivery was answered ${status}`);
    }
    const meetingIds = bookings.map(({ inviteeUri }) => meetingWorkflowId(inviteeUri, PERSONAL_TOKEN_CONNECTION_ID));
    // A meeting's first timer is set once its delivery was processed.
    const meetings = await Promise.all(meetingIds.map((workflowId) => historyOnceItHas(temporal, workflowId, 'TIMER_STARTED', 1, deadline)));
    // The deliveries' transactions inserted every outbound delivery they cause: once none is pending, all were sent.
    await until(() => outboundDeliveries(sample, 'pending').then((pending) => pending === 0), deadline, 'outbound deliveries still pending');
    const dead = await outboundDeliveries(sample, 'dead');
    if (dead) throw new Error(`billable actions: ${dead} outbound deliveries dead`);
    const byEmail = new Map(bookings.map(({ inviteeUri, email }) => [email.toLowerCase(), inviteeUri]));
    for (const body of endpoint.received.values()) {
      const inviteeUri = body.data?.meeting?.inviteeUri ?? byEmail.get(String(body.data?.lead?.email).toLowerCase());
      if (!inviteeUri || !bookings.some((booking) => booking.inviteeUri === inviteeUri)) throw new Error(`billable actions: a ${body.type} delivery of no sampled booking`);
    }
    const endpointWorkflowId = outboundEndpointWorkflowId(endpointId);
    const outboundRuns = await endpointRuns(temporal, endpointWorkflowId, deadline);

    const lone = await sample.deliver(sample.loneBooking);
    if (lone.status !== 202) throw new Error(`billable actions: a delivery was answered ${lone.status}`);
    const sent = endpoint.received.size;
    await until(() => Promise.resolve(endpoint.received.size >= sent + 2), deadline, 'the lone booking\'s outbound deliveries not received');
    const loneRuns = (await endpointRuns(temporal, endpointWorkflowId, deadline)).slice(outboundRuns.length);
    const byWorkflow = {
      meeting: perUnit(sumActions(meetings.map((events) => billableActions({ events }))), bookings.length),
      outbound: perUnit(sumActions(outboundRuns.map((events) => billableActions({ events }))), bookings.length),
    };
    const atBooking = sumActions(Object.values(byWorkflow));

    // A meeting's first reminder: its timer fired, its sendReminder ran, and the next reminder's timer was set.
    const probe = await historyOnceItHas(temporal, meetingWorkflowId(sample.probeInviteeUri, PERSONAL_TOKEN_CONNECTION_ID), 'TIMER_STARTED', 2, deadline);
    const firstReminderMeasured = billableActions({ events: probe.slice(probe.findIndex((event) => typeOf(event) === 'TIMER_FIRED')) });
    const remindersToCome = remindersFromPlan(sample.reminders);
    return {
      bookings: bookings.length,
      atBooking,
      byWorkflow,
      outboundDeliveriesPerBooking: sent / bookings.length,
      outboundRuns: outboundRuns.length,
      outboundAlone: sumActions(loneRuns.map((events) => billableActions({ events }))),
      firstReminderMeasured,
      remindersToCome,
      withReminders: sumActions([atBooking, remindersToCome]),
    };
  } finally {
    await endpoint.close();
  }
}

/**
 * What a meeting's reminders will cost after its booking, from keepMeetingReminders' plan: a sendReminder activity
 * each, and the timer of each reminder but the first (set at booking). A reminder sends `reminder.sent`, which is of
 * `reminder.*`: the sample's endpoint (on `meeting.*` and `lead.*`) gets no delivery of it, and the benchmark sets no
 * REMINDER_WEBHOOK_URL, so no deliverReminderWebhook activity either.
 */
export function remindersFromPlan(reminders: number): BillableActions {
  const none = noActions();
  return sumActions([{ ...none, byType: { ...none.byType, schedule_activity: reminders, start_timer: Math.max(0, reminders - 1) } }]);
}

/**
 * Billable actions per booking of a workflow shape without its outbound deliveries, as the Temporal-only baseline ran
 * it: for each booking, the workflows it caused (`workflowIds`), the one keeping its meeting last, counted once that
 * one has set its first reminder's timer. Today's shape and the one before are counted the same way, in the same run.
 */
export async function measureShapeActions(temporal: Client, bookings: { workflowIds: string[]; meetingWorkflowId: string }[], timeoutSeconds: number): Promise<BillableActions> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const counted = await Promise.all(
    bookings.map(async ({ workflowIds, meetingWorkflowId: meetingId }) => {
      const meeting = await historyOnceItHas(temporal, meetingId, 'TIMER_STARTED', 1, deadline);
      const others = await Promise.all(workflowIds.filter((id) => id !== meetingId).map(async (id) => billableActions(await history(temporal, id))));
      return sumActions([billableActions({ events: meeting }), ...others]);
    }),
  );
  return perUnit(sumActions(counted), bookings.length);
}

async function addEndpoint(sample: BillableSample, url: string): Promise<string> {
  const response = await fetch(`${sample.receiverUrl}/api/outbound-endpoints?organization=${encodeURIComponent(sample.organization)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sample.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url, eventTypes: SAMPLE_EVENT_TYPES }),
  });
  if (response.status !== 201) throw new Error(`POST /api/outbound-endpoints answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

/**
 * Every run of the endpoint's workflow, oldest first, once none runs any more (each ends once nothing is pending; the
 * dispatcher starts the next one): the events of each. Runs are listed from visibility, which may lag a closed run by
 * a moment.
 */
async function endpointRuns(temporal: Client, workflowId: string, deadline: number): Promise<HistoryEvent[][]> {
  let runIds: string[] = [];
  await until(
    async () => {
      const latest = await temporal.workflow.getHandle(workflowId).describe();
      if (latest.status.name === 'RUNNING') return false;
      const runs = [];
      for await (const run of temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        if (run.status.name === 'RUNNING') return false;
        runs.push(run);
      }
      runIds = runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()).map(({ runId }) => runId);
      return runIds.includes(latest.runId);
    },
    deadline,
    `${workflowId} still running`,
  );
  return Promise.all(runIds.map(async (runId) => (await history(temporal, workflowId, runId)).events ?? []));
}

async function outboundDeliveries(sample: BillableSample, state: 'pending' | 'dead'): Promise<number> {
  const query = new URLSearchParams({ state, limit: '1', organization: sample.organization });
  const response = await fetch(`${sample.receiverUrl}/api/outbound-deliveries?${query.toString()}`, { headers: { authorization: `Bearer ${sample.apiToken}` } });
  if (!response.ok) throw new Error(`GET /api/outbound-deliveries answered ${response.status}`);
  return ((await response.json()) as { pagination: { total: number } }).pagination.total;
}

async function history(temporal: Client, workflowId: string, runId?: string): Promise<History> {
  return JSON.parse(historyToJSON(await temporal.workflow.getHandle(workflowId, runId).fetchHistory())) as History;
}

const typeOf = (event: HistoryEvent) => event.eventType.replace('EVENT_TYPE_', '');

/** The run's events once it has `count` events of `type` (e.g. its first timer set). */
async function historyOnceItHas(temporal: Client, workflowId: string, type: string, count: number, deadline: number): Promise<HistoryEvent[]> {
  let events: HistoryEvent[] = [];
  await until(
    async () => {
      events = (await history(temporal, workflowId)).events ?? [];
      return events.filter((event) => typeOf(event) === type).length >= count;
    },
    deadline,
    `${workflowId} has fewer than ${count} ${type}`,
  );
  return events;
}

async function until(done: () => Promise<boolean>, deadline: number, what: string): Promise<void> {
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`billable actions: ${what} (--drain-timeout)`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface ReceivedEvent {
  type: string;
  data?: { meeting?: { inviteeUri?: string }; lead?: { email?: string } };
}

/** The sample's endpoint: answers 204 to every POST and keeps each delivery's body by its Idempotency-Key (the delivery id). */
async function startEndpoint() {
  const received = new Map<string, ReceivedEvent>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.set(String(request.headers['idempotency-key']), JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedEvent);
      response.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
