// One instance of the stand-in: its stored resource, its status, its VM
// process and metadata server, its console, and how it ended.
import { COMPUTE_BASE, instanceUrl, randomHex, randomId, rfc3339, zonePath, zoneUrl } from './api';
import type { MetadataServer } from './metadata';
import type { ValidInsert } from './validate';
import { ConsoleBuffer, type VmExit, type VmProcess } from './vm-process';

export type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';

/** How a VM ended: powered off (TERMINATED) or deleted (DELETED). */
export interface VmEnd extends VmExit {
  status: 'TERMINATED' | 'DELETED';
}

export interface LocalInstanceSummary {
  project: string;
  name: string;
  zone: string;
  status: InstanceStatus;
  labels: Record<string, string>;
  /** Metadata, with secret-ish values redacted and the startup-script as its size. */
  metadata: Record<string, string>;
  /** The startup-script's process (its group id too), while it runs. */
  pid: number | null;
  createdAt: string;
}

const SECRET_KEY = /token|secret|password|passwd|credential|private|key$/i;

export class Instance {
  status: InstanceStatus = 'PROVISIONING';
  readonly id = randomId();
  readonly createdAt = new Date();
  readonly console: ConsoleBuffer;
  lastStart?: string;
  vm?: VmProcess;
  metadataServer?: MetadataServer;
  dir?: string;
  booting?: Promise<void>;
  removal?: Promise<void>;
  cancelMaxRun?: () => void;
  readonly ended: Promise<VmEnd>;
  private resolveEnded!: (end: VmEnd) => void;

  constructor(
    readonly project: string,
    readonly zone: string,
    readonly spec: ValidInsert,
    readonly resource: Record<string, unknown>,
    consoleLimitBytes: number,
  ) {
    this.console = new ConsoleBuffer(consoleLimitBytes);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get name(): string {
    return this.spec.name;
  }

  get attributes(): Record<string, string> {
    return Object.fromEntries(this.spec.items.map((i) => [i.key, i.value]));
  }

  end(end: VmEnd): void {
    this.resolveEnded(end);
  }

  /** The compute#instance JSON that get and list answer. */
  toJson(): Record<string, unknown> {
    return {
      ...structuredClone(this.resource),
      kind: 'compute#instance',
      id: this.id,
      creationTimestamp: rfc3339(this.createdAt),
      name: this.name,
      status: this.status,
      zone: zoneUrl(this.project, this.zone),
      selfLink: instanceUrl(this.project, this.zone, this.name),
      ...(this.lastStart ? { lastStartTimestamp: this.lastStart } : {}),
    };
  }

  /** What `GET /_local/compute/instances` shows: no secret values, no script text. */
  summary(): LocalInstanceSummary {
    return {
      project: this.project,
      name: this.name,
      zone: this.zone,
      status: this.status,
      labels: { ...this.spec.labels },
      metadata: Object.fromEntries(
        this.spec.items.map(({ key, value }) => [
          key,
          key === 'startup-script'
            ? `[${Buffer.byteLength(value)} bytes]`
            : SECRET_KEY.test(key)
              ? '[redacted]'
              : value,
        ]),
      ),
      pid: this.status === 'TERMINATED' ? null : (this.vm?.pid ?? null),
      createdAt: this.createdAt.toISOString(),
    };
  }
}

/** The instance resource as stored: the request, with the fields Compute fills in. */
export function storedResource(
  body: Record<string, unknown>,
  project: string,
  zone: string,
  spec: ValidInsert,
): Record<string, unknown> {
  const { metadata: _metadata, ...rest } = structuredClone(body);
  return {
    ...rest,
    machineType: `${COMPUTE_BASE}/${zonePath(project, zone)}/machineTypes/${spec.machineTypeName}`,
    labels: { ...spec.labels },
    labelFingerprint: Buffer.from(randomHex(8), 'hex').toString('base64'),
    metadata: {
      kind: 'compute#metadata',
      fingerprint: Buffer.from(randomHex(8), 'hex').toString('base64'),
      items: spec.items.map((i) => ({ ...i })),
    },
    cpuPlatform: 'Unknown CPU Platform',
    startRestricted: false,
    deletionProtection: false,
  };
}
