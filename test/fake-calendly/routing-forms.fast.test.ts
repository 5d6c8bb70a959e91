/** The fake's routing forms: the documented listings, the submission webhook (organization scope only), and refusals. */
import { apiErrorSchema, collectionOf, resourceOf, routingFormSchema, routingFormSubmissionSchema, webhookEnvelopeSchema } from '../../src/calendly/schemas';
import { verifySignature } from '../../src/calendly/signature';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { call, query, startReceiver, subscribe, TOKEN, type Receiver } from './helpers';

const SIGNING_KEY = 'routing-signing-key';
const formPage = collectionOf(routingFormSchema);
const submissionPage = collectionOf(routingFormSubmissionSchema);
const answers = (email: string) => [
  { question: 'Your name', answer: 'Ada Lovelace' },
  { question: 'Work email', answer: email },
];

let fake: FakeCalendly;
let receiver: Receiver;
beforeEach(async () => {
  fake = await startFakeCalendly({ apiToken: TOKEN });
  receiver = await startReceiver();
});
afterEach(async () => {
  await receiver.close();
  await fake.close();
});

it('lists the organization’s forms and their submissions, paged and sorted, and serves one submission', async () => {
  const first = await fake.submitRoutingForm({ answers: answers('one@example.com') });
  const second = await fake.submitRoutingForm({ answers: answers('two@example.com') });
  const forms = formPage.parse((await call(fake, `/routing_forms?${query({ organization: fake.organizationUri })}`)).body);
  expect(forms.collection).toHaveLength(1);
  const [form] = forms.collection;
  expect(form).toMatchObject({ organization: fake.organizationUri, name: 'Contact us', status: 'published' });
  expect(form.questions.map(({ name, type }) => [name, type])).toEqual([
    ['Your name', 'text'],
    ['Work email', 'email'],
  ]);

  const newestFirst = submissionPage.parse((await call(fake, `/routing_form_submissions?${query({ form: form.uri, sort: 'created_at:desc', count: '1' })}`)).body);
  expect(newestFirst.collection.map(({ uri }) => uri)).toEqual([second.submission.uri]);
  expect(newestFirst.pagination.next_page).not.toBeNull();
  const next = submissionPage.parse((await call(fake, newestFirst.pagination.next_page!)).body);
  expect(next.collection.map(({ uri }) => uri)).toEqual([first.submission.uri]);

  const one = resourceOf(routingFormSubmissionSchema).parse((await call(fake, first.submission.uri)).body).resource;
  expect(one).toMatchObject({ routing_form: form.uri, submitter: null, submitter_type: null, result: { type: 'custom_message' } });
  expect(one.questions_and_answers[1]).toEqual({ question_uuid: form.questions[1].uuid, question: 'Work email', answer: 'one@example.com' });
});

it('answers 403 to another organization and to an organization refused routing forms, and 404 for an unknown one', async () => {
  const { submission } = await fake.submitRoutingForm({ answers: answers('one@example.com') });
  const other = fake.createOrganization({ owner: { name: 'Other Owner', email: 'owner@other.example.com' } });
  const otherToken = fake.issuePersonalAccessToken(other.owner.uri);
  expect((await call(fake, submission.uri, { token: otherToken })).status).toBe(403);
  expect((await call(fake, `/routing_forms?${query({ organization: fake.organizationUri })}`, { token: otherToken })).status).toBe(403);
  expect((await call(fake, `${fake.url}/routing_form_submissions/no-such-uuid`)).status).toBe(404);
  expect((await call(fake, '/routing_form_submissions')).status).toBe(400);

  fake.setRoutingFormsAvailable(fake.organizationUri, false);
  const refused = await call(fake, `/routing_forms?${query({ organization: fake.organizationUri })}`);
  expect(refused.status).toBe(403);
  expect(apiErrorSchema.parse(refused.body).message).toContain('routing_forms:read');
  const subscription = await call(fake, '/webhook_subscriptions', {
    method: 'POST',
    body: { url: receiver.url, events: ['invitee.created', 'routing_form_submission.created'], organization: fake.organizationUri, scope: 'organization' },
  });
  expect(subscription.status).toBe(403);
});

it('sends the signed submission to organization-scope subscriptions of its organization only, and links a booking both ways', async () => {
  await subscribe(fake, receiver.url, ['invitee.created', 'routing_form_submission.created'], { signing_key: SIGNING_KEY });
  const other = fake.createOrganization({ owner: { name: 'Other Owner', email: 'owner@other.example.com' } });

  const { submission, booking, deliveries } = await fake.submitRoutingForm({
    answers: answers('booker@example.com'),
    booking: { email: 'booker@example.com', startTime: '2031-01-01T10:00:00Z' },
  });
  expect(deliveries.map(({ event, status }) => [event, status])).toEqual([
    ['routing_form_submission.created', 200],
    ['invitee.created', 200],
  ]);
  const [sent, booked] = receiver.received;
  const signature = sent.headers['calendly-webhook-signature'];
  const header = typeof signature === 'string' ? signature : undefined;
  expect(verifySignature(sent.rawBody, header, { signingKeys: [SIGNING_KEY], toleranceSeconds: 300, nowSeconds: Math.floor(Date.now() / 1000) })).toBe('valid');
  const envelope = webhookEnvelopeSchema.parse(JSON.parse(sent.rawBody.toString()));
  // Submitted before booking: the webhook names no submitter yet; the API does once booked.
  expect(routingFormSubmissionSchema.parse(envelope.payload)).toMatchObject({ uri: submission.uri, submitter: null });
  expect(submission).toMatchObject({ submitter: booking!.invitee.uri, submitter_type: 'Invitee', result: { type: 'event_type', value: booking!.event.event_type } });
  expect(JSON.parse(booked.rawBody.toString()).payload.routing_form_submission).toBe(submission.uri);

  const elsewhere = await fake.submitRoutingForm({ organization: other.organizationUri, answers: answers('else@example.com') });
  expect(elsewhere.deliveries).toEqual([]);
  expect(receiver.received).toHaveLength(2);
});
