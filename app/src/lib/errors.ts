/**
 * A client's mistake that the gateway refuses with a 4xx and an OpenAI-style error body.
 * `param` names the offending field (`messages[0].content`), when there is one.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly param?: string,
    readonly code: string = 'invalid_request',
    readonly statusCode: 400 | 401 | 404 | 413 | 415 = 400,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * The body of every error response: `{"error":{"message","type","code","param"}}`. OpenAI's
 * spec requires `param`; it is null when no one field is to blame.
 */
export interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  502: 'api_error',
  503: 'api_error',
  504: 'api_error',
};

export function errorBody(statusCode: number, message: string, code: string, param?: string): ErrorBody {
  const type = TYPES[statusCode] ?? (statusCode >= 500 ? 'server_error' : 'invalid_request_error');
  return { error: { message, type, code, param: param || null } };
}

/** The status recorded for a client that hung up before its answer (as nginx does). */
export const CLIENT_CLOSED_STATUS = 499;

/** The client went away before its answer was ready (recorded as 499). */
export class ClientClosedRequest extends Error {
  readonly statusCode = CLIENT_CLOSED_STATUS;
  readonly code = 'client_closed_request';
  constructor() {
    super('the client closed the request');
    this.name = 'ClientClosedRequest';
  }
}
