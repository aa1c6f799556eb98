// A fake gcloud for the deploy tests: records every call (argv, stdin) as a
// JSON line in $FAKE_GCLOUD_LOG, answers describe/list from the JSON state in
// $FAKE_GCLOUD_STATE, and changing commands update that state. A state entry
// in `failures` ({match, stderr, times}) makes matching calls fail instead.
// Calls may run at once (vmci doctor reads in parallel): each call holds a lock
// from reading the state to its exit, and writes the state whole (a rename),
// so no call reads a half-written file or undoes another's change.
const {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  writeFileSync,
} = require('node:fs');

const statePath = process.env.FAKE_GCLOUD_STATE;
if (statePath) lockState(`${statePath}.lock`);
const logPath = process.env.FAKE_GCLOUD_LOG;
const argv = process.argv.slice(2);
const words = argv.filter((a) => !a.startsWith('--'));
const flags = Object.fromEntries(
  argv
    .filter((a) => a.startsWith('--'))
    .map((a) => {
      const eq = a.indexOf('=');
      return eq < 0 ? [a.slice(2), true] : [a.slice(2, eq), a.slice(eq + 1)];
    }),
);
const stdin = flags['data-file'] === '-' ? readFileSync(0, 'utf8') : undefined;
if (logPath) appendFileSync(logPath, `${JSON.stringify({ args: argv, stdin })}\n`);

