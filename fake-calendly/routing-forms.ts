/**
 * Routing forms and their submissions, as Calendly's API documents them: `GET /routing_forms?organization=`,
 * `GET /routing_forms/{uuid}`, `GET /routing_form_submissions?form=` (sort `created_at:asc|desc`, paged) and
 * `GET /routing_form_submissions/{uuid}`, for owners and admins of the form's organization. An organization can be
 * set to refuse routing forms (as Calendly does to a token without `routing_forms:read`, or a plan without them): then
 * these routes answer 403 and a subscription to `routing_form_submission.created` is refused with 403.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { RoutingForm, RoutingFormSubmission, Tracking } from '../src/calendly/schemas';
import { callerIn, isAdmin, type Caller } from './access';
import { notFound, permissionDenied } from './errors';
import type { Paginator } from './pagination';
import { QueryReader } from './query';
import type { CalendlyStore } from './store';

/** Calendly's 403 for a token that lacks the scope. */
export const routingFormsRefused = () => permissionDenied('This operation requires the routing_forms:read scope');

export class RoutingForms {
  readonly forms = new Map<string, RoutingForm>();
  readonly submissions = new Map<string, RoutingFormSubmission>();
  /** organizations whose tokens Calendly refuses routing forms */
  private readonly refusing = new Set<string>();

  constructor(private readonly store: CalendlyStore) {}

  setAvailable(organizationUri: string, available: boolean): void {
    this.store.organization(organizationUri);
    if (available) this.refusing.delete(organizationUri);
    else this.refusing.add(organizationUri);
  }

  available(organizationUri: string): boolean {
    return !this.refusing.has(organizationUri);
  }

  /** The organization's form of that name, created with a question per answer (an email question typed `email`). */
  formFor(organizationUri: string, name: string, questions: string[]): RoutingForm {
    const existing = [...this.forms.values()].find((form) => form.organization === organizationUri && form.name === name);
    if (existing) return existing;
    const uuid = randomUUID();
    const now = this.store.clock.now();
    const form: RoutingForm = {
      uri: this.store.uriFor('routing_forms', uuid),
      organization: organizationUri,
      name,
      status: 'published',
      published_version: 1,
      questions: questions.map((question) => ({
        uuid: randomUUID(),
        name: question,
        type: /e-?mail/i.test(question) ? 'email' : 'text',
        required: true,
        answer_choices: null,
      })),
      created_at: now,
      updated_at: now,
    };
    this.forms.set(uuid, form);
    return form;
  }

  submit(form: RoutingForm, answers: { question: string; answer: string }[], tracking: Partial<Tracking>): RoutingFormSubmission {
    const uuid = randomUUID();
    const now = this.store.clock.now();
    const submission: RoutingFormSubmission = {
      uri: this.store.uriFor('routing_form_submissions', uuid),
      routing_form: form.uri,
      questions_and_answers: answers.map(({ question, answer }) => ({
        question_uuid: form.questions.find((asked) => asked.name === question)?.uuid ?? randomUUID(),
        question,
        answer,
      })),
      tracking: { utm_campaign: null, utm_source: null, utm_medium: null, utm_content: null, utm_term: null, salesforce_uuid: null, ...tracking },
      result: { type: 'custom_message', value: { headline: 'Thank you', body: 'We will be in touch.' } },
      submitter: null,
      submitter_type: null,
      created_at: now,
      updated_at: now,
    };
    this.submissions.set(uuid, submission);
    return submission;
  }

  /** The submission led to a booking: Calendly names the invitee as its submitter, and the event type as its result. */
  booked(submission: RoutingFormSubmission, inviteeUri: string, eventTypeUri: string): void {
    submission.submitter = inviteeUri;
    submission.submitter_type = 'Invitee';
    submission.result = { type: 'event_type', value: eventTypeUri };
    submission.updated_at = this.store.clock.now();
  }
}

export interface RoutingFormsApiDependencies {
  store: CalendlyStore;
  routingForms: RoutingForms;
  paginator: Paginator;
}

export function routingFormsRouter({ routingForms, paginator }: RoutingFormsApiDependencies): Router {
  const router = new Router();

  /** Owners and admins read their organization's forms; others and other organizations get 403, as Calendly answers. */
  const allowed = (caller: Caller, organizationUri: string) => {
    if (organizationUri !== caller.organization.uri || !isAdmin(caller)) throw permissionDenied();
    if (!routingForms.available(caller.organization.uri)) throw routingFormsRefused();
  };
  const formOf = (caller: Caller, uuid: string | undefined): RoutingForm => {
    const form = routingForms.forms.get(uuid ?? '');
    if (!form) throw notFound();
    allowed(caller, form.organization);
    return form;
  };

  router.get('/routing_forms', (ctx) => {
    const query = new URLSearchParams(ctx.querystring);
    const reader = new QueryReader(query);
    const organization = reader.required('organization');
    reader.check();
    const caller = callerIn(ctx);
    allowed(caller, organization ?? '');
    const forms = [...routingForms.forms.values()].filter((form) => form.organization === organization);
    ctx.body = paginator.page(forms, ctx.path, query);
  });

  router.get('/routing_forms/:uuid', (ctx) => {
    ctx.body = { resource: formOf(callerIn(ctx), ctx.params.uuid) };
  });

  router.get('/routing_form_submissions', (ctx) => {
    const query = new URLSearchParams(ctx.querystring);
    const reader = new QueryReader(query);
    const formUri = reader.required('form');
    const sort = reader.oneOf('sort', ['created_at:asc', 'created_at:desc']) ?? 'created_at:asc';
    reader.check();
    const caller = callerIn(ctx);
    const form = [...routingForms.forms.values()].find((candidate) => candidate.uri === formUri);
    if (!form) throw notFound();
    allowed(caller, form.organization);
    const submissions = [...routingForms.submissions.values()].filter((submission) => submission.routing_form === form.uri);
    ctx.body = paginator.page(sort === 'created_at:asc' ? submissions : [...submissions].reverse(), ctx.path, query);
  });

  router.get('/routing_form_submissions/:uuid', (ctx) => {
    const submission = routingForms.submissions.get(ctx.params.uuid ?? '');
    if (!submission) throw notFound();
    const form = [...routingForms.forms.values()].find((candidate) => candidate.uri === submission.routing_form)!;
    allowed(callerIn(ctx), form.organization);
    ctx.body = { resource: submission };
  });

  return router;
}
