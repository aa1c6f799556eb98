// The local Compute Engine stand-in, through the real @google-cloud/compute
// client (REST): instances, operations, requestId dedupe, injected faults as
// classifyGcpError reads them, and local VMs booted from their startup-script.
import { randomUUID } from 'node:crypto';
import { isProcessRunning } from '../../infra/local/compute/vm-process';
import { classifyGcpError } from '../../shared/gcp/errors';
import {
  eventually,
  machineType,
  metadata,
  OTHER_ZONE,
  PROJECT,
  startCompute,
  thrown,
  ZONE,
  type ComputeHarness,
  type Operation,
} from './compute-setup';

describe('instances and operations (no boot)', () => {
  let h: ComputeHarness;
  beforeAll(async () => {
    h = await startCompute({ boot: false, operationDelayMs: 60, waitBudgetMs: 200 });
  });
  afterAll(() => h.close());

  it('inserts, gets, lists by label, pages and deletes through the real client', async () => {
    const op = await h.insert({
      name: 'vm-a',
      labels: { vmci: 'true', 'vmci-test': 't1' },
      metadata: metadata({ 'vmci-test-id': 'test-1', 'vmci-token': 's3cret' }),
    });
    expect(op).toMatchObject({
      kind: 'compute#operation',
      operationType: 'insert',
      status: 'PENDING',
      zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}`,
      targetLink: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/vm-a`,
    });
    expect(op.name).toMatch(/^operation-\d+-/);
    expect(op.id).toMatch(/^\d+$/);

    const done = await h.waitDone(op);
    expect(done).toMatchObject({ status: 'DONE', progress: 100, name: op.name });
    expect(done.endTime).toBeTruthy();
    expect(done.error).toBeFalsy();

    const vm = await h.get('vm-a');
    expect(vm).toMatchObject({
      name: 'vm-a',
      status: 'RUNNING',
      labels: { vmci: 'true', 'vmci-test': 't1' },
      machineType: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}/machineTypes/e2-small`,
    });
    expect(vm.metadata?.items?.map(({ key, value }) => ({ key, value }))).toEqual([
      { key: 'vmci-test-id', value: 'test-1' },
      { key: 'vmci-token', value: 's3cret' },
    ]);

    await h.create({ name: 'vm-b', labels: { vmci: 'false' } });
    await h.create({ name: 'vm-c' });
    const [labelled] = await h.instances.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'labels.vmci = "true"',
    });
    expect(labelled.map((i) => i.name)).toEqual(['vm-a']);
    const [notTrue] = await h.instances.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'labels.vmci != "true" AND name eq vm-.*',
    });
    expect(notTrue.map((i) => i.name)).toEqual(['vm-b', 'vm-c']);
    const [hasLabel] = await h.instances.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'labels.vmci:*',
    });
    expect(hasLabel.map((i) => i.name)).toEqual(['vm-a', 'vm-b']);

    // One page at a time, then every page through the async iterator.
    const [page1, next] = await h.instances.list(
      { project: PROJECT, zone: ZONE, maxResults: 2 },
      { autoPaginate: false },
    );
    expect(page1.map((i) => i.name)).toEqual(['vm-a', 'vm-b']);
    expect(next?.pageToken).toBeTruthy();
    const [page2, last] = await h.instances.list(next!, { autoPaginate: false });
    expect(page2.map((i) => i.name)).toEqual(['vm-c']);
    expect(last).toBeNull();
    const all: string[] = [];
    // autoPaginate: false keeps google-gax from warning in its Async methods.
    const paging = { autoPaginate: false };
    for await (const i of h.instances.listAsync(
      { project: PROJECT, zone: ZONE, maxResults: 1 },
      paging,
    )) {
      all.push(i.name ?? '');
    }
    expect(all).toEqual(['vm-a', 'vm-b', 'vm-c']);

    const [del] = await h.instances.delete({
      project: PROJECT,
      zone: ZONE,
      instance: 'vm-a',
      requestId: randomUUID(),
    });
    const deleted = await h.waitDone(del.latestResponse as Operation);
    expect(deleted).toMatchObject({ operationType: 'delete', status: 'DONE' });
    const gone = await thrown(h.get('vm-a'));
    expect(gone.code).toBe(5);
    expect(gone.message).toContain(
      `The resource 'projects/${PROJECT}/zones/${ZONE}/instances/vm-a' was not found`,
    );
    expect(h.compute.instances().map((i) => i.name)).toEqual(['vm-b', 'vm-c']);
  });

  it('lists across zones with aggregatedList', async () => {
    await h.create({ name: 'agg-1', labels: { group: 'agg' } });
    await h.create({ name: 'agg-2', labels: { group: 'agg' } }, { zone: OTHER_ZONE });
    const seen: Array<[string, string[]]> = [];
    for await (const [zone, scoped] of h.instances.aggregatedListAsync(
      { project: PROJECT, filter: 'labels.group = agg', maxResults: 1 },
      { autoPaginate: false },
    )) {
      seen.push([zone, (scoped.instances ?? []).map((i) => i.name ?? '')]);
    }
    expect(seen.sort()).toEqual([
      [`zones/${ZONE}`, ['agg-1']],
      [`zones/${OTHER_ZONE}`, ['agg-2']],
    ]);
  });

  it('answers the same operation for a repeated requestId, and creates one VM', async () => {
    const requestId = randomUUID();
    const first = await h.insert({ name: 'dedupe' }, { requestId });
    const again = await h.insert({ name: 'dedupe' }, { requestId });
    expect([again.name, again.id]).toEqual([first.name, first.id]);
    await h.waitDone(first);
    // After DONE too, and although the name now exists: the original operation, not a 409.
    const later = await h.insert({ name: 'dedupe' }, { requestId });
    expect(later).toMatchObject({ name: first.name, id: first.id, status: 'DONE' });
    expect(h.compute.instances().filter((i) => i.name === 'dedupe')).toHaveLength(1);
  });

  it('answers 409 alreadyExists for the same name with another requestId', async () => {
    await h.create({ name: 'taken' });
    const err = await thrown(h.insert({ name: 'taken' }));
    expect(err.code).toBe(10); // ABORTED: how google-gax maps Compute's HTTP 409
    expect(err.message).toBe(
      `The resource 'projects/${PROJECT}/zones/${ZONE}/instances/taken' already exists`,
    );
    expect(classifyGcpError(err)).toMatchObject({ code: 'ALREADY_EXISTS', action: 'adopt' });

    // The exact body Compute sends.
    const raw = await h.post(
      `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances?requestId=${randomUUID()}`,
      { name: 'taken', machineType: machineType() },
    );
    const message = `The resource 'projects/${PROJECT}/zones/${ZONE}/instances/taken' already exists`;
    expect(raw).toEqual({
      status: 409,
      body: {
        error: {
          code: 409,
          message,
          errors: [{ message, domain: 'global', reason: 'alreadyExists' }],
        },
      },
    });
  });

  it('wait answers within its budget with an operation that is not DONE yet', async () => {
    h.compute.injectFault({ code: 'SLOW_OPERATION', delayMs: 1500 });
    const op = await h.insert({ name: 'slow' });
    // The budget is 200 ms: wait answers long before the operation is DONE.
    const [waited] = await h.operations.wait({ project: PROJECT, zone: ZONE, operation: op.name });
    expect(waited.status).not.toBe('DONE');
    expect(waited.name).toBe(op.name);
    // The VM already exists while its creation is still running.
    expect(['PROVISIONING', 'STAGING']).toContain((await h.get('slow')).status);
    const [got] = await h.operations.get({ project: PROJECT, zone: ZONE, operation: op.name });
    expect(got.name).toBe(op.name);
    expect((await h.waitDone(op)).status).toBe('DONE');
    expect((await h.get('slow')).status).toBe('RUNNING');
  });

  it.each([
    ['ZONE_RESOURCE_POOL_EXHAUSTED', 'ZONE_RESOURCE_POOL_EXHAUSTED', true, 503],
    ['ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', 'ZONE_RESOURCE_POOL_EXHAUSTED', true, 503],
    ['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', true, 403],
    ['RESOURCE_OPERATION_RATE_EXCEEDED', 'RATE_LIMITED', true, 400],
    ['SOMETHING_NEW', 'SOMETHING_NEW', false, 400],
  ])(
    'an injected %s ends the insert operation DONE with that code (classified %s)',
    async (code, classified, retriable, httpStatus) => {
      const name = `f-${code.toLowerCase().replace(/_/g, '-')}`.slice(0, 40);
      const injected = await h.post('/_local/compute/faults', {
        code,
        zonesAvailable: ['us-central1-f', 'us-central1-c'],
      });
      expect(injected.status).toBe(200);
      const op = await h.create({ name });
      expect(op.status).toBe('DONE');
      expect(op.httpErrorStatusCode).toBe(httpStatus);
      const entry = op.error?.errors?.[0];
      expect(entry?.code).toBe(code);
      expect(entry?.message).toBeTruthy();
      const cls = classifyGcpError(op.error);
      expect(cls).toMatchObject({ code: classified, retriable });
      if (classified === 'ZONE_RESOURCE_POOL_EXHAUSTED') {
        expect(cls.zonesAvailable).toEqual(['us-central1-f', 'us-central1-c']);
        expect(entry?.errorDetails?.[0]?.errorInfo).toMatchObject({
          reason: 'resource_availability',
          domain: 'compute.googleapis.com',
          metadatas: {
            zone: ZONE,
            vmType: 'e2-small',
            zonesAvailable: 'us-central1-f,us-central1-c',
          },
        });
      }
      // No VM, and the fault is used up: the next insert of that name works.
      expect((await thrown(h.get(name))).code).toBe(5);
      expect((await h.create({ name })).error).toBeFalsy();
    },
  );

  it('shapes a plain stockout like the real one: help and localizedMessage', async () => {
    h.compute.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
    const op = await h.create({ name: 'plain-stockout' });
    const entry = op.error?.errors?.[0];
    expect(entry?.message).toBe(
      `The zone 'projects/${PROJECT}/zones/${ZONE}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
    );
    expect(
      entry?.errorDetails?.map((d) => Object.keys(d).filter((k) => !k.startsWith('_'))),
    ).toEqual([['help'], ['localizedMessage']]);
    expect(classifyGcpError(op)).toMatchObject({ action: 'next_zone', retriable: true });
  });

  it.each([
    ['rateLimitExceeded', 7, 'RATE_LIMITED', true],
    ['quotaExceeded', 7, 'QUOTA_EXCEEDED', true],
    ['RATE_LIMITED_429', 8, 'RATE_LIMITED', true],
    ['STOCKOUT_503', 14, 'ZONE_RESOURCE_POOL_EXHAUSTED', true],
    ['NOT_FOUND_IMAGE', 5, 'NOT_FOUND', false],
    ['PERMISSION_DENIED', 7, 'PERMISSION_DENIED', false],
  ])(
    'an injected %s makes insert throw gRPC code %i (classified %s)',
    async (code, grpcCode, classified, retriable) => {
      // zonesAvailable is left out: with it, the 503 carries a google.rpc
      // ErrorInfo, and decoding one costs the client seconds (as the 429 does).
      h.compute.injectFault({ code });
      const name = `s-${code.toLowerCase().replace(/_/g, '-')}`;
      const err = await thrown(
        h.insert({
          name,
          disks: [
            {
              boot: true,
              initializeParams: {
                sourceImage: 'projects/debian-cloud/global/images/family/debian-12',
              },
            },
          ],
        }),
      );
      expect(err.code).toBe(grpcCode);
      expect(classifyGcpError(err)).toMatchObject({ code: classified, retriable });
      if (code === 'NOT_FOUND_IMAGE') {
        expect(err.message).toBe(
          "The resource 'projects/debian-cloud/global/images/family/debian-12' was not found",
        );
      }
      expect(h.compute.instances().some((i) => i.name === name)).toBe(false);
      expect((await h.create({ name })).error).toBeFalsy();
    },
  );

  it('names zonesAvailable in a 503 stockout when the fault gives them', async () => {
    h.compute.injectFault({ code: 'STOCKOUT_503', zonesAvailable: ['us-central1-f'] });
    const raw = await h.post(
      `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances?requestId=${randomUUID()}`,
      { name: 'stockout-raw', machineType: machineType() },
    );
    expect(raw.status).toBe(503);
    expect(raw.body).toMatchObject({
      error: {
        code: 503,
        status: 'UNAVAILABLE',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            domain: 'compute.googleapis.com',
            metadata: { zone: ZONE, vmType: 'e2-small', zonesAvailable: 'us-central1-f' },
          },
        ],
      },
    });
    expect(classifyGcpError(raw.body)).toMatchObject({
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      zonesAvailable: ['us-central1-f'],
    });
  });

  it('applies a fault only in its zone, and only count times', async () => {
    h.compute.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', zone: ZONE, count: 2 });
    expect((await h.create({ name: 'z-other' }, { zone: OTHER_ZONE })).error).toBeFalsy();
    const listed = await fetch(`${h.url}/_local/compute/faults`).then((r) => r.json());
    expect(listed).toEqual({
      faults: [
        { code: 'ZONE_RESOURCE_POOL_EXHAUSTED', operation: 'insert', zone: ZONE, remaining: 2 },
      ],
    });
    expect((await h.create({ name: 'z-1' })).error?.errors?.[0]?.code).toBe(
      'ZONE_RESOURCE_POOL_EXHAUSTED',
    );
    expect((await h.create({ name: 'z-2' })).error?.errors?.[0]?.code).toBe(
      'ZONE_RESOURCE_POOL_EXHAUSTED',
    );
    expect((await h.create({ name: 'z-3' })).error).toBeFalsy();
    expect(await fetch(`${h.url}/_local/compute/faults`).then((r) => r.json())).toEqual({
      faults: [],
    });
  });

  it('refuses what Compute refuses: bad fault bodies, requestIds, names, filters', async () => {
    expect((await h.post('/_local/compute/faults', { count: 2 })).status).toBe(400);
    expect((await h.post('/_local/compute/faults', { code: 'X', count: 0 })).status).toBe(400);

    const badRequestId = await thrown(h.insert({ name: 'r' }, { requestId: 'not-a-uuid' }));
    expect(badRequestId.code).toBe(3);
    expect(badRequestId.message).toContain("Invalid value for field 'requestId'");
    expect((await thrown(h.insert({ name: 'Bad_Name' }))).code).toBe(3);
    const crossZone = await thrown(h.insert({ name: 'x', machineType: machineType(OTHER_ZONE) }));
    expect(crossZone.code).toBe(3);
    const badLabel = await thrown(h.insert({ name: 'y', labels: { vmci: 'True!' } }));
    expect(badLabel.code).toBe(3);
    const badFilter = await thrown(
      h.instances.list({ project: PROJECT, zone: ZONE, filter: 'labels.vmci = ("' }),
    );
    expect(badFilter.code).toBe(3);
    const otherProject = await thrown(
      h.instances.get({ project: 'someone-else', zone: ZONE, instance: 'vm-b' }),
    );
    expect(otherProject.code).toBe(5);
  });
});

