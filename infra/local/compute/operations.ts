// Zone operations, shaped like compute#operation. An operation goes
// PENDING → RUNNING → DONE; a failed one is DONE with `error.errors[]` and
// `httpErrorStatusCode`/`httpErrorMessage`, as Compute reports a stockout or a
// quota failure. `wait` answers as soon as the operation is DONE, or after the
// wait budget with the operation as it then is (the real one gives up after
// about two minutes, maybe not DONE).
import { randomHex, randomId, rfc3339, zonePath, zoneUrl, COMPUTE_BASE } from './api';
import type { Timers } from './timers';

export type OperationStatus = 'PENDING' | 'RUNNING' | 'DONE';

export interface OperationErrorEntry {
  code: string;
  message: string;
  errorDetails?: Record<string, unknown>[];
}

export interface OperationFailure {
  errors: OperationErrorEntry[];
  httpErrorStatusCode: number;
  httpErrorMessage: string;
}

export interface OperationJson {
  kind: 'compute#operation';
  id: string;
  name: string;
  zone: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  status: OperationStatus;
  user: string;
  progress: number;
  insertTime: string;
  startTime?: string;
  endTime?: string;
  selfLink: string;
  error?: { errors: OperationErrorEntry[] };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

export class Operation {
  private readonly waiters = new Set<() => void>();

  constructor(readonly json: OperationJson) {}

  get done(): boolean {
    return this.json.status === 'DONE';
  }

  start(): void {
    if (this.json.status !== 'PENDING') return;
    this.json.status = 'RUNNING';
    this.json.startTime = rfc3339();
  }

  finish(failure?: OperationFailure): void {
    if (this.done) return;
    this.start();
    this.json.status = 'DONE';
    this.json.progress = 100;
    this.json.endTime = rfc3339();
    if (failure) {
      this.json.error = { errors: failure.errors };
      this.json.httpErrorStatusCode = failure.httpErrorStatusCode;
      this.json.httpErrorMessage = failure.httpErrorMessage;
    }
    this.release();
  }

  snapshot(): OperationJson {
    return structuredClone(this.json);
  }

  /** Resolves when DONE, or after `budgetMs`, whichever comes first. */
  waitDone(budgetMs: number, timers: Timers): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        cancel();
        resolve();
      };
      const cancel = timers.after(budgetMs, wake);
      this.waiters.add(wake);
    });
  }

  /** Wakes every waiter (on DONE, and on close). */
  release(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

export class OperationStore {
  private readonly byName = new Map<string, Operation>();
  private readonly byRequestId = new Map<string, Operation>();

  create(input: {
    project: string;
    zone: string;
    operationType: string;
    targetLink: string;
    targetId?: string;
  }): Operation {
    const name = `operation-${Date.now()}-${randomHex(7).slice(0, 13)}-${randomHex(4)}-${randomHex(4)}`;
    const op = new Operation({
      kind: 'compute#operation',
      id: randomId(),
      name,
      zone: zoneUrl(input.project, input.zone),
      operationType: input.operationType,
      targetLink: input.targetLink,
      ...(input.targetId ? { targetId: input.targetId } : {}),
      status: 'PENDING',
      user: `vmci-local@${input.project}.iam.gserviceaccount.com`,
      progress: 0,
      insertTime: rfc3339(),
      selfLink: `${COMPUTE_BASE}/${zonePath(input.project, input.zone)}/operations/${name}`,
    });
    this.byName.set(`${input.project}/${input.zone}/${name}`, op);
    return op;
  }

  get(project: string, zone: string, name: string): Operation | undefined {
    return this.byName.get(`${project}/${zone}/${name}`);
  }

  /** The operation an earlier call with this requestId made, in this project. */
  forRequest(project: string, requestId: string | undefined): Operation | undefined {
    return requestId ? this.byRequestId.get(`${project}/${requestId}`) : undefined;
  }

  remember(project: string, requestId: string | undefined, op: Operation): void {
    if (requestId) this.byRequestId.set(`${project}/${requestId}`, op);
  }

  releaseAll(): void {
    for (const op of this.byName.values()) op.release();
  }
}
