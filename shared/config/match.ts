// What the branch patterns of the config mean. (The status context template is
// the domain's: statusContext in shared/domain/github.ts.)

const GLOB_TOKENS: Readonly<Record<string, string>> = { '**': '.*', '*': '[^/]*', '?': '[^/]' };

/** Like GitHub Actions' branch filters: `*` and `?` stop at `/`, `**` does not. */
export function globToRegExp(pattern: string): RegExp {
  const source = pattern
    .split(/(\*\*|\*|\?)/)
    .map((part) => GLOB_TOKENS[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
    .join('');
  return new RegExp(`^${source}$`);
}

/** Whether a push to `branch` (a name, not `refs/heads/...`) starts tests. */
export function branchMatches(patterns: readonly string[], branch: string): boolean {
  return patterns.some((pattern) => globToRegExp(pattern).test(branch));
}
