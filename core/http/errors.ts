/**
 * The one error shape every API answers with:
 * `{ error, code, message, params?, field? }`.
 *
 * - `error` is the HTTP category (`bad_request`, `not_found`, …);
 * - `code` is stable and names what went wrong (`device.code_taken`, `url.scheme`): the
 *   web app words it in the user's language from its own catalogue
 *   (console/web/src/i18n/api-errors/), with `params` filled in;
 * - `message` is the English wording for scripts and logs;
 * - `field` names the input at fault, as the request spelt it.
 *
 * Services throw these; the app's error handler turns them into responses.
 */
export type ErrorParams = Record<string, string | number | boolean | null>;
export interface ErrorDetail { field?: string; code?: string; params?: ErrorParams }
/** A field name alone, or the code, parameters and field. */
export type Detail = string | ErrorDetail | undefined;

export class HttpError extends Error {
  readonly field?: string;
  readonly code: string;
  readonly params?: ErrorParams;

  constructor(readonly statusCode: number, readonly error: string, message: string, detail?: Detail) {
    super(message);
    this.name = 'HttpError';
    const d = typeof detail === 'string' ? { field: detail } : detail ?? {};
    if (d.field !== undefined) this.field = d.field;
    this.code = d.code ?? error;
    if (d.params !== undefined) this.params = d.params;
  }
}

export const badRequest = (message: string, detail?: Detail) => new HttpError(400, 'bad_request', message, detail);
export const unauthorized = (message = 'Authentication required', detail?: Detail) => new HttpError(401, 'unauthorized', message, detail);
export const forbidden = (message = 'Your role does not allow this', detail?: Detail) => new HttpError(403, 'forbidden', message, detail);
export const notFound = (what: string, detail?: Detail) =>
  new HttpError(404, 'not_found', `${what} not found`, { code: 'not_found', params: { what }, ...(typeof detail === 'string' ? { field: detail } : detail) });
export const conflict = (message: string, detail?: Detail) => new HttpError(409, 'conflict', message, detail);
export const unprocessable = (message: string, detail?: Detail) => new HttpError(422, 'unprocessable', message, detail);
export const tooMany = (message: string, detail?: Detail) => new HttpError(429, 'too_many_requests', message, detail);
export const badGateway = (message: string, detail?: Detail) => new HttpError(502, 'bad_gateway', message, detail);
export const unavailable = (message: string, detail?: Detail) => new HttpError(503, 'unavailable', message, detail);

/** PostgreSQL unique violation (23505) on `constraint` → 409 naming the field. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}
