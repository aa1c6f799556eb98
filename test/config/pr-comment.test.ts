// The `prComment` setting: which repositories' pull requests get vm-ci's comment.
import YAML from 'yaml';
import { parseConfig, prCommentEnabled, type ConfigResult } from '../../shared/config';
import { changed, validConfig, type Change } from './fixtures';

function parsed(...changes: Change[]): ConfigResult {
  return parseConfig(YAML.stringify(changed(validConfig(), ...changes)), 'vmci.yaml');
}

describe('prComment', () => {
  it('is off by default', () => {
    const result = parsed();
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.prComment).toEqual({});
    expect(prCommentEnabled(result.config, 'my-org/my-project')).toBe(false);
  });

  it('is turned on per repository, whatever the case GitHub sends', () => {
    const result = parsed(['prComment', { 'My-Org/my-project': true }]);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(prCommentEnabled(result.config, 'my-org/My-Project')).toBe(true);
  });

  it('names the repository that is not configured, and a value that is not a boolean', () => {
    const result = parsed(['prComment', { 'other/repo': true, 'my-org/my-project': 'yes' }]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.join('\n')).toMatch(/prComment\.other\/repo.*not in repositories/);
    expect(result.problems.join('\n')).toMatch(/prComment\.my-org\/my-project/);
  });
});
