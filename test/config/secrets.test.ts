import { generateKeyPairSync } from 'node:crypto';
import {
  ConfigError,
  loadSecrets,
  requireSecrets,
  secretValues,
  type Secrets,
  type SecretsResult,
} from '../../shared/config';

const privateKey = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey.trim();

const webhook = { GITHUB_WEBHOOK_SECRET: 'whsec-0123456789' };
const app = { GITHUB_APP_ID: '123456', GITHUB_APP_PRIVATE_KEY: privateKey };

/** The webhook's secrets: most cases below are about these two. */
const WEBHOOK_NEEDS = ['webhookSecret', 'github'] as const;
const webhookSecrets = (env: Readonly<Record<string, string | undefined>>) =>
  loadSecrets(env, WEBHOOK_NEEDS);

function secretsOf<K extends keyof Secrets>(result: SecretsResult<K>): Pick<Secrets, K> {
  if (!result.ok) throw new Error(`expected secrets, got:\n${result.problems.join('\n')}`);
  return result.secrets;
}

function problemsOf<K extends keyof Secrets>(result: SecretsResult<K>): string[] {
  if (result.ok) throw new Error('expected problems, got secrets');
  return result.problems;
}

describe('loadSecrets', () => {
  it('reads a webhook secret and a token', () => {
    const env = { ...webhook, GITHUB_TOKEN: 'ghp_abcdef', PATH: '/usr/bin' };

    expect(secretsOf(webhookSecrets(env))).toEqual({
      webhookSecret: 'whsec-0123456789',
      github: { kind: 'token', token: 'ghp_abcdef' },
    });
  });

  it('reads a GitHub App, with an installation id when given', () => {
    expect(secretsOf(webhookSecrets({ ...webhook, ...app })).github).toEqual({
      kind: 'app',
      appId: '123456',
      privateKey,
    });
    expect(
      secretsOf(webhookSecrets({ ...webhook, ...app, GITHUB_APP_INSTALLATION_ID: '42' })).github,
    ).toEqual({ kind: 'app', appId: '123456', privateKey, installationId: 42 });
  });

  it('turns the literal \\n of a one-line private key into newlines', () => {
    const oneLine = privateKey.replace(/\n/g, '\\n');

    const secrets = secretsOf(
      webhookSecrets({ ...webhook, ...app, GITHUB_APP_PRIVATE_KEY: oneLine }),
    );

    expect(secrets.github).toMatchObject({ privateKey });
  });

  it('trims the newline that Secret Manager values often end with', () => {
    const secrets = secretsOf(
      webhookSecrets({
        GITHUB_WEBHOOK_SECRET: 'whsec-0123456789\n',
        GITHUB_TOKEN: ' ghp_abcdef\n',
      }),
    );

    expect(secrets).toEqual({
      webhookSecret: 'whsec-0123456789',
      github: { kind: 'token', token: 'ghp_abcdef' },
    });
  });

  const neither =
    'GITHUB_TOKEN: no GitHub authentication: set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App';

  it.each([
    {
      info: 'a missing webhook secret',
      env: { GITHUB_TOKEN: 'ghp_abcdef' },
      problems: ['GITHUB_WEBHOOK_SECRET: required: the secret of the GitHub webhook'],
    },
    {
      info: 'an empty webhook secret',
      env: { GITHUB_WEBHOOK_SECRET: ' ', GITHUB_TOKEN: 'ghp_abcdef' },
      problems: ['GITHUB_WEBHOOK_SECRET: required: the secret of the GitHub webhook'],
    },
    { info: 'no GitHub auth', env: webhook, problems: [neither] },
    { info: 'an empty token', env: { ...webhook, GITHUB_TOKEN: '' }, problems: [neither] },
    {
      info: 'nothing at all',
      env: {},
      problems: ['GITHUB_WEBHOOK_SECRET: required: the secret of the GitHub webhook', neither],
    },
    {
      info: 'a token and a GitHub App',
      env: { ...webhook, ...app, GITHUB_TOKEN: 'ghp_abcdef' },
      problems: [
        'GITHUB_TOKEN: set either GITHUB_TOKEN or the GitHub App variables (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY), not both',
      ],
    },
    {
      info: 'a token and an installation id',
      env: { ...webhook, GITHUB_TOKEN: 'ghp_abcdef', GITHUB_APP_INSTALLATION_ID: '42' },
      problems: [
        'GITHUB_TOKEN: set either GITHUB_TOKEN or the GitHub App variables (GITHUB_APP_INSTALLATION_ID), not both',
      ],
    },
    {
      info: 'an App id without a key',
      env: { ...webhook, GITHUB_APP_ID: '123456' },
      problems: ['GITHUB_APP_PRIVATE_KEY: required with the other GitHub App variables'],
    },
    {
      info: 'an App key without an id',
      env: { ...webhook, GITHUB_APP_PRIVATE_KEY: privateKey },
      problems: ['GITHUB_APP_ID: required with the other GitHub App variables'],
    },
    {
      info: 'malformed App variables',
      env: {
        ...webhook,
        GITHUB_APP_ID: 'my-app',
        GITHUB_APP_PRIVATE_KEY: 'not a key',
        GITHUB_APP_INSTALLATION_ID: 'first',
      },
      problems: [
        'GITHUB_APP_ID: expected the App id or client id',
        'GITHUB_APP_PRIVATE_KEY: expected a PEM private key',
        'GITHUB_APP_INSTALLATION_ID: expected a number',
      ],
    },
  ])('reports $info, naming the variables', ({ env, problems }) => {
    expect(problemsOf(webhookSecrets(env))).toEqual(problems);
  });
});