describe('local VMs (boot)', () => {
  let h: ComputeHarness;
  beforeAll(async () => {
    h = await startCompute({ operationDelayMs: 30, waitBudgetMs: 500, killGraceMs: 1000 });
  });
  afterAll(() => h.close());

  it('runs the startup-script against its own metadata server, then powers off', async () => {
    const script = [
      'md() { curl -s -H "Metadata-Flavor: Google" "$VMCI_METADATA_URL/$1"; echo; }',
      'echo "id=$(md instance/attributes/vmci-test-id)"',
      'echo "noheader=$(curl -s -o /dev/null -w "%{http_code}" "$VMCI_METADATA_URL/instance/attributes/vmci-test-id")"',
      'echo "missing=$(curl -s -o /dev/null -w "%{http_code}" -H "Metadata-Flavor: Google" "$VMCI_METADATA_URL/instance/attributes/nope")"',
      'echo "flavor=$(curl -s -D - -o /dev/null -H "Metadata-Flavor: Google" "$VMCI_METADATA_URL/instance/name" | tr -d "\\r" | grep -i "^metadata-flavor:")"',
      'echo "zone=$(md instance/zone)"',
      'echo "name=$(md instance/name)"',
      'echo "project=$(md project/project-id)"',
      'echo "all=$(md "instance/attributes/?recursive=true")"',
      'echo "env=$VMCI_LOCAL $GCE_METADATA_HOST $VMCI_METADATA_URL"',
      'exit 3',
    ].join('\n');
    const done = await h.create({
      name: 'boot-md',
      metadata: metadata({
        'vmci-test-id': 'test-123',
        'vmci-token': 'tok',
        'startup-script': script,
      }),
    });
    expect(done.error).toBeFalsy();

    const summary = h.compute.instances().find((i) => i.name === 'boot-md');
    expect(summary?.metadata['vmci-token']).toBe('[redacted]');
    expect(summary?.metadata['vmci-test-id']).toBe('test-123');
    const local = (await fetch(`${h.url}/_local/compute/instances`).then((r) => r.json())) as Array<
      Record<string, unknown>
    >;
    expect(JSON.stringify(local)).not.toContain('"tok"');
    expect(local.find((i) => i.name === 'boot-md')).toMatchObject({ zone: ZONE, labels: {} });

    const end = await h.compute.whenTerminated('boot-md');
    expect(end).toEqual({ status: 'TERMINATED', exitCode: 3, signal: null });
    expect((await h.get('boot-md')).status).toBe('TERMINATED');

    const out = h.compute.consoleOutput('boot-md');
    expect(out).toContain('id=test-123\n');
    expect(out).toContain('noheader=403\n');
    expect(out).toContain('missing=404\n');
    expect(out).toMatch(/flavor=metadata-flavor: Google\n/i);
    expect(out).toContain(`zone=projects/123456789012/zones/${ZONE}\n`);
    expect(out).toContain('name=boot-md\n');
    expect(out).toContain(`project=${PROJECT}\n`);
    const all = /all=(.*)\n/.exec(out)?.[1];
    expect(JSON.parse(all ?? 'null')).toEqual({
      'vmci-test-id': 'test-123',
      'vmci-token': 'tok',
      'startup-script': script,
    });
    expect(out).toMatch(/env=1 127\.0\.0\.1:(\d+) http:\/\/127\.0\.0\.1:\1\/computeMetadata\/v1\n/);
    expect(out).toContain('vmci-local: startup-script exited with code 3');

    // The same through getSerialPortOutput, paged by byte offset.
    const [serial] = await h.instances.getSerialPortOutput({
      project: PROJECT,
      zone: ZONE,
      instance: 'boot-md',
      port: 1,
    });
    expect(serial.contents).toBe(out);
    expect(Number(serial.next)).toBe(Buffer.byteLength(out));
    const [rest] = await h.instances.getSerialPortOutput({
      project: PROJECT,
      zone: ZONE,
      instance: 'boot-md',
      start: Number(serial.next) - 7,
    });
    expect(rest.contents).toBe(out.slice(-7));
  });

  it('passes extra env to VM processes', async () => {
    const env = await startCompute({ operationDelayMs: 10, env: { EXTRA_VAR: 'hello' } });
    try {
      await env.create({
        name: 'env-vm',
        metadata: metadata({ 'startup-script': 'echo "extra=$EXTRA_VAR"' }),
      });
      await env.compute.whenTerminated('env-vm');
      expect(env.compute.consoleOutput('env-vm')).toContain('extra=hello\n');
    } finally {
      await env.close();
    }
  });

  it('deleting a running VM kills its whole process group', async () => {
    await h.create({
      name: 'sleeper',
      metadata: metadata({ 'startup-script': 'sleep 300 &\necho "child=$!"\nwait' }),
    });
    await eventually(() => /child=\d+/.test(h.compute.consoleOutput('sleeper')));
    const pid = h.compute.instances().find((i) => i.name === 'sleeper')?.pid;
    const child = Number(/child=(\d+)/.exec(h.compute.consoleOutput('sleeper'))?.[1]);
    expect(pid).toEqual(expect.any(Number));
    expect(isProcessRunning(pid!)).toBe(true);
    expect(isProcessRunning(child)).toBe(true);

    const [del] = await h.instances.delete({ project: PROJECT, zone: ZONE, instance: 'sleeper' });
    const done = await h.waitDone(del.latestResponse as Operation);
    expect(done.status).toBe('DONE');
    expect(isProcessRunning(pid!)).toBe(false);
    expect(isProcessRunning(child)).toBe(false);
    expect(await h.compute.whenTerminated('sleeper')).toMatchObject({ status: 'DELETED' });
    expect((await thrown(h.get('sleeper'))).code).toBe(5);
  });

  it('honours maxRunDuration: DELETE deletes the VM, STOP powers it off', async () => {
    const scaled = await startCompute({ timeScale: 0.2, killGraceMs: 500 });
    try {
      const scheduling = (action: string) => ({
        // 2 s at timeScale 0.2: long enough that both VMs are seen running first on a
        // loaded machine (at 200 ms the first could be gone before the second booted).
        maxRunDuration: { seconds: 10 },
        instanceTerminationAction: action,
      });
      const sleeper = metadata({ 'startup-script': 'sleep 300' });
      await scaled.create({
        name: 'short-lived',
        scheduling: scheduling('DELETE'),
        metadata: sleeper,
      });
      await scaled.create({
        name: 'short-stop',
        scheduling: scheduling('STOP'),
        metadata: sleeper,
      });
      await eventually(() => scaled.compute.instances().every((i) => typeof i.pid === 'number'));
      const running = scaled.compute.instances().map((i) => i.pid as number);
      expect(running).toHaveLength(2);
      expect(running.every(isProcessRunning)).toBe(true);

      expect(await scaled.compute.whenTerminated('short-lived')).toMatchObject({
        status: 'DELETED',
        signal: 'SIGTERM',
      });
      expect((await thrown(scaled.get('short-lived'))).code).toBe(5);
      expect(await scaled.compute.whenTerminated('short-stop')).toMatchObject({
        status: 'TERMINATED',
        signal: 'SIGTERM',
      });
      expect((await scaled.get('short-stop')).status).toBe('TERMINATED');
      expect(running.filter(isProcessRunning)).toEqual([]);
    } finally {
      await scaled.close();
    }
  });

  it('close() leaves no VM process behind', async () => {
    const other = await startCompute({ operationDelayMs: 10, killGraceMs: 500 });
    const script = 'trap "" TERM\nsleep 300 &\necho "child=$!"\nwait';
    await other.create({ name: 'stubborn', metadata: metadata({ 'startup-script': script }) });
    await other.create({ name: 'plain', metadata: metadata({ 'startup-script': 'sleep 300' }) });
    await eventually(
      () =>
        /child=\d+/.test(other.compute.consoleOutput('stubborn')) &&
        other.compute.instances().every((i) => i.pid !== null),
    );
    const pids = [
      ...other.compute.instances().map((i) => i.pid!),
      Number(/child=(\d+)/.exec(other.compute.consoleOutput('stubborn'))?.[1]),
    ];
    expect(pids.every(isProcessRunning)).toBe(true);
    await other.close();
    expect(pids.filter(isProcessRunning)).toEqual([]);
    expect(other.compute.instances()).toEqual([]);
  });
});
