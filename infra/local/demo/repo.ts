// The demo's repository: a local stand-in for Codertocat/Hello-World that the
// local VMs fetch from (config/vmci.local.yaml `cloneUrls`). Each run adds new
// commits on top, so their shas (and so the test ids) are new every time; the
// repository is kept, since a running `npm start` may still fetch older ones.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GREETING_FILE } from './build';

export type Suite = 'passing' | 'failing';

export interface DemoCommit {
  sha: string;
  /** The commit before it (what a push's `before` is). */
  parent: string;
  tree: string;
  message: string;
  suite: Suite;
}

function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // The demo's commits never pick up the developer's hooks, signing or editor.
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_EDITOR: 'true' },
  }).trim();
}

function hasCommit(dir: string): boolean {
  try {
    git(dir, ['rev-parse', '--verify', '-q', 'HEAD']);
    return true;
  } catch {
    return false;
  }
}

/** Creates the repository (branch main) if missing; keeps whatever is there. */
export function ensureRepo(dir: string): { created: boolean } {
  const created = !existsSync(join(dir, '.git'));
  if (created) {
    mkdirSync(dir, { recursive: true });
    git(dir, ['init', '-q', '-b', 'main']);
  }
  git(dir, ['config', 'user.name', 'vm-ci demo']);
  git(dir, ['config', 'user.email', 'demo@vmci.invalid']);
  git(dir, ['config', 'commit.gpgsign', 'false']);
  // VMs fetch one commit by its id.
  git(dir, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
  if (!hasCommit(dir)) {
    writeFileSync(join(dir, 'README.md'), 'Hello World! (the repository `npm run demo` tests)\n');
    git(dir, ['add', 'README.md']);
    git(dir, ['commit', '-q', '--no-verify', '-m', 'Initial commit']);
  }
  return { created };
}

/**
 * The suite at the top of the commit: three checks, the third fails in the
 * failing one. It shows what the build's artifact says when there is one, and
 * leaves its counts (summary.json) and a JUnit file naming each check.
 */
export function runTestsScript(suite: Suite): string {
  const third =
    suite === 'passing'
      ? 'check "six times seven is 42" test $((6 * 7)) -eq 42'
      : 'check "six times seven is 43" test $((6 * 7)) -eq 43';
  return `#!/bin/sh
# The demo's test suite; vm-ci runs it as \`sh run-tests.sh\` (config/vmci.local.yaml).
if [ -n "\${VMCI_ARTIFACT_DIR:-}" ]; then
  echo "artifact: $(cat "$VMCI_ARTIFACT_DIR/${GREETING_FILE}" 2>/dev/null || echo 'no ${GREETING_FILE}')"
fi
passed=0
failed=0
cases=''
xml() {
  printf '%s' "$1" | sed 's/&/\\&amp;/g; s/</\\&lt;/g; s/>/\\&gt;/g; s/"/\\&quot;/g'
}
check() {
  name=$1
  shift
  id=$(printf '%s' "$name" | tr ' ' '_')
  if "$@" >/dev/null 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
    cases="$cases
    <testcase classname=\\"demo\\" name=\\"$id\\"/>"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    cases="$cases
    <testcase classname=\\"demo\\" name=\\"$id\\"><failure message=\\"$(xml "$* is false")\\"/></testcase>"
  fi
}
check "README says hello" grep -q Hello README.md
check "two plus two is 4" test $((2 + 2)) -eq 4
${third}
if [ "$failed" -eq 0 ]; then summary="$passed passed"; else summary="$passed passed, $failed failed"; fi
echo "$passed passed, $failed failed"
if [ -n "\${VMCI_RESULTS_DIR:-}" ]; then
  mkdir -p "$VMCI_RESULTS_DIR"
  printf '{"passed":%d,"failed":%d,"summary":"%s"}\\n' "$passed" "$failed" "$summary" >"$VMCI_RESULTS_DIR/summary.json"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\\"demo\\" tests=\\"$((passed + failed))\\" failures=\\"$failed\\">$cases"
    echo '</testsuite>'
  } >"$VMCI_RESULTS_DIR/junit.xml"
fi
[ "$failed" -eq 0 ]
`;
}

/** Commits run-tests.sh with the suite on top of HEAD. */
export function addCommit(dir: string, suite: Suite): DemoCommit {
  const parent = git(dir, ['rev-parse', 'HEAD']);
  writeFileSync(join(dir, 'run-tests.sh'), runTestsScript(suite), { mode: 0o755 });
  git(dir, ['add', 'run-tests.sh']);
  const message =
    suite === 'passing'
      ? 'Demo: a suite that passes (3 checks)'
      : 'Demo: a suite that fails (1 of 3)';
  // --allow-empty: a run stopped between its two commits leaves the same file behind.
  git(dir, ['commit', '-q', '--no-verify', '--allow-empty', '-m', message]);
  return {
    sha: git(dir, ['rev-parse', 'HEAD']),
    parent,
    tree: git(dir, ['rev-parse', 'HEAD^{tree}']),
    message,
    suite,
  };
}
