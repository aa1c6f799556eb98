// The `files` block: where the tests' log and result files are kept.
import YAML from 'yaml';
import { filesBucket, parseConfig, type ConfigResult, type VmciConfig } from '../../shared/config';
import { changed, validConfig, type Change } from './fixtures';

function parsed(...changes: Change[]): ConfigResult {
  return parseConfig(YAML.stringify(changed(validConfig(), ...changes)), 'vmci.yaml');
}

function configOf(result: ConfigResult): VmciConfig {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.problems.join('\n')}`);
  return result.config;
}

function problemsOf(result: ConfigResult): string[] {
  if (result.ok) throw new Error('expected problems, got a valid config');
  return result.problems;
}

describe('files', () => {
  it('defaults to 30 days in the bucket <project>-vmci-files', () => {
    const config = configOf(parsed());

    expect(config.files).toEqual({ retentionDays: 30 });
    expect(filesBucket(config)).toBe('my-ci-project-vmci-files');
  });

  it('takes a bucket and a retention', () => {
    const config = configOf(parsed(['files', { bucket: 'ci_files.example', retentionDays: 7 }]));

    expect(config.files).toEqual({ bucket: 'ci_files.example', retentionDays: 7 });
    expect(filesBucket(config)).toBe('ci_files.example');
  });

  it('takes the retention alone, keeping the default bucket', () => {
    const config = configOf(parsed(['files', { retentionDays: 3650 }]));
    expect(filesBucket(config)).toBe('my-ci-project-vmci-files');
    expect(config.files.retentionDays).toBe(3650);
  });

  it.each(['abc', '0-9', 'a'.repeat(63), 'my.bucket_name-1'])('accepts the bucket %j', (bucket) => {
    expect(configOf(parsed(['files.bucket', bucket])).files.bucket).toBe(bucket);
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(64)],
    ['upper case', 'My-bucket'],
    ['a leading -', '-bucket'],
    ['a trailing .', 'bucket.'],
    ['a slash', 'my/bucket'],
    ['a space', 'my bucket'],
    ['the goog prefix', 'goog-files'],
    ['google inside', 'my-google-files'],
  ])('refuses a bucket name with %s', (_label, bucket) => {
    expect(problemsOf(parsed(['files.bucket', bucket]))).toEqual([
      expect.stringMatching(/^files\.bucket: /),
    ]);
  });

  it.each([0, 3651, 1.5, '30'])('refuses retentionDays %j', (days) => {
    expect(problemsOf(parsed(['files.retentionDays', days]))).toEqual([
      expect.stringMatching(/^files\.retentionDays: /),
    ]);
  });

  it('refuses unknown keys in the block', () => {
    expect(problemsOf(parsed(['files.retention', 30]))).toEqual(['files.retention: unknown key']);
  });
});
