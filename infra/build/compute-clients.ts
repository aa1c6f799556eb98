// The Compute clients in a bundle (runTest, sweepExpired), with only the protos
// their services use. Every @google-cloud/compute client requires the package's
// one protos.json: 12 MB on disk, every Compute service of v1, v1beta and v1small.
// Node parses it at load, and each client, when made, hashes it
// (JSON.stringify of all of it) and builds a protobuf Root of all of it: about
// 1.3 s of runTest's cold start here (issue 16). The plugin below bundles each
// client module vm-ci imports (@google-cloud/compute/build/src/v1/<name>_client,
// which shared/compute/clients.ts already imports alone) instead of leaving the
// package to npm, and gives it a protos.json cut down to what its own service
// reaches: its methods' requests and responses and, transitively, their fields'
// types (about 170 KB for Instances), checked at build time to resolve
// completely. Other namespaces (google.api, google.protobuf, …) are kept whole.
// The clients' code is unchanged; google-gax stays external, at the version the
// package was installed with (it is the root's one: package-lock.json has no other).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';
import type * as Protobuf from 'protobufjs';

/** What bundles may import of @google-cloud/compute: one client's own module. */
export const COMPUTE_CLIENT_MODULE =
  /^@google-cloud\/compute\/build\/src\/v1\/[a-z_]+_client(\.js)?$/;
/** The namespace cut down; the rest of protos.json is kept as is. */
const TRIMMED_NAMESPACE = 'google.cloud.compute';
const NAMESPACE = 'vmci-compute-protos';

type ProtoJson = { nested?: Record<string, ProtoJson>; [key: string]: unknown };

function protobufjs(): typeof Protobuf {
  // The protobufjs google-gax uses, which is the one the clients' protos meet at run time.
  const fromGax = createRequire(require.resolve('google-gax'));
  return fromGax('protobufjs') as typeof Protobuf;
}

/** The services a generated client module serves (`lookupService('<full name>')`). */
export function servicesOf(clientSource: string): string[] {
  const names = [...clientSource.matchAll(/lookupService\(['"]([\w.]+)['"]\)/g)].map((m) => m[1]!);
  return [...new Set(names)].sort();
}

/**
 * `json` (a protobufjs JSON root) with the entries of TRIMMED_NAMESPACE that
 * `services` do not reach left out. Throws if the result does not resolve.
 */
export function trimProtos(json: ProtoJson, services: readonly string[]): ProtoJson {
  const pb = protobufjs();
  const root = pb.Root.fromJSON(json);
  const kept = new Set<Protobuf.ReflectionObject>();
  const keep = (obj: Protobuf.ReflectionObject | null | undefined): void => {
    if (!obj || kept.has(obj)) return;
    kept.add(obj);
    for (let up = obj.parent; up && !kept.has(up); up = up.parent) kept.add(up);
    if (obj instanceof pb.Service) {
      for (const method of obj.methodsArray) {
        method.resolve();
        keep(method.resolvedRequestType);
        keep(method.resolvedResponseType);
      }
    } else if (obj instanceof pb.Type) {
      for (const field of obj.fieldsArray) {
        field.resolve();
        keep(field.resolvedType);
      }
      for (const nested of obj.nestedArray) keep(nested);
    }
  };
  if (services.length === 0) throw new Error('no Compute service to keep');
  for (const name of services) keep(root.lookupService(name));

  const trim = (node: ProtoJson, obj: Protobuf.ReflectionObject, inScope: boolean): ProtoJson => {
    if (!node.nested || !(obj instanceof pb.Namespace)) return node;
    // A message or a service is kept whole; only namespaces are cut.
    if (inScope && (obj instanceof pb.Type || obj instanceof pb.Service)) return node;
    const nested: Record<string, ProtoJson> = {};
    for (const [name, child] of Object.entries(node.nested)) {
      const childObj = obj.get(name);
      if (!childObj) throw new Error(`${obj.fullName}.${name} is in the JSON but not in its Root`);
      const childInScope = inScope || childObj.fullName.replace(/^\./, '') === TRIMMED_NAMESPACE;
      if (childInScope && !kept.has(childObj)) continue;
      nested[name] = trim(child, childObj, childInScope);
    }
    return { ...node, nested };
  };
  const trimmed = trim(json, root, false);
  // The cut must be complete: every type the kept services reach resolves.
  const check = pb.Root.fromJSON(trimmed as Protobuf.INamespace);
  check.resolveAll();
  for (const name of services) check.lookupService(name);
  return trimmed;
}

/**
 * Bundles the Compute client modules a function imports, each with its own
 * cut-down protos.json (see the top of this file). Importing anything else of
 * @google-cloud/compute fails the build: the index loads every client.
 */
const trimmedModules = new Map<string, string>();

export function computeClients(): Plugin {
  const cache = trimmedModules;
  return {
    name: 'vmci-compute-clients',
    setup(build) {
      build.onResolve({ filter: /^@google-cloud\/compute(\/|$)/ }, (args) => {
        if (!COMPUTE_CLIENT_MODULE.test(args.path)) {
          return {
            errors: [
              {
                text: `${args.path}: import a Compute client by its own module (@google-cloud/compute/build/src/v1/<name>_client); the package's index loads every client and a 31 MB protos module`,
              },
            ],
          };
        }
        const fromImporter = createRequire(join(args.resolveDir, 'importer.js'));
        return { path: fromImporter.resolve(args.path) };
      });
      build.onResolve({ filter: /^\.\.\/\.\.\/protos\/protos\.json$/ }, (args) => {
        if (!/[/\\]@google-cloud[/\\]compute[/\\]build[/\\]src[/\\]v1[/\\]/.test(args.importer)) {
          return undefined;
        }
        return { path: args.importer, namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        let contents = cache.get(args.path);
        if (contents === undefined) {
          const services = servicesOf(readFileSync(args.path, 'utf8'));
          const protosPath = join(dirname(args.path), '..', '..', 'protos', 'protos.json');
          const json = JSON.parse(readFileSync(protosPath, 'utf8')) as ProtoJson;
          const trimmed = JSON.stringify(trimProtos(json, services));
          contents = `module.exports = JSON.parse(${JSON.stringify(trimmed)});\n`;
          cache.set(args.path, contents);
        }
        return { contents, loader: 'js' };
      });
    },
  };
}
