// What deploy manages, as data: each desired resource says what it should be
// (`want`, flat strings), how to read it (`probe`) and which calls make it so.
import type { protos as schedulerProtos } from '@google-cloud/scheduler';
import type { protos as tasksProtos } from '@google-cloud/tasks';

export type QueueSpec = tasksProtos.google.cloud.tasks.v2.IQueue;
export type JobSpec = schedulerProtos.google.cloud.scheduler.v1.IJob;

/** A file a gcloud command reads (e.g. --lifecycle-file), written just before it runs. */
export interface CallFile {
  path: string;
  content: string;
}

/** One changing call: a gcloud command or a client library call. */
export type Call =
  | { via: 'gcloud'; args: string[]; file?: CallFile }
  | {
      via: 'tasks';
      method: 'createQueue' | 'updateQueue' | 'deleteQueue';
      queue: QueueSpec;
      updateMask?: string[];
    }
  | { via: 'scheduler'; method: 'createJob' | 'updateJob' | 'deleteJob'; job: JobSpec };

/** Something that holds an IAM policy, with the gcloud words to read and extend it. */
export interface IamTarget {
  /** e.g. "project my-ci-project", "service vmci-runtest". */
  label: string;
  getPolicy: string[];
  addBinding: (member: string, role: string) => string[];
  /** Removes every binding of `role` to `member`, whatever its condition (where deploy removes one). */
  removeBinding?: (member: string, role: string) => string[];
}

export type Probe =
  | { type: 'api'; service: string }
  | { type: 'account'; email: string }
  | { type: 'binding'; target: IamTarget; member: string; role: string }
  | { type: 'secret'; secret: string }
  | { type: 'secret-value'; secret: string }
  | { type: 'database' }
  | { type: 'index'; collectionGroup: string; signature: string }
  | { type: 'ttl'; collectionGroup: string; field: string }
  | { type: 'exemption'; collectionGroup: string; field: string }
  | { type: 'queue'; name: string }
  | { type: 'service'; service: string }
  | { type: 'job'; name: string }
  /** `gcloud storage buckets describe --raw`: location, access settings, versioning, lifecycle. */
  | { type: 'bucket'; args: string[] }
  /** Who holds `role` on the target: allUsers and allAuthenticatedUsers (yes/no), and every member. */
  | { type: 'invokers'; target: IamTarget; role: string }
  /** `gcloud … describe --format=json`; each want key read at a dot path ("denied.0.IPProtocol"). */
  | { type: 'describe'; args: string[]; fields: Record<string, string> };

export interface Resource {
  /** What sort of thing, as printed: "api", "service account", "function", … */
  kind: string;
  name: string;
  probe: Probe;
  /** Properties compared with what is observed; an absent resource differs in all. */
  want: Record<string, string>;
  create: Call[];
  /** The calls for an existing resource whose properties `changed` differ; default `create`. */
  update?: (changed: string[]) => Call[];
  /** Why it cannot be applied until a person acts, and what they run. */
  blocked?: string;
  /** Set when an existing one cannot be changed: what a person must know (e.g. a database's location). */
  immutable?: string;
  /** A check of something another resource makes: absent, there is nothing to check or create. */
  onlyIfPresent?: boolean;
  /** Printed under an update: why it matters, in one line. */
  why?: string;
  /** A note on what was observed that deploy does not change (printed as `warning:`). */
  warn?: (observed: Observed) => string | undefined;
}

export type Observed = Record<string, string> | undefined;

/** The binding of `role` to `member` as Resource.want (and what observe reports). */
export const BOUND = { bound: 'yes' } as const;
export const EXISTS = { exists: 'yes' } as const;
/** The principals that make a resource public. */
export const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'] as const;
