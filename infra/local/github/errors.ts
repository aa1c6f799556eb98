// GitHub's error bodies: {message, documentation_url, status} and, for 422,
// {message: 'Validation Failed', errors: [{resource, field, code, message?}]}.
const DOCS = 'https://docs.github.com/rest';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** bytes sent as they are, instead of a JSON body */
  raw?: { data: Buffer; contentType: string };
}

export class GitHubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GitHubError';
  }

  reply(): Reply {
    return {
      status: this.status,
      headers: this.headers,
      body: {
        message: this.message,
        ...this.extra,
        documentation_url: (this.extra.documentation_url as string | undefined) ?? DOCS,
        status: String(this.status),
      },
    };
  }
}

export const notFound = (): GitHubError => new GitHubError(404, 'Not Found');

export interface FieldError {
  resource: string;
  field: string;
  code: 'missing' | 'missing_field' | 'invalid' | 'already_exists' | 'unprocessable' | 'custom';
  message?: string;
}

export function validationFailed(errors: FieldError[], docs = DOCS): GitHubError {
  return new GitHubError(422, 'Validation Failed', { errors, documentation_url: docs });
}