const state = JSON.parse(readFileSync(statePath, 'utf8'));
const save = () => {
  const tmp = `${statePath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, statePath);
};
const command = `gcloud.${words.slice(0, 3).join('.')}`;

function out(value) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  process.exit(0);
}
function done() {
  save();
  process.exit(0);
}
function fail(message, code = 1) {
  process.stderr.write(`ERROR: (${command}) ${message}\n`);
  process.exit(code);
}

const line = argv.join(' ');
const failure = (state.failures ?? []).find((f) => line.includes(f.match));
if (failure) {
  failure.times = (failure.times ?? 1) - 1;
  if (failure.times <= 0) state.failures = state.failures.filter((f) => f !== failure);
  save();
  process.stderr.write(failure.stderr.endsWith('\n') ? failure.stderr : `${failure.stderr}\n`);
  process.exit(1);
}

const project = flags.project;
state.policies ??= {};
state.secrets ??= {};
state.indexes ??= [];
state.fields ??= {};
state.run ??= {};
state.services ??= [];
state.accounts ??= [];
state.buckets ??= {};

function policy(key) {
  return { bindings: state.policies[key] ?? [], etag: 'BwY=', version: 1 };
}
function bind(key) {
  const bindings = (state.policies[key] ??= []);
  let entry = bindings.find((b) => b.role === flags.role);
  if (!entry) bindings.push((entry = { role: flags.role, members: [] }));
  if (!entry.members.includes(flags.member)) entry.members.push(flags.member);
  done();
}
function unbind(key) {
  const entry = (state.policies[key] ?? []).find(
    (b) => b.role === flags.role && b.members.includes(flags.member),
  );
  if (!entry || !entry.members.includes(flags.member)) {
    fail(`Policy binding with the specified principal, role, and condition not found!`);
  }
  entry.members = entry.members.filter((m) => m !== flags.member);
  state.policies[key] = state.policies[key].filter((b) => b.members.length > 0);
  done();
}
function iam(key, exists) {
  if (!exists) fail(`NOT_FOUND: Resource [${key}] not found.`);
  if (words.includes('get-iam-policy')) out(policy(key));
  if (words.includes('add-iam-policy-binding')) bind(key);
  if (words.includes('remove-iam-policy-binding')) unbind(key);
}

const [a, b, c, d, e] = words;
const field = () => `${flags['collection-group']}/${words[words.length - 1]}`;

if (a === 'projects' && b === 'describe') {
  if (c !== state.project) fail(`NOT_FOUND: Project [${c}] not found.`);
  out({ projectId: c, projectNumber: state.projectNumber, lifecycleState: 'ACTIVE' });
}
if (a === 'projects') iam('project', c === state.project);
if (a === 'services' && b === 'list') {
  out(
    state.services.map((s) => ({
      config: { name: s },
      name: `projects/${state.projectNumber}/services/${s}`,
      state: 'ENABLED',
    })),
  );
}
if (a === 'services' && b === 'enable') {
  for (const s of words.slice(2)) if (!state.services.includes(s)) state.services.push(s);
  done();
}
if (a === 'iam' && b === 'service-accounts') {
  if (c === 'list') out(state.accounts.map((email) => ({ email })));
  if (c === 'create') {
    const email = `${d}@${project}.iam.gserviceaccount.com`;
    if (state.accounts.includes(email))
      fail(`ALREADY_EXISTS: Service account ${email} already exists.`);
    state.accounts.push(email);
    done();
  }
  if (c === 'delete') {
    if (!state.accounts.includes(d)) fail(`NOT_FOUND: Service account ${d} does not exist.`);
    state.accounts = state.accounts.filter((email) => email !== d);
    delete state.policies[`sa:${d}`];
    done();
  }
  iam(`sa:${d}`, state.accounts.includes(d));
}
if (a === 'secrets') {
  if (b === 'versions' && c === 'list') {
    const secret = state.secrets[d];
    if (!secret)
      fail(
        `NOT_FOUND: Secret [projects/${state.projectNumber}/secrets/${d}] not found or has no versions.`,
      );
    out(
      secret.versions
        .filter((v) => v.state === 'ENABLED')
        .reverse()
        .map((v) => ({
          name: `projects/${state.projectNumber}/secrets/${d}/versions/${v.n}`,
          state: v.state,
        })),
    );
  }
  if (b === 'versions' && c === 'add') {
    const secret = state.secrets[d];
    if (!secret) fail(`NOT_FOUND: Secret [${d}] not found.`);
    secret.versions.push({ n: secret.versions.length + 1, state: 'ENABLED', value: stdin });
    done();
  }
  if (b === 'create') {
    if (state.secrets[c]) fail(`ALREADY_EXISTS: Secret [${c}] already exists.`);
    state.secrets[c] = { versions: [] };
    done();
  }
  if (b === 'delete') {
    if (!state.secrets[c]) fail(`NOT_FOUND: Secret [${c}] not found.`);
    delete state.secrets[c];
    delete state.policies[`secret:${c}`];
    done();
  }
  iam(`secret:${c}`, Boolean(state.secrets[c]));
}
if (a === 'firestore' && b === 'databases') {
  if (c === 'describe') {
    if (!state.database) fail('NOT_FOUND: The database (default) does not exist for project.');
    out({ name: `projects/${project}/databases/(default)`, ...state.database });
  }
  if (c === 'delete') {
    if (!state.database) fail('NOT_FOUND: The database (default) does not exist for project.');
    state.database = null;
    state.indexes = [];
    state.fields = {};
    done();
  }
  if (c === 'create') {
    if (state.database) fail('ALREADY_EXISTS: Database already exists.');
    state.database = { locationId: flags.location, type: 'FIRESTORE_NATIVE' };
    done();
  }
}
if (a === 'firestore' && b === 'indexes' && !state.database) {
  fail(`NOT_FOUND: Project '${project}' or database '(default)' does not exist.`);
}
if (a === 'firestore' && b === 'indexes' && c === 'composite') {
  if (d === 'list') out(state.indexes);
  if (d === 'create') {
    const configs = argv
      .filter((x) => x.startsWith('--field-config='))
      .map((x) =>
        Object.fromEntries(
          x
            .slice('--field-config='.length)
            .split(',')
            .map((kv) => kv.split('=')),
        ),
      );
    state.indexes.push({
      name: `projects/${project}/databases/(default)/collectionGroups/${flags['collection-group']}/indexes/i${state.indexes.length}`,
      queryScope: String(flags['query-scope']).toUpperCase(),
      fields: [
        ...configs.map((f) => ({ fieldPath: f['field-path'], order: f.order.toUpperCase() })),
        { fieldPath: '__name__', order: 'ASCENDING' },
      ],
      state: 'READY',
    });
    done();
  }
}
if (a === 'firestore' && b === 'indexes' && c === 'fields') {
  const f = (state.fields[field()] ??= {});
  if (d === 'describe') {
    out({
      name: `projects/${project}/databases/(default)/collectionGroups/${field().replace('/', '/fields/')}`,
      indexConfig: f.disabled
        ? { indexes: [] }
        : { usesAncestorConfig: true, indexes: [{ order: 'ASCENDING', queryScope: 'COLLECTION' }] },
      ...(f.ttl && { ttlConfig: { state: 'ACTIVE' } }),
    });
  }
  if (d === 'update' && flags['disable-indexes']) {
    f.disabled = true;
    done();
  }
}
if (a === 'firestore' && b === 'fields' && c === 'ttls' && d === 'update') {
  const f = (state.fields[field()] ??= {});
  f.ttl = Boolean(flags['enable-ttl']);
  done();
}
if (a === 'tasks' && b === 'queues') iam(`queue:${d}`, true);
if (a === 'run' && b === 'services') {
  const service = state.run[d];
  if (c === 'describe') {
    if (!service) fail(`Cannot find service [${d}]`);
    out({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: d, labels: service.labels },
    });
  }
  if (c === 'delete') {
    if (!service) fail(`Cannot find service [${d}]`);
    delete state.run[d];
    delete state.policies[`run:${d}`];
    done();
  }
  iam(`run:${d}`, Boolean(service));
}
if (a === 'run' && b === 'deploy') {
  const labels = Object.fromEntries(
    String(flags.labels ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  );
  state.run[c] = { labels, args: argv };
  // As gcloud does: --allow-unauthenticated binds allUsers as invoker, --no-… removes it if there.
  const invokers = (state.policies[`run:${c}`] ??= []);
  let entry = invokers.find((x) => x.role === 'roles/run.invoker');
  if (!entry) invokers.push((entry = { role: 'roles/run.invoker', members: [] }));
  entry.members = entry.members.filter((m) => m !== 'allUsers');
  if (flags['allow-unauthenticated']) entry.members.push('allUsers');
  state.policies[`run:${c}`] = invokers.filter((x) => x.members.length > 0);
  done();
}
// Cloud Storage: buckets by name, as gs://<name>; describe --raw prints the JSON API's bucket.
if (a === 'storage') {
  const url = b === 'buckets' ? d : words.find((w) => w.startsWith('gs://'));
  const name = String(url ?? '')
    .replace(/^gs:\/\//, '')
    .replace(/\/$/, '');
  const bucket = state.buckets[name];
  const missing = () => fail(`gs://${name} not found: 404.`);
  const lifecycle = () => {
    const text = readFileSync(flags['lifecycle-file'], 'utf8');
    const parsed = JSON.parse(text);
    const rules = (parsed.lifecycle ?? parsed).rule;
    if (!Array.isArray(rules) || !rules.every((r) => r.action && r.action.type && r.condition)) {
      fail(`Found invalid JSON/YAML for the lifecycle rule`);
    }
    return { rule: rules };
  };
  if (b === 'buckets' && c === 'describe') {
    if (!bucket) missing();
    if (flags.raw) {
      out({
        kind: 'storage#bucket',
        name,
        location: bucket.location.toUpperCase(),
        storageClass: 'STANDARD',
        iamConfiguration: {
          bucketPolicyOnly: { enabled: bucket.uniform },
          uniformBucketLevelAccess: { enabled: bucket.uniform },
          publicAccessPrevention: bucket.pap,
        },
        ...(bucket.versioning && { versioning: { enabled: true } }),
        ...(bucket.lifecycle && { lifecycle: bucket.lifecycle }),
      });
    }
    out({
      name,
      storage_url: `gs://${name}/`,
      location: bucket.location.toUpperCase(),
      uniform_bucket_level_access: bucket.uniform,
      public_access_prevention: bucket.pap,
      versioning_enabled: bucket.versioning,
      lifecycle_config: bucket.lifecycle,
    });
  }
  if (b === 'buckets' && c === 'create') {
    if (bucket) fail('HTTPError 409: The requested bucket name is not available.');
    state.buckets[name] = {
      location: flags.location ?? 'US',
      uniform: Boolean(flags['uniform-bucket-level-access']),
      pap: flags['public-access-prevention'] ? 'enforced' : 'inherited',
      versioning: false,
      ...(flags['lifecycle-file'] && { lifecycle: lifecycle() }),
    };
    // A new bucket's policy: the project's convenience members.
    state.policies[`bucket:${name}`] = [
      {
        role: 'roles/storage.legacyBucketOwner',
        members: [`projectEditor:${project}`, `projectOwner:${project}`],
      },
      { role: 'roles/storage.legacyBucketReader', members: [`projectViewer:${project}`] },
    ];
    done();
  }
  if (b === 'buckets' && c === 'update') {
    if (!bucket) missing();
    if (flags['uniform-bucket-level-access']) bucket.uniform = true;
    if (flags['public-access-prevention']) bucket.pap = 'enforced';
    if (flags['no-versioning']) bucket.versioning = false;
    if (flags['lifecycle-file']) bucket.lifecycle = lifecycle();
    done();
  }
  if (b === 'rm' && flags.recursive) {
    if (!bucket) missing();
    delete state.buckets[name];
    delete state.policies[`bucket:${name}`];
    done();
  }
  if (b === 'buckets') iam(`bucket:${name}`, Boolean(bucket));
}
if (a === 'compute') {
  state.compute ??= {};
  const verb = words.find((w) => ['create', 'describe', 'update', 'delete'].includes(w));
  const name = words[words.indexOf(verb) + 1];
  const collection = words.slice(1, words.indexOf(verb)).join('/');
  const key = [collection, flags.region, flags.router, name].filter(Boolean).join('/');
  const found = state.compute[key];
  if (verb === 'describe') {
    if (!found) fail(`Could not fetch resource:\n - The resource '${key}' was not found`);
    out(found);
  }
  if (verb === 'create') {
    if (found) fail(`Could not create resource: The resource '${key}' already exists`);
    const resource = { name };
    if (collection === 'networks/subnets') {
      Object.assign(resource, {
        ipCidrRange: flags.range,
        privateIpGoogleAccess: Boolean(flags['enable-private-ip-google-access']),
      });
    }
    if (collection === 'firewall-rules') {
      Object.assign(resource, {
        direction: flags.direction,
        priority: Number(flags.priority),
        denied: [{ IPProtocol: flags.rules }],
      });
      if (flags['source-ranges']) resource.sourceRanges = flags['source-ranges'].split(',');
      if (flags['destination-ranges'])
        resource.destinationRanges = flags['destination-ranges'].split(',');
    }
    state.compute[key] = resource;
    done();
  }
  if (verb === 'delete') {
    if (!found) fail(`The resource '${key}' was not found`);
    delete state.compute[key];
    done();
  }
  if (verb === 'update') {
    if (!found) fail(`The resource '${key}' was not found`);
    if (flags['enable-private-ip-google-access']) found.privateIpGoogleAccess = true;
    if (flags.rules) found.denied = [{ IPProtocol: flags.rules }];
    if (flags['source-ranges']) found.sourceRanges = flags['source-ranges'].split(',');
    if (flags['destination-ranges'])
      found.destinationRanges = flags['destination-ranges'].split(',');
    if (flags.priority) found.priority = Number(flags.priority);
    done();
  }
}
void e;
fail(`fake gcloud does not know: ${line}`, 2);

/** Takes the state's lock (a directory), waiting for another call's; given back at exit. */
function lockState(lock) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(lock);
      process.on('exit', () => rmdirSync(lock));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock older than 30 s belongs to a call that was killed.
      if (Date.now() - lockAge(lock) > 30_000) {
        try {
          rmdirSync(lock);
        } catch {
          // another call took it away first
        }
      }
      Atomics.wait(pause, 0, 0, 5);
    }
  }
}

function lockAge(lock) {
  try {
    return statSync(lock).mtimeMs;
  } catch {
    return Date.now();
  }
}
