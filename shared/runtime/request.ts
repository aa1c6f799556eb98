// Reading an HTTP request the Functions Framework hands a function's door.

/** A header's value (the first, if it came more than once); names are lower case. */
export function requestHeader(
  req: { headers: Record<string, string | string[] | undefined> },
  name: string,
): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