describe('secret values never appear in problems', () => {
  it.each([
    { GITHUB_WEBHOOK_SECRET: 'leak-webhook-1', GITHUB_TOKEN: 'leak token 2' },
    {
      GITHUB_WEBHOOK_SECRET: 'leak-webhook-3',
      GITHUB_TOKEN: 'leak-token-4',
      GITHUB_APP_ID: 'leak-5',
    },
    {
      GITHUB_WEBHOOK_SECRET: 'leak-webhook-6',
      GITHUB_APP_ID: 'leak-app-7',
      GITHUB_APP_PRIVATE_KEY: 'leak-key-8',
      GITHUB_APP_INSTALLATION_ID: 'leak-installation-9',
    },
    {
      GITHUB_TOKEN: 'leak-token-10',
      GITHUB_APP_PRIVATE_KEY: privateKey.replace('PRIVATE', 'PUBLIC'),
    },
  ])('%o', (env) => {
    // Act
    const problems = problemsOf(webhookSecrets(env));
    const error = (() => {
      try {
        requireSecrets(env, WEBHOOK_NEEDS);
      } catch (thrown) {
        return thrown;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    const text = [...problems, (error as ConfigError).message].join('\n');
    for (const value of Object.values(env)) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(value.slice(0, 8));
    }
    for (const problem of problems) expect(problem).toMatch(/^GITHUB_[A-Z_]+: /);
  });
});

describe('requireSecrets', () => {
  it('returns the secrets', () => {
    expect(
      requireSecrets({ ...webhook, GITHUB_TOKEN: 'ghp_abcdef' }, WEBHOOK_NEEDS).webhookSecret,
    ).toBe('whsec-0123456789');
  });

  it('throws a ConfigError listing every problem', () => {
    expect(() => requireSecrets({}, WEBHOOK_NEEDS)).toThrow(
      new ConfigError(
        [
          'GITHUB_WEBHOOK_SECRET: required: the secret of the GitHub webhook',
          'GITHUB_TOKEN: no GitHub authentication: set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App',
        ],
        'the environment',
      ).message,
    );
  });
});

describe('secrets a function asks for', () => {
  const KEY = 'k'.repeat(64);

  it('reads only those: the status function asks for none and needs no variable', () => {
    expect(secretsOf(loadSecrets({}, []))).toEqual({});
    expect(secretsOf(loadSecrets({ VMCI_TOKEN_KEY: KEY }, ['tokenKey']))).toEqual({
      tokenKey: KEY,
    });
    // The webhook secret is not read where it is not asked for, even when set.
    expect(secretsOf(loadSecrets({ ...webhook, GITHUB_TOKEN: 'ghp_abcdef' }, ['github']))).toEqual({
      github: { kind: 'token', token: 'ghp_abcdef' },
    });
  });

  it('all of them by default, the token key included', () => {
    expect(problemsOf(loadSecrets({ ...webhook, GITHUB_TOKEN: 'ghp_abcdef' }))).toEqual([
      "VMCI_TOKEN_KEY: required: the key of the VMs' tokens, for example the output of `openssl rand -hex 32`",
    ]);
  });

  it('refuses a token key shorter than 32 characters, without showing it', () => {
    const problems = problemsOf(
      loadSecrets({ VMCI_TOKEN_KEY: 'short-key-0123456789' }, ['tokenKey']),
    );
    expect(problems).toEqual([
      'VMCI_TOKEN_KEY: too short: at least 32 characters, for example the output of `openssl rand -hex 32`',
    ]);
    expect(problems.join('\n')).not.toContain('short-key');
  });

  it('the token key is redacted from the logs like the others', () => {
    const secrets = secretsOf(
      loadSecrets({ ...webhook, GITHUB_TOKEN: 'ghp_abcdef', VMCI_TOKEN_KEY: KEY }),
    );
    expect(secretValues(secrets)).toEqual(['whsec-0123456789', KEY, 'ghp_abcdef']);
  });
});

describe('secretValues', () => {
  it('lists the webhook secret and the token', () => {
    const secrets = secretsOf(webhookSecrets({ ...webhook, GITHUB_TOKEN: 'ghp_abcdef' }));

    expect(secretValues(secrets)).toEqual(['whsec-0123456789', 'ghp_abcdef']);
  });

  it('lists the private key whole and each line of its body, but not its armour', () => {
    const secrets = secretsOf(webhookSecrets({ ...webhook, ...app }));
    const bodyLines = privateKey.split('\n').slice(1, -1);

    const values = secretValues(secrets);

    expect(values.slice(0, 2)).toEqual(['whsec-0123456789', privateKey]);
    expect(values).toEqual(expect.arrayContaining(bodyLines));
    expect(values).not.toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(values).not.toContain('123456'); // the App id is not a secret
  });
});
