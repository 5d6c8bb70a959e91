/** Calendly's error bodies (`{title, message, details?}`) and the fake's own misuse errors. */
import type { ApiError } from '../src/calendly/schemas';

/** A type alias, not an interface, so it fits ApiError's open-ended `details` items. */
export type ErrorDetail = { parameter?: string; message: string; code?: string };

/** Thrown by route handlers; the HTTP layer answers `status` with `body`. */
export class CalendlyApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`${status} ${body.title}: ${body.message}`);
  }
}

export const invalidArgument = (details: ErrorDetail[]) =>
  new CalendlyApiError(400, {
    title: 'Invalid Argument',
    message: 'The supplied parameters are invalid.',
    details,
  });

export const unauthenticated = () =>
  new CalendlyApiError(401, { title: 'Unauthenticated', message: 'The access token is invalid' });

export const permissionDenied = (message = 'You do not have permission to access this resource.') =>
  new CalendlyApiError(403, { title: 'Permission Denied', message });

export const notFound = () =>
  new CalendlyApiError(404, {
    title: 'Resource Not Found',
    message: 'The server could not find the requested resource.',
  });

export const alreadyExists = (message = 'The resource already exists') =>
  new CalendlyApiError(409, { title: 'Already Exists', message });

/** The 429, 502 and 503 bodies are not documented by Calendly; these follow the documented title/message form. */
const bodiesByStatus: Record<number, ApiError> = {
  401: unauthenticated().body,
  403: permissionDenied().body,
  404: notFound().body,
  429: { title: 'Too Many Requests', message: 'You have exceeded the rate limit. Please try again later.' },
  500: {
    title: 'Internal Server Error',
    message: 'The server encountered an unexpected condition that prevented it from fulfilling the request.',
  },
  502: { title: 'Bad Gateway', message: 'The server received an invalid response from an upstream server.' },
  503: { title: 'Service Unavailable', message: 'The server is temporarily unable to handle the request.' },
};

export function errorFor(status: 401 | 403 | 404 | 429 | 500 | 502 | 503): CalendlyApiError {
  return new CalendlyApiError(status, bodiesByStatus[status]);
}

/** A control operation named a record the fake does not hold. */
export class UnknownRecordError extends Error {}

/** A control operation that Calendly would not allow, e.g. canceling an invitee twice. */
export class InvalidOperationError extends Error {}
