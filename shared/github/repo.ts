// Repository names as the configuration and the test documents hold them.

/** "owner/name" → its parts; throws for anything else (a caller's bug). */
export function splitRepo(repo: string): { owner: string; name: string } {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(repo);
  if (!match?.[1] || !match[2]) throw new Error(`repository must be "owner/name", got "${repo}"`);
  return { owner: match[1], name: match[2] };
}
