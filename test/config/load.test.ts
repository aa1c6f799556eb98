import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, loadConfig, type ReadFile } from '../../shared/config';
import { changed, validConfig } from './fixtures';

const examplePath = path.join(__dirname, '..', '..', 'config', 'vmci.example.yaml');

/** Runs `act` and returns what it threw. */
function thrownBy(act: () => unknown): ConfigError {
  try {
    act();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const fileWith =
  (text: string): ReadFile =>
  () =>
    text;

describe('loadConfig', () => {
  it('reads the file that VMCI_CONFIG names, from disk by default', () => {
    const config = loadConfig({ VMCI_CONFIG: examplePath });

    expect(config.project).toBe('my-ci-project');
    expect(Object.keys(config.platforms)).toEqual(['linux', 'windows']);
  });

  it('reads through the injected readFile, as UTF-8', () => {
    const readFile = jest.fn<string, Parameters<ReadFile>>(() => YAML.stringify(validConfig()));

    const config = loadConfig({ VMCI_CONFIG: '/etc/vmci/config.yaml' }, readFile);

    expect(readFile).toHaveBeenCalledWith('/etc/vmci/config.yaml', 'utf8');
    expect(config.queue.name).toBe('test-runs');
  });

  it.each([{ VMCI_CONFIG: undefined }, { VMCI_CONFIG: '' }, { VMCI_CONFIG: '  ' }])(
    'throws a ConfigError naming VMCI_CONFIG when it is %o',
    (env) => {
      const readFile = jest.fn<string, Parameters<ReadFile>>();

      const error = thrownBy(() => loadConfig(env, readFile));

      expect(error.name).toBe('ConfigError');
      expect(error.problems).toEqual([
        'VMCI_CONFIG: required: the path of the YAML or JSON configuration file',
      ]);
      expect(error.message).toBe(
        'Invalid vm-ci configuration in the environment:\n' +
          '  VMCI_CONFIG: required: the path of the YAML or JSON configuration file',
      );
      expect(readFile).not.toHaveBeenCalled();
    },
  );

  it('throws a ConfigError when the file cannot be read, keeping the cause', () => {
    const missing = path.join(os.tmpdir(), `vmci-missing-${process.pid}.yaml`);

    const error = thrownBy(() => loadConfig({ VMCI_CONFIG: missing }));

    expect(error.message.split('\n')[0]).toBe(`Invalid vm-ci configuration in ${missing}:`);
    expect(error.problems).toEqual([
      `VMCI_CONFIG: cannot read the file: ENOENT: no such file or directory, open '${missing}'`,
    ]);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('throws a ConfigError listing every problem of the file, one per line', () => {
    const bad = changed(validConfig(), ['platforms.linux.zones', []], ['supersede', 'never']);

    const error = thrownBy(() =>
      loadConfig({ VMCI_CONFIG: 'vmci.yaml' }, fileWith(YAML.stringify(bad))),
    );

    expect(error).toBeInstanceOf(Error);
    expect(error.problems).toEqual([
      'supersede: expected one of "queued", "all", "none"',
      'platforms.linux.zones: expected at least 1 item',
    ]);
    expect(error.message.split('\n')).toEqual([
      'Invalid vm-ci configuration in vmci.yaml:',
      '  supersede: expected one of "queued", "all", "none"',
      '  platforms.linux.zones: expected at least 1 item',
    ]);
  });

  it('parses a .json path as JSON', () => {
    // Valid YAML, but not JSON: only the extension decides.
    const error = thrownBy(() => loadConfig({ VMCI_CONFIG: 'vmci.json' }, fileWith('project: x')));

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^\(root\): .*JSON/);
  });
});
