// The real `vmci` bin (infra/cli/bin.js, the package's bin) as a shell runs it,
// the state file's environment for it, and the GitHub credentials it reads
// from Secret Manager through gcloud on a deployed project (a fake gcloud here).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubSecretsFromGcloud } from '../../infra/cli/gcp-secrets';
import { readStateFile, writeStateFile } from '../../infra/local/demo/state-file';
import type { VmciConfig } from '../../shared/config';

const ROOT = join(__dirname, '..', '..');
const NODE = join(ROOT, 'node_modules/.bin/node');

jest.setTimeout(60_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmci-bin-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bin(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(NODE, [join(ROOT, 'infra/cli/bin.js'), ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH!, HOME: dir, VMCI_OPERATOR: 'x', ...env },
    encoding: 'utf8',
    timeout: 45_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bin.js', () => {
  it('is the package’s bin, and --help lists the commands', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin).toEqual({ vmci: 'infra/cli/bin.js' });

    const { code, stdout, stderr } = bin(['--help']);

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^usage: vmci <command>/);
    for (const name of ['tests', 'show', 'cancel', 'rerun', 'queue', 'maintenance', 'doctor']) {
      expect(stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
    }
  });

  it('exit codes: 2 for a usage error, 1 when there is nothing to act on, one line each', () => {
    const usage = bin(['tests', '--limit', 'many']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toBe(
      "vmci tests: --limit: expected a whole number from 1 to 1000, got 'many'\n",
    );

    const nowhere = bin(['queue'], { VMCI_LOCAL_STATE_FILE: join(dir, 'none.json') });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe(
      'vmci queue: No local cloud found: start one with `npm start`, or pass --project\n',
    );
  });
});

describe('the state file', () => {
  it('keeps the functions’ environment, and reads files without one or with a bad one', () => {
    const file = join(dir, 'state.json');
    const env = { VMCI_CONFIG: '/tmp/x/vmci.json', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8085' };
    writeStateFile(file, { url: 'http://127.0.0.1:1', webhookSecret: 's', pid: 7, env });
    expect(readStateFile(file)).toEqual({
      url: 'http://127.0.0.1:1',
      webhookSecret: 's',
      pid: 7,
      env,
    });

    writeFileSync(file, JSON.stringify({ url: 'u', webhookSecret: 's', pid: 7, env: { A: 1 } }));
    expect(readStateFile(file)).toEqual({ url: 'u', webhookSecret: 's', pid: 7 });
  });
});

describe('GitHub credentials from Secret Manager', () => {
  /** A gcloud that knows `secrets` (name → value) of project p and fails for any other. */
  function fakeGcloud(secrets: Record<string, string>): string {
    const path = join(dir, `gcloud-${Object.keys(secrets).length}`);
    const cases = Object.entries(secrets)
      .map(([name, value]) => `  "--secret=${name}") printf %s '${value}' ;;`)
      .join('\n');
    writeFileSync(
      path,
      `#!/bin/sh
echo "$@" >> "${path}.log"
[ "$1 $2 $3 $4" = "secrets versions access latest" ] && [ "$6" = "--project=p" ] || exit 2
case "$5" in
${cases}
  *) echo "ERROR: NOT_FOUND: Secret [$5] not found" >&2; exit 1 ;;
esac
`,
    );
    chmodSync(path, 0o755);
    return path;
  }
  const config = { project: 'p' } as VmciConfig;

  it('a GitHub App’s when its id secret exists, else the token’s', async () => {
    const app = fakeGcloud({
      'vmci-github-app-id': '12',
      'vmci-github-app-private-key': 'KEY',
      'vmci-github-app-installation-id': '34',
    });
    expect(await githubSecretsFromGcloud({ gcloud: app, config, env: process.env })).toEqual({
      ok: true,
      env: { GITHUB_APP_ID: '12', GITHUB_APP_PRIVATE_KEY: 'KEY', GITHUB_APP_INSTALLATION_ID: '34' },
    });

    const token = fakeGcloud({ 'vmci-github-token': 'ghp_secret' });
    expect(await githubSecretsFromGcloud({ gcloud: token, config, env: process.env })).toEqual({
      ok: true,
      env: { GITHUB_TOKEN: 'ghp_secret' },
    });
  });

  it('none readable: a reason that names the secrets, no value', async () => {
    const none = fakeGcloud({});
    expect(await githubSecretsFromGcloud({ gcloud: none, config, env: process.env })).toEqual({
      ok: false,
      reason:
        'no GitHub credentials: gcloud could not read vmci-github-app-id or vmci-github-token of p',
    });
  });
});
