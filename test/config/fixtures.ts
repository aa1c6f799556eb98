// A small valid configuration, as plain data, and a way to break it in one place.

export function validConfig(): Record<string, unknown> {
  return {
    project: 'my-ci-project',
    region: 'us-central1',
    publicUrl: 'https://ci.example.com',
    repositories: ['my-org/my-project'],
    queue: { serviceAccount: 'vmci-tasks@my-ci-project.iam.gserviceaccount.com' },
    platforms: {
      linux: {
        os: 'linux',
        machineType: 'e2-standard-2',
        image: 'projects/debian-cloud/global/images/family/debian-12',
        zones: ['us-central1-a'],
        testCommand: './run-tests.sh',
      },
      windows: {
        os: 'windows',
        machineType: 'e2-standard-4',
        image: 'projects/windows-cloud/global/images/family/windows-2022',
        zones: ['us-central1-b'],
        testCommand: '.\\run-tests.ps1',
      },
    },
  };
}

export type Change = readonly [path: string, value: unknown];

/** Sets each dotted path to its value (undefined deletes the key), on a copy. */
export function changed(
  config: Record<string, unknown>,
  ...changes: readonly Change[]
): Record<string, unknown> {
  const copy = structuredClone(config);
  for (const [path, value] of changes) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    const parent = keys.reduce<Record<string, unknown>>((node, key) => {
      node[key] ??= {};
      return node[key] as Record<string, unknown>;
    }, copy);
    if (value === undefined) delete parent[last];
    else parent[last] = value;
  }
  return copy;
}
