import { branchMatches } from '../../shared/config';

describe('branchMatches', () => {
  it.each([
    { patterns: ['main', 'master'], branch: 'main', matches: true },
    { patterns: ['main', 'master'], branch: 'mainline', matches: false },
    { patterns: ['release/*'], branch: 'release/1.2', matches: true },
    { patterns: ['release/*'], branch: 'release/1.2/hotfix', matches: false },
    { patterns: ['release/**'], branch: 'release/1.2/hotfix', matches: true },
    { patterns: ['v?'], branch: 'v1', matches: true },
    { patterns: ['v?'], branch: 'v10', matches: false },
    // Regex characters in a pattern are literal.
    { patterns: ['feature.x'], branch: 'feature-x', matches: false },
    { patterns: ['fix+(1)'], branch: 'fix+(1)', matches: true },
    { patterns: [], branch: 'main', matches: false },
  ])('$patterns on $branch: $matches', ({ patterns, branch, matches }) => {
    expect(branchMatches(patterns, branch)).toBe(matches);
  });
});
