import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseConfig, type ConfigResult, type VmciConfig } from '../../shared/config';
import { buildWaitMinutes, DEFAULT_WAIT_FOR_BUILD_MINUTES } from '../../shared/config/schema';
import { changed, validConfig, type Change } from './fixtures';

const repoRoot = path.join(__dirname, '..', '..');

function parsed(data: unknown, source = 'vmci.yaml'): ConfigResult {
  const text = source.endsWith('.json') ? JSON.stringify(data) : YAML.stringify(data);
  return parseConfig(text, source);
}

function configOf(result: ConfigResult): VmciConfig {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.problems.join('\n')}`);
  return result.config;
}

function problemsOf(result: ConfigResult): string[] {
  if (result.ok) throw new Error('expected problems, got a valid config');
  return result.problems;
}

describe('the example configuration files', () => {
  it.each([
    'config/vmci.example.yaml',
    'config/vmci.local.yaml',
    'test/fixtures/config/vmci.two-platforms.yaml',
  ])('%s is valid', (file) => {
    // Prepare
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');

    // Act
    const config = configOf(parseConfig(text, file));

    // Assess
    expect(config.platforms.linux?.os).toBe('linux');
    if (file.endsWith('example.yaml')) expect(config.platforms.windows?.os).toBe('windows');
  });

  it('the local file runs against the local stand-ins', () => {
    const file = 'config/vmci.local.yaml';
    const config = configOf(parseConfig(fs.readFileSync(path.join(repoRoot, file), 'utf8'), file));

    expect(config).toMatchObject({
      project: 'vmci-local',
      publicUrl: 'http://localhost:8080',
      githubApiUrl: 'http://localhost:8080/github',
    });
    expect(config.repositories).toContain('Codertocat/Hello-World');
    expect(config.platforms.linux?.zones).toEqual(['local-a', 'local-b']);
  });
});

describe('defaults', () => {
  const config = configOf(parsed(validConfig()));

  it('fills in the global keys', () => {
    expect(config).toMatchObject({
      githubApiUrl: 'https://api.github.com',
      branches: ['main', 'master'],
      statusContext: 'ci/{platform}',
      approvalLabel: 'safe to test',
      approvalBots: [],
      blockedUsers: [],
      cloneUrls: {},
      public: {},
      statusViewers: [],
      supersede: 'queued',
      queue: {
        name: 'test-runs',
        maxAttempts: 10,
        minBackoffSeconds: 10,
        maxBackoffSeconds: 300,
        maxDoublings: 4,
        dispatchDeadlineSeconds: 600,
        maxDispatchesPerSecond: 5,
        maxConcurrentDispatches: 20,
      },
      sweeps: {
        pendingBatch: 50,
        expiredBatch: 50,
        orphanGraceMinutes: 10,
        deliveryTtlHours: 72,
        deletionBackoffSeconds: 60,
        deletionMaxAttempts: 12,
      },
    });
  });

  it('fills in the platform keys', () => {
    expect(config.platforms.linux).toMatchObject({
      spot: false,
      spotFallbackToStandard: true,
      maxConcurrent: 2,
      maxRunMinutes: 60,
      maintenance: false,
      network: 'global/networks/default',
      labels: {},
    });
    expect(config.platforms.linux).not.toHaveProperty('buildWorkflow');
    expect(config.platforms.linux).not.toHaveProperty('serviceAccount');
  });

  it.each([
    { os: 'linux', diskSizeGb: 20, startupScript: 'infra/vm/linux/startup.sh' },
    { os: 'windows', diskSizeGb: 50, startupScript: 'infra/vm/windows/startup.ps1' },
  ])('gives a $os platform a $diskSizeGb GB disk and $startupScript', (expected) => {
    expect(config.platforms[expected.os]).toMatchObject(expected);
  });

  it('keeps values that are given', () => {
    const given = changed(
      validConfig(),
      ['supersede', 'all'],
      ['approvalBots', ['ci-helper[bot]']],
      ['queue.maxAttempts', 3],
      ['sweeps.pendingBatch', 7],
      ['platforms.linux.diskSizeGb', 40],
      ['platforms.linux.spot', true],
    );

    const result = configOf(parsed(given));

    expect(result.supersede).toBe('all');
    expect(result.approvalBots).toEqual(['ci-helper[bot]']);
    expect(result.queue.maxAttempts).toBe(3);
    expect(result.sweeps).toEqual({ ...config.sweeps, pendingBatch: 7 });
    expect(result.platforms.linux).toMatchObject({ diskSizeGb: 40, spot: true });
  });

  it('ends waits after 14 days for an approval and 120 minutes for a build; gives a final status up after 24 hours', () => {
    expect(config.waitForApprovalDays).toBe(14);
    expect(config.sweeps.statusGiveUpHours).toBe(24);
    expect(DEFAULT_WAIT_FOR_BUILD_MINUTES).toBe(120);
    expect(config.platforms.linux).not.toHaveProperty('waitForBuildMinutes');
    expect(buildWaitMinutes(config.platforms.linux!)).toBe(120);

    const given = configOf(
      parsed(
        changed(
          validConfig(),
          ['waitForApprovalDays', 3],
          ['sweeps.statusGiveUpHours', 0.5],
          ['platforms.linux.buildWorkflow', 'build.yml'],
          ['platforms.linux.artifactName', 'ccx-linux'],
          ['platforms.linux.waitForBuildMinutes', 45],
        ),
      ),
    );
    expect(given.waitForApprovalDays).toBe(3);
    expect(given.sweeps.statusGiveUpHours).toBe(0.5);
    expect(buildWaitMinutes(given.platforms.linux!)).toBe(45);
    expect(buildWaitMinutes(given.platforms.windows!)).toBe(120);
  });

  it('drops a trailing slash from URLs, so paths can be appended', () => {
    const given = changed(validConfig(), ['publicUrl', 'http://localhost:8080/']);
    expect(configOf(parsed(given)).publicUrl).toBe('http://localhost:8080');
  });
});

describe('file formats', () => {
  it('reads a .json file as JSON', () => {
    const config = configOf(parsed(validConfig(), 'vmci.json'));
    expect(config.platforms.windows?.diskSizeGb).toBe(50);
  });

  it('reads JSON text from a YAML file too', () => {
    const config = configOf(parseConfig(JSON.stringify(validConfig()), 'vmci.yaml'));
    expect(config.project).toBe('my-ci-project');
  });

  it('reports a JSON syntax error with its position', () => {
    expect(problemsOf(parseConfig('{\n  "project": "a",\n}', 'vmci.json'))).toEqual([
      '(root): Expected double-quoted property name in JSON at position 20 (line 3 column 1)',
    ]);
  });

  it.each([
    {
      text: 'project: a\n  region: b\n',
      problem: 'line 1, column 10: Nested mappings are not allowed in compact mappings',
    },
    {
      text: 'project: a\nproject: b\n',
      problem: 'line 2, column 1: Map keys must be unique',
    },
    {
      text: 'repositories: [a/b\n',
      problem:
        'line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    },
  ])('reports a YAML syntax error with its line and column: $problem', ({ text, problem }) => {
    expect(problemsOf(parseConfig(text, 'vmci.yaml'))).toContain(problem);
  });

  it.each([
    { text: '', problem: '(root): the file is empty' },
    { text: '# nothing yet\n', problem: '(root): the file is empty' },
    { text: '- a\n- b\n', problem: '(root): expected a mapping, got a list' },
    {
      text: 'a: *missing\n',
      problem: '(root): Unresolved alias (the anchor must be set before the alias): missing',
    },
  ])('reports $problem', ({ text, problem }) => {
    expect(problemsOf(parseConfig(text, 'vmci.yaml'))).toEqual([problem]);
  });
});

describe('problems, each at its exact path', () => {
  const validPlatform = (validConfig().platforms as Record<string, object>).linux;
  const problems: ReadonlyArray<{ changes: Change[]; problem: string }> = [
    // cloneUrls
    {
      changes: [['cloneUrls', { 'someone/else': 'https://example.com/else.git' }]],
      problem: 'cloneUrls.someone/else: is not in repositories',
    },
    {
      changes: [['cloneUrls', { 'my-org/my-project': 'ssh://git@example.com/x.git' }]],
      problem: 'cloneUrls.my-org/my-project: expected an http(s) or file:// URL, or a path',
    },
    // public, statusViewers
    {
      changes: [['public', { 'someone/else': true }]],
      problem: 'public.someone/else: is not in repositories',
    },
    {
      changes: [['public', { 'my-org/my-project': 'yes' }]],
      problem: 'public.my-org/my-project: expected true or false, got a string',
    },
    {
      changes: [['statusViewers', ['not-an-email']]],
      problem: 'statusViewers.0: expected a service account email address',
    },
    // platforms
    {
      changes: [['platforms.linux.zones', []]],
      problem: 'platforms.linux.zones: expected at least 1 item',
    },
    {
      changes: [['platforms.linux.zones', ['us-central1-a', 'us-central1']]],
      problem: 'platforms.linux.zones.1: expected a zone name such as us-central1-a',
    },
    {
      changes: [['platforms.linux.zones', ['us-central1-a', 'us-central1-b', 'us-central1-a']]],
      problem: 'platforms.linux.zones.2: duplicate of item 0',
    },
    {
      changes: [['platforms', {}]],
      problem: 'platforms: expected at least 1 platform',
    },
    {
      changes: [
        [
          'platforms.Mac_OS',
          { ...validPlatform, image: 'projects/my-ci-project/global/images/macos-14' },
        ],
      ],
      problem:
        'platforms.Mac_OS: platform names are lowercase letters, digits and -, start with a letter, at most 20 (they go into VM names)',
    },
    {
      changes: [['platforms.linux', null]],
      problem: 'platforms.linux: expected a mapping, got null',
    },
    {
      changes: [['platforms.linux.os', 'macos']],
      problem: 'platforms.linux.os: expected one of "linux", "windows"',
    },
    {
      changes: [['platforms.linux.machineType', undefined]],
      problem: 'platforms.linux.machineType: required',
    },
    {
      changes: [['platforms.linux.image', 'debian-12']],
      problem:
        'platforms.linux.image: expected an image path such as projects/debian-cloud/global/images/family/debian-12',
    },
    {
      changes: [['platforms.linux.diskSizeGb', 5]],
      problem: 'platforms.linux.diskSizeGb: expected at least 10',
    },
    {
      changes: [['platforms.linux.diskSizeGb', 20.5]],
      problem: 'platforms.linux.diskSizeGb: expected an integer',
    },
    {
      changes: [['platforms.windows.diskSizeGb', 40]],
      problem: 'platforms.windows.diskSizeGb: Windows needs at least 50',
    },
    {
      changes: [['platforms.linux.spot', 'yes']],
      problem: 'platforms.linux.spot: expected true or false, got a string',
    },
    {
      changes: [['platforms.linux.maxConcurrent', 0]],
      problem: 'platforms.linux.maxConcurrent: expected at least 1',
    },
    {
      changes: [['platforms.linux.maxRunMinutes', 1441]],
      problem: 'platforms.linux.maxRunMinutes: expected at most 1440',
    },
    {
      changes: [['platforms.linux.testCommand', '  ']],
      problem: 'platforms.linux.testCommand: must not be empty',
    },
    {
      changes: [['platforms.windows.startupScript', 'infra/vm/windows/startup.sh']],
      problem:
        'platforms.windows.startupScript: Windows startup scripts are PowerShell: expected a .ps1 file',
    },
    {
      changes: [['platforms.linux.artifactName', 'linux-build']],
      problem:
        'platforms.linux.artifactName: needs buildWorkflow, the workflow that uploads the artifact',
    },
    {
      changes: [['platforms.linux.buildWorkflow', 'build.yml']],
      problem: 'platforms.linux.artifactName: required when buildWorkflow is set',
    },
    {
      changes: [
        ['platforms.linux.buildWorkflow', '.github/workflows/build.yml'],
        ['platforms.linux.artifactName', 'linux-build'],
      ],
      problem: 'platforms.linux.buildWorkflow: expected a workflow file name such as build.yml',
    },
    {
      changes: [['platforms.linux.subnetwork', 'regions/europe-west1/subnetworks/default']],
      problem:
        'platforms.linux.subnetwork: is in region europe-west1, but zones us-central1-a are not',
    },
    {
      changes: [['platforms.linux.serviceAccount', 'ci-vm']],
      problem: 'platforms.linux.serviceAccount: expected a service account email address',
    },
    {
      changes: [['platforms.linux.labels', { 'vmci-test-id': 'x' }]],
      problem:
        'platforms.linux.labels.vmci-test-id: label keys starting with "vmci" are reserved for vm-ci',
    },
    {
      changes: [['platforms.linux.labels', { team: 'CI' }]],
      problem:
        'platforms.linux.labels.team: label values are lowercase letters, digits, _ and -, at most 63',
    },
    // global
    {
      changes: [['project', 'My_Project']],
      problem: 'project: expected a GCP project id such as my-ci-project',
    },
    {
      changes: [['region', 'US Central']],
      problem: 'region: expected a region such as us-central1',
    },
    {
      changes: [['publicUrl', 'http://ci.example.com']],
      problem:
        'publicUrl: expected an https URL without query or fragment (http only for localhost)',
    },
    {
      changes: [['githubApiUrl', 'api.github.com']],
      problem:
        'githubApiUrl: expected an https URL without query or fragment (http only for localhost)',
    },
    { changes: [['repositories', []]], problem: 'repositories: expected at least 1 item' },
    {
      changes: [['repositories', ['my-project']]],
      problem: 'repositories.0: expected "owner/name"',
    },
    {
      changes: [['repositories', ['my-org/my-project', 'My-Org/My-Project']]],
      problem: 'repositories.1: duplicate of item 0',
    },
    {
      changes: [['branches', ['main', 'refs/heads/release']]],
      problem: 'branches.1: expected a branch name or glob such as release/*',
    },
    {
      changes: [['statusContext', 'CI - linux']],
      problem: 'statusContext: must contain {platform}',
    },
    {
      changes: [['statusContext', 'ci/{platform}/{os}']],
      problem: 'statusContext: the only placeholder is {platform}',
    },
    { changes: [['approvalLabel', '']], problem: 'approvalLabel: must not be empty' },
    { changes: [['blockedUsers', ['a user']]], problem: 'blockedUsers.0: expected a GitHub login' },
    {
      changes: [['approvalBots', ['ok-bot[bot]', 'not a bot']]],
      problem: 'approvalBots.1: expected a GitHub login',
    },
    {
      changes: [['supersede', 'some']],
      problem: 'supersede: expected one of "queued", "all", "none"',
    },
    { changes: [['queue', undefined]], problem: 'queue: required' },
    { changes: [['queue.serviceAccount', undefined]], problem: 'queue.serviceAccount: required' },
    { changes: [['queue.maxAttempts', 0]], problem: 'queue.maxAttempts: expected at least 1' },
    {
      changes: [['queue.maxBackoffSeconds', 5]],
      problem: 'queue.maxBackoffSeconds: expected at least minBackoffSeconds (10)',
    },
    {
      changes: [['queue.dispatchDeadlineSeconds', 5]],
      problem: 'queue.dispatchDeadlineSeconds: expected at least 15',
    },
    {
      changes: [['queue.maxDispatchesPerSecond', 0]],
      problem: 'queue.maxDispatchesPerSecond: expected more than 0',
    },
    {
      changes: [['queue.maxConcurrentDispatches', 5001]],
      problem: 'queue.maxConcurrentDispatches: expected at most 5000',
    },
    {
      changes: [['sweeps.pendingBatch', 501]],
      problem: 'sweeps.pendingBatch: expected at most 500',
    },
    {
      changes: [['sweeps.statusGiveUpHours', 0]],
      problem: 'sweeps.statusGiveUpHours: expected more than 0',
    },
    {
      changes: [['sweeps.statusGiveUpHours', 721]],
      problem: 'sweeps.statusGiveUpHours: expected at most 720',
    },
    { changes: [['waitForApprovalDays', 0]], problem: 'waitForApprovalDays: expected at least 1' },
    {
      changes: [['waitForApprovalDays', 1.5]],
      problem: 'waitForApprovalDays: expected an integer',
    },
    {
      changes: [['waitForApprovalDays', 366]],
      problem: 'waitForApprovalDays: expected at most 365',
    },
    {
      changes: [['platforms.linux.waitForBuildMinutes', 30]],
      problem:
        'platforms.linux.waitForBuildMinutes: needs buildWorkflow, the workflow the tests wait for',
    },
    {
      changes: [
        ['platforms.linux.buildWorkflow', 'build.yml'],
        ['platforms.linux.artifactName', 'ccx-linux'],
        ['platforms.linux.waitForBuildMinutes', 0],
      ],
      problem: 'platforms.linux.waitForBuildMinutes: expected at least 1',
    },
    {
      changes: [
        ['platforms.linux.buildWorkflow', 'build.yml'],
        ['platforms.linux.artifactName', 'ccx-linux'],
        ['platforms.linux.waitForBuildMinutes', 10081],
      ],
      problem: 'platforms.linux.waitForBuildMinutes: expected at most 10080',
    },
    // unknown keys, named by their path
    { changes: [['statusContex', 'ci/{platform}']], problem: 'statusContex: unknown key' },
    {
      changes: [['platforms.linux.zone', 'us-central1-a']],
      problem: 'platforms.linux.zone: unknown key',
    },
    { changes: [['queue.maxAttemps', 3]], problem: 'queue.maxAttemps: unknown key' },
    { changes: [['sweeps.batch', 3]], problem: 'sweeps.batch: unknown key' },
  ];

  it.each(problems)('$problem', ({ changes, problem }) => {
    expect(problemsOf(parsed(changed(validConfig(), ...changes)))).toEqual([problem]);
  });

  it('reports the same problems in a JSON file', () => {
    const config = changed(validConfig(), ['platforms.linux.zones', []]);
    expect(problemsOf(parsed(config, 'vmci.json'))).toEqual([
      'platforms.linux.zones: expected at least 1 item',
    ]);
  });
});

describe('several problems at once', () => {
  it('lists every one of them', () => {
    // Prepare: problems at the top, in the queue, in two platforms, and a bad platform name.
    const config = changed(
      validConfig(),
      ['project', 'X'],
      ['typo', true],
      ['queue.maxBackoffSeconds', 1],
      ['platforms.linux.zones', []],
      ['platforms.linux.maxRunMinutes', 0],
      ['platforms.windows.diskSizeGb', 30],
      ['platforms.windows.artifactName', 'win'],
      ['platforms.Bad', { os: 'linux', zones: ['nowhere'] }],
    );

    // Act
    const problems = problemsOf(parsed(config));

    // Assess
    const expected = [
      'project: expected a GCP project id such as my-ci-project',
      'typo: unknown key',
      'queue.maxBackoffSeconds: expected at least minBackoffSeconds (10)',
      'platforms.linux.zones: expected at least 1 item',
      'platforms.linux.maxRunMinutes: expected at least 1',
      'platforms.windows.diskSizeGb: Windows needs at least 50',
      'platforms.windows.artifactName: needs buildWorkflow, the workflow that uploads the artifact',
      'platforms.Bad.machineType: required',
      'platforms.Bad.zones.0: expected a zone name such as us-central1-a',
      expect.stringMatching(/^platforms\.Bad: platform names are/),
    ];
    expect(problems).toEqual(expect.arrayContaining(expected));
    expect(problems).toHaveLength(expected.length + 2); // + Bad's image and testCommand
  });

  it('runs the cross-field checks even when another key of the same platform is wrong', () => {
    const config = changed(
      validConfig(),
      ['platforms.windows.zones', 'us-central1-a'],
      ['platforms.windows.diskSizeGb', 30],
    );

    expect(problemsOf(parsed(config))).toEqual([
      'platforms.windows.zones: expected a list, got a string',
      'platforms.windows.diskSizeGb: Windows needs at least 50',
    ]);
  });
});
