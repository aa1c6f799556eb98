// The Compute clients' protos cut down to their services (infra/build/compute-clients.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Protobuf from 'protobufjs';
import { servicesOf, trimProtos } from '../../infra/build/compute-clients';

const COMPUTE = join(__dirname, '..', '..', 'node_modules', '@google-cloud', 'compute', 'build');
const pb = createRequire(require.resolve('google-gax'))('protobufjs') as typeof Protobuf;

describe('servicesOf', () => {
  it('reads the service a generated client serves', () => {
    const source = readFileSync(join(COMPUTE, 'src', 'v1', 'instances_client.js'), 'utf8');
    expect(servicesOf(source)).toEqual(['google.cloud.compute.v1.Instances']);
  });
});

describe('trimProtos', () => {
  const full = JSON.parse(readFileSync(join(COMPUTE, 'protos', 'protos.json'), 'utf8'));
  const services = ['google.cloud.compute.v1.Instances', 'google.cloud.compute.v1.ZoneOperations'];
  const trimmed = trimProtos(full, services);
  const before = pb.Root.fromJSON(full);
  const after = pb.Root.fromJSON(trimmed as Protobuf.INamespace);
  after.resolveAll();

  it('keeps the services, method by method, with their HTTP bindings', () => {
    for (const name of services) {
      const was = before.lookupService(name);
      const is = after.lookupService(name);
      expect(is.toJSON()).toEqual(was.toJSON());
    }
  });

  it('keeps every message they reach as it was, and is a fraction of the size', () => {
    for (const name of [
      'Instance',
      'Operation',
      'InsertInstanceRequest',
      'AttachedDisk',
      'Scheduling',
    ]) {
      const full = `google.cloud.compute.v1.${name}`;
      expect(after.lookupType(full).toJSON()).toEqual(before.lookupType(full).toJSON());
    }
    expect(() => after.lookup('google.cloud.compute.v1beta')).not.toThrow();
    expect(after.lookup('google.cloud.compute.v1beta')).toBeNull();
    expect(after.lookup('google.cloud.compute.v1.Firewalls')).toBeNull();
    expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(full).length / 10);
    // Outside google.cloud.compute, nothing is cut.
    expect(
      (trimmed as { nested: { google: { nested: Record<string, unknown> } } }).nested.google.nested
        .api,
    ).toEqual(full.nested.google.nested.api);
  });

  it('refuses a service it does not know', () => {
    expect(() => trimProtos(full, ['google.cloud.compute.v1.NoSuch'])).toThrow(/NoSuch/);
  });
});
