// Enums the Cloud Tasks and Cloud Scheduler REST APIs share. The clients send
// `$alt=json;enum-encoding=int`, so a value may arrive as its index here.
export const HTTP_METHODS = [
  'HTTP_METHOD_UNSPECIFIED',
  'POST',
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
] as const;
export type HttpMethod = Exclude<(typeof HTTP_METHODS)[number], 'HTTP_METHOD_UNSPECIFIED'>;
