// Booting a local VM at RUNNING: its own metadata server (metadata.ts), its own
// directory, and its startup-script as a process group (vm-process.ts), with
// only a fresh VM's environment.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from './instance';
import { startMetadataServer, type MetadataView } from './metadata';
import type { ResolvedOptions } from './options';
import { VmProcess, type VmExit } from './vm-process';

/** Environment passed through to VM processes (the rest of ours stays out, as on a fresh VM). */
const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];

export interface BootContext {
  opts: ResolvedOptions;
  /** The stand-in is closing: start nothing. */
  closed(): boolean;
  /** The directory the VMs' own directories go in (made on first use). */
  baseDir(): string;
  /** The startup-script exited (on its own or stopped). */
  exited(inst: Instance, exit: VmExit): void;
}

/** What tells a local VM's startup-script it is local, and where its metadata server is. */
export function localVmEnv(metadataPort: number): Record<string, string> {
  const host = `127.0.0.1:${metadataPort}`;
  return {
    VMCI_LOCAL: '1',
    GCE_METADATA_HOST: host,
    VMCI_METADATA_URL: `http://${host}/computeMetadata/v1`,
  };
}

function metadataView(inst: Instance, opts: ResolvedOptions): MetadataView {
  return {
    project: inst.project,
    projectNumber: opts.projectNumber,
    zone: inst.zone,
    name: inst.name,
    id: inst.id,
    machineType: inst.spec.machineTypeName,
    attributes: inst.attributes,
  };
}

/** Boots the VM; a failure goes to its console, never to the caller. */
export async function bootVm(inst: Instance, script: string, ctx: BootContext): Promise<void> {
  const { opts } = ctx;
  try {
    inst.metadataServer = await startMetadataServer(() =>
      inst.removal ? undefined : metadataView(inst, opts),
    );
    if (inst.status !== 'RUNNING' || ctx.closed()) {
      await inst.metadataServer.close(); // stopped or deleted while it booted
      return;
    }
    inst.dir = mkdtempSync(join(ctx.baseDir(), `${inst.name}-`));
    const passed = Object.fromEntries(
      PASSED_ENV.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])),
    ) as Record<string, string>;
    inst.vm = new VmProcess({
      script,
      dir: inst.dir,
      env: { ...passed, ...opts.env, ...localVmEnv(inst.metadataServer.port) },
      console: inst.console,
      killGraceMs: opts.killGraceMs,
    });
    opts.log(`compute: ${inst.name} booted: startup-script pid ${inst.vm.pid}`);
    void inst.vm.exited.then((exit) => ctx.exited(inst, exit));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    inst.console.append(`vmci-local: boot failed: ${message}\n`);
    opts.log(`compute: ${inst.name} failed to boot: ${message}`);
  }
}
