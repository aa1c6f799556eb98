// The Windows startup script (infra/vm/windows/startup.ps1) cannot run here (no
// PowerShell on Linux), so these tests parse it with a real PowerShell grammar
// and check its structure against the VM contract (DESIGN section 6): it parses,
// the scripts it writes for the runner user parse, every command and variable
// it uses exists, and it reads, reports, isolates and keeps the token as the
// contract says.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isValidFileName } from '../../shared/files/port';
import { nodesOfType, parsePowerShell, syntaxProblems, type Node } from './powershell-parse';

/** VMCI_TEST_WINDOWS_SCRIPT checks another copy (an older one, to see these tests fail). */
const scriptPath =
  process.env.VMCI_TEST_WINDOWS_SCRIPT ??
  join(__dirname, '..', '..', 'infra', 'vm', 'windows', 'startup.ps1');
const source = readFileSync(scriptPath, 'utf8');

async function problemsIn(text: string): Promise<string[]> {
  return syntaxProblems(await parsePowerShell(text));
}

/** A command invocation: its name and its elements (parameters and arguments), as text. */
interface Invocation {
  name: string;
  elements: string[];
  node: Node;
}

function invocations(root: Node): Invocation[] {
  return nodesOfType(root, 'command').map((node) => {
    const name = node.childForFieldName('command_name')?.text ?? '';
    const elements = (node.childForFieldName('command_elements')?.namedChildren ?? [])
      .filter((n): n is Node => n !== null && n.type !== 'command_argument_sep')
      .map((n) => n.text);
    return { name, elements, node };
  });
}

/** The argument after PARAMETER (undefined when absent; '' for a switch). */
function argumentOf(call: Invocation, parameter: string): string | undefined {
  const i = call.elements.findIndex((e) => e.toLowerCase() === parameter.toLowerCase());
  if (i < 0) return undefined;
  const next = call.elements[i + 1];
  return next === undefined || next.startsWith('-') ? '' : next;
}

function callsTo(root: Node, name: string): Invocation[] {
  return invocations(root).filter((c) => c.name.toLowerCase() === name.toLowerCase());
}

function functionNamed(root: Node, name: string): Node {
  const found = nodesOfType(root, 'function_statement').find(
    (f) => f.namedChildren.find((c) => c?.type === 'function_name')?.text === name,
  );
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

/** A variable's name without `$`, braces or a scope (`script:`, ...); `env:X` stays. */
function variableName(text: string): string {
  let name = text.replace(/^\$/, '').replace(/^@/, '');
  if (name.startsWith('{') && name.endsWith('}')) name = name.slice(1, -1);
  return name.replace(/^(script|global|local|private|using):/i, '').toLowerCase();
}

/**
 * The text of a step script that Get-<name> returns: an expandable here-string in
 * which the only expansions are `$(ConvertTo-Literal $X)` (a quoted literal at run
 * time) and `$list` (a list of them); everything else is escaped with a backtick.
 * A verbatim here-string (@'...'@) that follows it is added to it as it is.
 */
function stepScript(root: Node, functionName: string): string {
  const fn = functionNamed(root, functionName);
  const strings = nodesOfType(fn, 'expandable_here_string_literal');
  expect(strings).toHaveLength(1);
  const raw = strings[0]!.text.replace(/^@"\r?\n/, '').replace(/\r?\n"@$/, '');
  const expanded = raw
    .replace(/\$\(ConvertTo-Literal \$(\w+)\)/g, (_, name: string) => `'<${name}>'`)
    .replace(/(?<!`)\$list\b/g, "'http://a/', 'http://b/'");
  // No other expansion at run time: a forgotten backtick would splice in a value.
  expect(expanded.match(/(?<!`)\$[\w({]/g) ?? []).toEqual([]);
  // `$ is the only escape used: others (`n, `t...) would mean something else here.
  expect(expanded.match(/`[^$]/g) ?? []).toEqual([]);
  const verbatim = nodesOfType(fn, 'verbatim_here_string_characters');
  for (const v of verbatim) expect(v.startIndex).toBeGreaterThan(strings[0]!.startIndex);
  const verbatimText = (nodes: Node[]) =>
    nodes.map((v) => v.text.replace(/^@'\r?\n/, '').replace(/\r?\n'@$/, '')).join('');
  // The helpers the reading steps share go between the two, as the script joins them.
  const helpers = codeOf(fn).includes('(Get-RunnerStepHelpers)')
    ? verbatimText(
        nodesOfType(
          functionNamed(root, 'Get-RunnerStepHelpers'),
          'verbatim_here_string_characters',
        ),
      ) + '\n'
    : '';
  return expanded.replace(/`\$/g, '$') + helpers + verbatimText(verbatim);
}

/** NODE's text with its here-strings (the step scripts) blanked out. */
function codeOf(node: Node): string {
  let text = node.text;
  const strings = [
    ...nodesOfType(node, 'expandable_here_string_literal'),
    ...nodesOfType(node, 'verbatim_here_string_characters'),
  ].sort((a, b) => b.startIndex - a.startIndex);
  for (const n of strings) {
    const from = n.startIndex - node.startIndex;
    text = text.slice(0, from) + '@""@' + text.slice(from + (n.endIndex - n.startIndex));
  }
  return text;
}

/**
 * The variables that ROOT reads but never sets: not assigned, not a parameter,
 * not a foreach variable, not automatic, not $env:. Here-strings are left out:
 * they are the step scripts, checked on their own.
 */
function unsetVariables(root: Node): string[] {
  const assigned = new Set(['_', 'true', 'false', 'null', 'lastexitcode', 'matches']);
  for (const n of nodesOfType(root, 'left_assignment_expression')) {
    for (const v of nodesOfType(n, 'variable')) assigned.add(variableName(v.text));
  }
  for (const n of [
    ...nodesOfType(root, 'script_parameter'),
    ...nodesOfType(root, 'foreach_statement'),
  ]) {
    const v = n.namedChildren.find((c) => c?.type === 'variable');
    if (v) assigned.add(variableName(v.text));
  }
  const inHereString = (v: Node): boolean => {
    for (let p = v.parent; p; p = p.parent)
      if (p.type === 'expandable_here_string_literal') return true;
    return false;
  };
  const unset = nodesOfType(root, 'variable')
    .filter((v) => !inHereString(v))
    .map((v) => variableName(v.text))
    .filter((name) => !name.startsWith('env:') && !assigned.has(name));
  return [...new Set(unset)];
}

// The Windows PowerShell 5.1 commands the script may call (besides its own
// functions): a misspelt name would only fail on the VM.
const builtIns = new Set(
  [
    'Add-Type',
    'ConvertFrom-Json',
    'ConvertTo-Json',
    'ConvertTo-SecureString',
    'Enable-LocalUser',
    'ForEach-Object',
    'Get-ChildItem',
    'Get-Command',
    'Get-FileHash',
    'Get-Item',
    'Get-LocalUser',
    'Get-Location',
    'Get-NetFirewallRule',
    'Get-Process',
    'Get-ScheduledTask',
    'Get-ScheduledTaskInfo',
    'Invoke-WebRequest',
    'Join-Path',
    'New-Item',
    'New-LocalUser',
    'New-NetFirewallRule',
    'New-Object',
    'New-ScheduledTaskAction',
    'New-ScheduledTaskSettingsSet',
    'Out-Null',
    'Register-ScheduledTask',
    'Remove-Item',
    'Remove-NetFirewallRule',
    'Select-Object',
    'Set-LocalUser',
    'Set-NetFirewallProfile',
    'Set-StrictMode',
    'Start-ScheduledTask',
    'Start-Sleep',
    'Stop-Computer',
    'Stop-Process',
    'Stop-ScheduledTask',
    'Test-Path',
    'Unregister-ScheduledTask',
    'Where-Object',
    'Write-Host',
    'shutdown.exe',
  ].map((n) => n.toLowerCase()),
);

function unknownCommands(root: Node): string[] {
  const defined = new Set(nodesOfType(root, 'function_name').map((n) => n.text.toLowerCase()));
  return nodesOfType(root, 'command_name')
    .map((n) => n.text)
    .filter((n) => !defined.has(n.toLowerCase()) && !builtIns.has(n.toLowerCase()));
}

// Broken copies of the script, each of which the parser must reject.
const breakages: [string, (s: string) => string][] = [
  [
    'an unclosed brace (the end of Send-Report removed)',
    (s) => s.replace(/\n}\n\n# --- the end/, '\n\n# --- the end'),
  ],
  ['an unclosed double-quoted string', (s) => s.replace('"reported $Stage"', '"reported $Stage')],
  [
    'an unclosed single-quoted string',
    (s) => s.replace('Stop-Vm 0\n}', "Stop-Vm 0\n    Write-Log 'oops\n}"),
  ],
  [
    'an unclosed parenthesis',
    (s) => s.replace('if ($status -eq 409) {', 'if (($status -eq 409) {'),
  ],
  [
    // The last one: an earlier one would run on to the next terminator, in PowerShell too.
    'a here-string without its terminator',
    (s) => s.replace(/\nexit 0\n"@\n}\n\n# --- the result/, '\nexit 0\n}\n\n# --- the result'),
  ],
  ['a stray closing brace', (s) => s.replace('function Set-Done {', 'function Set-Done { }}')],
  [
    'a hash entry without its value',
    (s) => s.replace('@{ testId = $TestId; stage = $Stage }', '@{ testId = $TestId; stage = }'),
  ],
  ['a foreach without `in`', (s) => s.replace('foreach ($dir in @(', 'foreach ($dir @(')],
  ['an unclosed method call', (s) => s.replace('$rng.GetBytes($bytes)', '$rng.GetBytes($bytes')],
];

describe('infra/vm/windows/startup.ps1', () => {
  let root: Node;
  beforeAll(async () => {
    root = (await parsePowerShell(source)).rootNode;
  });

  describe('syntax (tree-sitter-powershell)', () => {
    it('parses without an error or a missing token', async () => {
      expect(await problemsIn(source)).toEqual([]);
    });

    it.each(breakages)('rejects a copy with %s', async (_, breakIt) => {
      const broken = breakIt(source);
      expect(broken).not.toBe(source); // the breakage applied
      expect((await problemsIn(broken)).length).toBeGreaterThan(0);
    });

    it.each([
      ['Get-StepPreamble'],
      ['Get-IsolationCheckBody'],
      ['Get-FetchBody'],
      ['Get-CheckoutBody'],
      ['Get-UnpackBody'],
      ['Get-TestBody'],
      ['Get-ResultsBody'],
      ['Get-FilesBody'],
    ])('writes a step script that parses: %s', async (name) => {
      const step = stepScript(root, name);
      expect(step.length).toBeGreaterThan(50);
      expect(await problemsIn(step)).toEqual([]);
      const stepRoot = (await parsePowerShell(step)).rootNode;
      expect(unsetVariables(stepRoot)).toEqual([]);
      // Programs run with & (git), Windows PowerShell 5.1's commands, its own functions.
      const stepCommands = [
        ...builtIns,
        'expand-archive',
        'out-string',
        'set-location',
        'write-output',
      ];
      const defined = nodesOfType(stepRoot, 'function_name').map((n) => n.text.toLowerCase());
      expect(
        nodesOfType(stepRoot, 'command_name')
          .map((n) => n.text)
          .filter((n) => !n.startsWith('$'))
          .filter((n) => ![...stepCommands, ...defined].includes(n.toLowerCase())),
      ).toEqual([]);
      // ... and the same check does fail on a broken step script.
      expect((await problemsIn(`if ($true) {\n${step}`)).length).toBeGreaterThan(0);
    });

    it('is ASCII only (5.1 reads a file without a byte-order mark as ANSI)', () => {
      expect([...source].filter((c) => c.charCodeAt(0) > 0x7f)).toEqual([]);
    });

    it('calls only its own functions and commands that Windows PowerShell 5.1 has', async () => {
      expect(unknownCommands(root)).toEqual([]);
      // ... and the check does see a misspelt one.
      const typo = source.replace(
        'Unregister-ScheduledTask -TaskName',
        'Unregister-ScheduledTasks -TaskName',
      );
      expect(unknownCommands((await parsePowerShell(typo)).rootNode)).toEqual([
        'Unregister-ScheduledTasks',
      ]);
    });

    it('reads no variable that it never sets (a typo would read $null)', async () => {
      expect(unsetVariables(root)).toEqual([]);
      // ... and the check does see one.
      const typo = source.replace(
        '-TimeoutSec $ReportTimeoutSeconds',
        '-TimeoutSec $ReportTimeoutSecond',
      );
      expect(unsetVariables((await parsePowerShell(typo)).rootNode)).toEqual([
        'reporttimeoutsecond',
      ]);
    });

    it('puts no "$name:" in a string (PowerShell reads it as a scope or a drive)', () => {
      const strings = nodesOfType(root, 'expandable_string_literal').map((n) => n.text);
      const scoped = strings.filter((s) => /(?<!`)\$(?!env:|script:|global:)\w+:/i.test(s));
      expect(scoped).toEqual([]);
    });
  });

  describe('the VM contract', () => {
    it('reads every metadata key from the metadata server, with Metadata-Flavor: Google', () => {
      const keys = callsTo(root, 'Get-Attribute').map((c) => c.elements[0]);
      expect(new Set(keys)).toEqual(
        new Set(
          [
            'vmci-test-id',
            'vmci-callback-url',
            'vmci-token',
            'vmci-repo',
            'vmci-sha',
            'vmci-platform',
            'vmci-clone-url',
            'vmci-test-command',
            'vmci-github-token',
            'vmci-artifact-url',
            'vmci-artifact-name',
          ].map((k) => `'${k}'`),
        ),
      );
      // The optional keys: absent (404) is '', a server that does not answer fails the test.
      const optional = callsTo(root, 'Get-Attribute').filter((c) =>
        c.elements.includes('-Optional'),
      );
      expect(optional.map((c) => c.elements[0])).toEqual([
        "'vmci-github-token'",
        "'vmci-artifact-url'",
        "'vmci-artifact-name'",
      ]);
      for (const key of ['vmci-github-token', 'vmci-artifact-url', 'vmci-artifact-name']) {
        expect(source).toContain(`-Optional)`);
        expect(source).toMatch(
          new RegExp(`Get-Attribute '${key}' -Optional.*\\} catch \\{ \\$Unread \\+= '${key}' \\}`),
        );
      }
      expect(functionNamed(root, 'Get-Attribute').text).toContain(
        'if ($Optional) { throw "the metadata server did not answer for $Key" }',
      );
      const main = source.slice(source.indexOf("Send-Report 'preparation'"));
      expect(main).toContain(
        "if ($Unread.Count -gt 0) { Stop-WithFailure ('Could not read the VM metadata: ' + ($Unread -join ' ')) }",
      );
      expect(main).toContain("if ($ArtifactUrl -and $ArtifactUrl -notmatch '^https?://') {");
      const getAttribute = functionNamed(root, 'Get-Attribute').text;
      expect(getAttribute).toContain('"$MetadataUrl/instance/attributes/$Key"');
      expect(getAttribute).toContain("@{ 'Metadata-Flavor' = 'Google' }");
      expect(source).toContain("Get-EnvValue 'VMCI_METADATA_URL'");
      expect(source).toContain("'http://metadata.google.internal/computeMetadata/v1'");
    });

    it('powers off, reporting nothing, when the test id, callback URL or token is missing', () => {
      const check = source.indexOf('if (-not $TestId -or -not $CallbackUrl -or -not $Token) {');
      expect(check).toBeGreaterThan(0);
      const block = source.slice(check, source.indexOf('}', check));
      expect(block).toContain('Stop-Vm 1');
      expect(block).not.toContain('Send-Report');
      // ... and that check comes before the first report.
      expect(check).toBeLessThan(source.indexOf("Send-Report 'preparation'"));
    });

    it('reports each stage, in the contract order', () => {
      const stages = callsTo(root, 'Send-Report').map((c) => c.elements[0]);
      expect(new Set(stages)).toEqual(
        new Set(["'preparation'", "'testing'", "'completed'", "'failed'"]),
      );
      const at = (s: string): number =>
        source.indexOf(`Send-Report '${s}'`, source.indexOf('# 1.'));
      expect(at('preparation')).toBeLessThan(at('testing'));
      expect(at('testing')).toBeLessThan(at('completed'));
      const fetch = source.indexOf('{ Invoke-Fetch }');
      expect(at('preparation')).toBeLessThan(fetch);
      expect(fetch).toBeLessThan(at('testing'));
      expect(at('testing')).toBeLessThan(source.indexOf("Invoke-AsRunner 'test'"));
    });

    it('posts the contract bodies: testId, stage, message or result', async () => {
      const send = functionNamed(root, 'Send-Report').text;
      expect(send).toContain('[ordered]@{ testId = $TestId; stage = $Stage }');
      expect(send).toContain("$body['message'] = Get-OneLine $Message $MessageMaxChars");
      expect(send).toContain("$body['result'] = $Result");
      expect(send).toContain('ConvertTo-Json -InputObject $body -Depth 5 -Compress');
      expect(source).toContain('$MessageMaxChars = 300');
      const result = functionNamed(root, 'Get-TestResult').text;
      expect(result).toContain(
        '[ordered]@{ exitCode = $ExitCode; passed = $passed; failed = $failed; summary = $summary }',
      );
      expect(result).toContain('"$passed passed, $failed failed"');
      expect(result).toContain('"exit code $ExitCode"');
      expect(source).toContain('$SummaryMaxChars = 1000');
      // The runner's step reads summary.json, else the JUnit XML files (see 'reading the results').
      const reader = (await parsePowerShell(stepScript(root, 'Get-ResultsBody'))).rootNode;
      expect(reader.text).toContain("Join-Path $resultsDir 'summary.json'");
      expect(reader.text).toContain('$summaryMaxChars = 1000');
      expect(functionNamed(reader, 'Get-XmlFiles').text).toContain("$item.Name -like '*.xml'");
      expect(functionNamed(reader, 'Get-JUnitCounts').text).toContain('Get-XmlFiles $Dir 0');
      const junit = functionNamed(reader, 'Get-JUnitDocumentCounts').text;
      expect(junit).toContain(
        'Passed = [long][Math]::Max(0, $tests - $failures - $errors - $skipped); Failed = [long]($failures + $errors)',
      );
    });

    it('sends the Bearer token and JSON with a time-out on each try', () => {
      const [post] = callsTo(functionNamed(root, 'Send-Report'), 'Invoke-WebRequest');
      expect(post).toBeDefined();
      expect(argumentOf(post!, '-Uri')).toBe('$CallbackUrl');
      expect(argumentOf(post!, '-Method')).toBe('Post');
      expect(argumentOf(post!, '-Headers')).toBe('$headers');
      expect(argumentOf(post!, '-ContentType')).toBe("'application/json'");
      expect(argumentOf(post!, '-TimeoutSec')).toBe('$ReportTimeoutSeconds');
      expect(functionNamed(root, 'Send-Report').text).toContain(
        '$headers = @{ Authorization = "Bearer $Token" }',
      );
      expect(source).toContain('$ReportTimeoutSeconds = 30');
    });

    it('retries 429, 5xx and no answer with capped doubling back-off; stops on 409 and refusals', () => {
      const send = functionNamed(root, 'Send-Report').text;
      expect(send).toContain(
        '$retry = $status -eq 0 -or $status -eq 408 -or $status -eq 429 -or $status -ge 500',
      );
      // Each answer's branch: its condition, its log line, what it returns.
      const branch = (condition: string): string[] => {
        const lines = send.split('\n').map((l) => l.trim());
        const i = lines.indexOf(condition);
        expect(i).toBeGreaterThan(0);
        return lines.slice(i, i + 4);
      };
      expect(branch('if ($status -ge 200 -and $status -lt 300) {')[2]).toBe("return 'delivered'");
      expect(branch('if ($status -eq 409) {')[2]).toBe("return 'stop'");
      expect(branch('if (-not $retry) {')[2]).toBe("return 'stop'");
      expect(branch('if ($attempt -ge $ReportAttempts) {')[2]).toBe("return 'undelivered'");
      expect(send).toContain('$delay = [Math]::Min($delay * 2, $ReportMaxDelaySeconds)');
      expect(source).toContain('$ReportMaxDelaySeconds = 60');
      expect(source).toContain("Get-EnvNumber 'VMCI_REPORT_ATTEMPTS' 8 1");
      expect(source).toContain("Get-EnvNumber 'VMCI_REPORT_DELAY_SECONDS' 2 0");
      // A stop after preparation or testing powers off; so does the end of the final report.
      expect(source).toContain("Stop-UnlessWanted (Send-Report 'preparation' '' $null)");
      expect(source).toContain("Stop-UnlessWanted (Send-Report 'testing' '' $null)");
      expect(functionNamed(root, 'Stop-UnlessWanted').text).toContain('Stop-Vm 0');
    });

    it('runs git and the tests as vmci-runner, a new non-admin user, via a scheduled task', () => {
      expect(source).toContain("$RunnerName = 'vmci-runner'");
      const [create] = callsTo(root, 'New-LocalUser');
      expect(argumentOf(create!, '-Name')).toBe('$RunnerName');
      expect(source).not.toMatch(/Add-LocalGroupMember|localgroup/i);
      const [register] = callsTo(root, 'Register-ScheduledTask');
      expect(argumentOf(register!, '-User')).toBe('"$env:COMPUTERNAME\\$RunnerName"');
      expect(argumentOf(register!, '-RunLevel')).toBe('Limited');
      expect(callsTo(root, 'Start-Process')).toEqual([]); // -Credential fails as SYSTEM
      const invoked = callsTo(root, 'Invoke-AsRunner').map((c) => c.elements[0]);
      // In source order: Invoke-Fetch, Get-TestResult, Get-Artifact and Invoke-FilesStep
      // are defined above the main part.
      expect(invoked).toEqual([
        "'fetch'",
        "'results'",
        "'unpack'",
        "'files'",
        "'isolation'",
        "'checkout'",
        "'test'",
      ]);
      expect(source.indexOf("Invoke-AsRunner 'test'")).toBeLessThan(
        source.indexOf('$Result = Get-TestResult $ExitCode'),
      );
    });

    it('blocks the runner from the metadata server and checks it as the runner', () => {
      const [rule] = callsTo(root, 'New-NetFirewallRule');
      expect(argumentOf(rule!, '-Direction')).toBe('Outbound');
      expect(argumentOf(rule!, '-Action')).toBe('Block');
      expect(argumentOf(rule!, '-RemoteAddress')).toBe('$MetadataAddresses');
      expect(argumentOf(rule!, '-LocalUser')).toBe('"D:(A;;CC;;;$Sid)"');
      expect(source).toContain("$MetadataAddresses = @('169.254.169.254', 'fd20:ce::254')");
      const check = stepScript(root, 'Get-IsolationCheckBody');
      expect(check).toContain("-Headers @{ 'Metadata-Flavor' = 'Google' }");
      expect(check).toContain('-ErrorAction Stop');
      expect(functionNamed(root, 'Get-IsolationCheckBody').text).toContain(
        "'http://169.254.169.254/computeMetadata/v1/instance/id'",
      );
    });

    it('fetches exactly the commit as the contract says, and checks HEAD', () => {
      // The fetch, then the checkout in a step of its own.
      const fetch = stepScript(root, 'Get-FetchBody') + stepScript(root, 'Get-CheckoutBody');
      const gitFetch =
        '& $git -c gc.auto=0 -c maintenance.auto=false -c credential.helper= fetch --no-recurse-submodules -q';
      const order = [
        '& $git init -q .',
        "& $git remote add origin '<CloneUrl>'",
        `${gitFetch} --depth 1 origin $sha\nif ($LASTEXITCODE -ne 0) {`,
        `${gitFetch} origin\n`,
        '& $git -c advice.detachedHead=false checkout -q --detach $sha',
        '& $git rev-parse HEAD',
        'if ($head -ne $sha) {',
      ];
      let at = -1;
      for (const step of order) {
        const next = fetch.indexOf(step, at + 1);
        expect({ step, found: next > at }).toEqual({ step, found: true });
        at = next;
      }
      expect(source).toContain('Stop-WithFailure "Could not fetch commit $Sha7"');
      expect(source).toContain('$Sha7 = $Sha.Substring(0, 7)');
      // Both steps run, in that order, before `testing`.
      const main = source.slice(source.indexOf('# 4. The commit'));
      expect(main.indexOf('{ Invoke-Fetch }')).toBeGreaterThan(0);
      expect(main.indexOf('{ Invoke-Fetch }')).toBeLessThan(
        main.indexOf("{ Invoke-AsRunner 'checkout' (Get-CheckoutBody) }"),
      );
      expect(main.indexOf("{ Invoke-AsRunner 'checkout' (Get-CheckoutBody) }")).toBeLessThan(
        main.indexOf("Send-Report 'testing'"),
      );
    });

    it('gives the tests an empty results directory outside the checkout, and their exit code', () => {
      expect(stepScript(root, 'Get-StepPreamble')).toContain(
        "$env:VMCI_RESULTS_DIR = '<ResultsDir>'",
      );
      expect(source).toContain("$WorkDir = Join-Path $RunnerDir 'work'");
      expect(source).toContain("$ResultsDir = Join-Path $RunnerDir 'results'");
      const test = stepScript(root, 'Get-TestBody');
      expect(test).toContain('Remove-Item -LiteralPath $results -Recurse -Force');
      expect(test).toContain("Set-Location -LiteralPath '<WorkDir>'");
      expect(test).toContain('. ([scriptblock]::Create($vmciCommand))');
      expect(test).toContain('exit $LASTEXITCODE');
    });

    it('keeps the token out of the output, the files and the runner', () => {
      const uses = nodesOfType(root, 'variable')
        .filter((v) => variableName(v.text) === 'token')
        .map((v) => source.split('\n')[v.startPosition.row]!.trim());
      expect(uses.sort()).toEqual(
        [
          "$Token = ([string](Get-Attribute 'vmci-token')).Trim()",
          'if (-not $TestId -or -not $CallbackUrl -or -not $Token) {',
          '$headers = @{ Authorization = "Bearer $Token" }',
          '$headers = @{ Authorization = "Bearer $Token" }',
          '$Secrets = @($Token, $GitHubToken, (Get-GitHubBasic))',
        ].sort(),
      );
      // Each header table is used once, as its request's headers (Send-Report, Send-File).
      for (const fn of ['Send-Report', 'Send-File']) {
        const headerUses = nodesOfType(functionNamed(root, fn), 'variable').filter(
          (v) => variableName(v.text) === 'headers',
        );
        expect(headerUses).toHaveLength(2);
      }
      expect(
        nodesOfType(root, 'variable').filter((v) => variableName(v.text) === 'headers'),
      ).toHaveLength(4);
      const writers = invocations(root).filter((c) =>
        /^(write-(host|output|log|verbose|warning|error|information|debug)|add-logline|out-\w+|set-content|add-content)$/i.test(
          c.name,
        ),
      );
      expect(writers.length).toBeGreaterThan(10);
      for (const w of writers) {
        expect(w.node.text).not.toMatch(
          /\$(token|githubtoken|secrets?|headers|body|json|bytes)\b/i,
        );
        expect(w.node.text).not.toMatch(/Get-GitHubBasic/i);
      }
      // Nothing in what the runner runs mentions it.
      for (const step of [
        'Get-StepPreamble',
        'Get-IsolationCheckBody',
        'Get-FetchBody',
        'Get-CheckoutBody',
        'Get-UnpackBody',
        'Get-TestBody',
        'Get-ResultsBody',
        'Get-FilesBody',
      ]) {
        expect(functionNamed(root, step).text).not.toMatch(/token|authorization|secret|\bbasic\b/i);
      }
      expect(source).not.toMatch(/Start-Transcript|Set-PSDebug/);
    });

    it("keeps the runner's password to the calls that need it", () => {
      const uses = nodesOfType(root, 'variable')
        .filter((v) => variableName(v.text) === 'runnerpassword')
        .map((v) => source.split('\n')[v.startPosition.row]!.trim());
      expect(uses.sort()).toEqual(
        [
          '$RunnerPassword = $null',
          '$RunnerPassword = New-RunnerPassword',
          '$sid = New-Runner $RunnerPassword',
          'Register-ScheduledTask -TaskName $taskName -TaskPath \'\\vmci\\\' -Action $action -Settings $settings -User "$env:COMPUTERNAME\\$RunnerName" -Password $RunnerPassword -RunLevel Limited -Force | Out-Null',
        ].sort(),
      );
    });

    it('powers off with Stop-Computer -Force, and skips only the VM-wide steps locally', () => {
      const stopVm = functionNamed(root, 'Stop-Vm').text;
      expect(stopVm).toContain('Stop-Computer -Force');
      expect(stopVm.indexOf('if ($Local) {')).toBeLessThan(stopVm.indexOf('Stop-Computer'));
      expect(source).toContain("$Local = (Get-EnvValue 'VMCI_LOCAL') -eq '1'");
      const main = source.slice(source.indexOf('# 3. Prepare, as SYSTEM.'));
      const local = main.indexOf('if ($Local) {');
      const orElse = main.indexOf('} else {', local);
      const prepared = main.slice(orElse, main.indexOf('# 4.'));
      for (const step of ['New-Runner', 'Grant-BatchLogonRight', 'Block-RunnerFromMetadata']) {
        expect(prepared).toContain(step);
      }
      expect(functionNamed(root, 'Install-Git').text).toContain(
        "if ($Local) { throw 'git is not installed' }",
      );
    });

    it('reports any failure after preparation as `failed` with a short reason', () => {
      expect(source).toContain("$ErrorActionPreference = 'Stop'");
      expect(source).toContain("Stop-WithFailure 'The VM startup script stopped unexpectedly'");
      const reasons = callsTo(root, 'Invoke-Stage').map((c) => c.elements[0]);
      expect(reasons).toEqual([
        "'Could not install the packages the test needs'",
        "'Could not create the test user'",
        "'Could not cut the test user off from the metadata server'",
        "'Could not run commands as the test user'",
        '"Could not fetch commit $Sha7"',
        '"Could not fetch commit $Sha7"',
        '$artifactFailure',
      ]);
    });

    it('reads the results as the runner: SYSTEM opens no file in the results directory', () => {
      // Outside the step scripts, $ResultsDir is only set (the steps get it as a literal).
      const uses = nodesOfType(root, 'variable')
        .filter((v) => variableName(v.text) === 'resultsdir')
        .map((v) => source.split('\n')[v.startPosition.row]!.trim())
        .filter((line) => !line.includes('ConvertTo-Literal $ResultsDir'));
      expect(uses).toEqual(["$ResultsDir = Join-Path $RunnerDir 'results'"]);
      // The files SYSTEM opens: the step logs, secedit's export, the results step's answer,
      // the log (its own), the result files' stream, the artifact's download (in Private).
      const opening = nodesOfType(root, 'function_statement')
        .filter((f) =>
          /FileStream\(|\[System\.IO\.File\]::(Read|Open)|XmlReader|Get-Content|ConvertFrom-Json/i.test(
            codeOf(f),
          ),
        )
        .map((f) => f.namedChildren.find((c) => c?.type === 'function_name')?.text);
      expect(opening.sort()).toEqual(
        [
          'Get-LogUpload',
          'Grant-BatchLogonRight',
          'Invoke-AsRunner',
          'Read-ResultsAnswer',
          'Save-Download',
          'Send-ResultFiles',
          'Start-Log',
        ].sort(),
      );
      const opened = (fn: string): string[] =>
        [...codeOf(functionNamed(root, fn)).matchAll(/FileStream\((\$\w+),/g)].map((m) => m[1]!);
      expect(opened('Get-LogUpload')).toEqual(['$LogFile']);
      expect(opened('Start-Log')).toEqual(['$LogFile']);
      expect(opened('Send-ResultFiles')).toEqual(['$FilesStream']);
      expect(opened('Save-Download')).toEqual(['$Path']);
      expect(callsTo(root, 'Save-Download').map((c) => c.elements.join(' '))).toEqual([
        '$location $Path $ArtifactMaxBytes',
      ]);
      expect(functionNamed(root, 'Get-Artifact').text).toContain(
        "$zip = Join-Path $Private 'artifact.zip'",
      );
      expect(source).toContain("$ResultsAnswer = Join-Path $Steps 'results-answer.json'");
      // The answer: made by SYSTEM, writable by the runner only during the step, read
      // once the runner's processes are stopped and the grant is gone, by nobody else meanwhile.
      const result = codeOf(functionNamed(root, 'Get-TestResult'));
      const order = [
        "[System.IO.File]::WriteAllText($ResultsAnswer, '')",
        '@($ResultsAnswer, \'/grant\', "*${RunnerSid}:(W)")',
        "$code = Invoke-AsRunner 'results' (Get-ResultsBody) $ResultsTimeLimitSeconds",
        'Stop-RunnerProcesses',
        '@($ResultsAnswer, \'/remove:g\', "*$RunnerSid")',
        '$answer = Read-ResultsAnswer',
      ];
      let at = -1;
      for (const step of order) {
        const next = result.indexOf(step, at + 1);
        expect({ step, found: next > at }).toEqual({ step, found: true });
        at = next;
      }
      const answer = functionNamed(root, 'Read-ResultsAnswer').text;
      expect(answer).toContain(
        'New-Object System.IO.FileStream($ResultsAnswer, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::Read)',
      );
      expect(answer).toContain('if ($stream.Length -gt $ResultsAnswerMaxBytes) { throw');
      expect(answer).toContain("Get-CountValue $data 'passed'");
      expect(answer).toContain('Get-OneLine $property.Value $SummaryMaxChars');
      expect(source).toContain('$ResultsAnswerMaxBytes = 65536');
      expect(source).toContain('$ResultsTimeLimitSeconds = 300');
      // The time limit holds in both ways of running a step.
      const invoke = functionNamed(root, 'Invoke-AsRunner').text;
      expect(invoke.match(/if \(\[DateTime\]::UtcNow -gt \$deadline\) \{/g)).toHaveLength(2);
      expect(invoke).toContain('$process.Kill()');
      expect(invoke).toContain(
        "Stop-ScheduledTask -TaskName $taskName -TaskPath '\\vmci\\' -ErrorAction SilentlyContinue",
      );
    });

    it('has the runner read only regular files, through no link, within the caps', async () => {
      const step = stepScript(root, 'Get-ResultsBody');
      const reader = (await parsePowerShell(step)).rootNode;
      for (const cap of [
        '$summaryJsonMaxBytes = 1048576',
        '$junitFileMaxBytes = 10485760',
        '$totalMaxBytes = 52428800',
        '$maxFiles = 2000',
        '$maxDepth = 32',
      ]) {
        expect(step).toContain(`\n${cap}\n`);
      }
      const capped = functionNamed(reader, 'Read-CappedFile').text;
      expect(capped).toContain('if ($stream.Length -gt $Max) { throw');
      expect(capped).toContain('if ($memory.Length -gt $Max) { throw');
      const junit = functionNamed(reader, 'Get-JUnitCounts').text;
      expect(junit).toContain('if ($file.Length -gt $junitFileMaxBytes) { throw');
      expect(junit).toContain('if ($total + $file.Length -gt $totalMaxBytes) { throw');
      expect(junit).toContain('$stream = Read-CappedFile $file.FullName $junitFileMaxBytes');
      expect(junit).toContain('if ($total + $stream.Length -gt $totalMaxBytes) { throw');
      expect(junit).toContain('$files.RemoveRange($maxFiles, $files.Count - $maxFiles)');
      expect(junit).toContain("Write-Log ('skipping {0}: {1}'");
      const files = functionNamed(reader, 'Get-XmlFiles').text;
      expect(files).toContain('if (Test-Link $item) { continue }');
      expect(files).toContain('if ($Found.Count -gt $maxFiles) { return }');
      expect(files).toContain('if ($Depth -lt $maxDepth)');
      expect(step).toContain('if (Test-Link $summaryItem) { throw');
      expect(step).toContain('Read-CappedFile $summaryFile $summaryJsonMaxBytes');
      // It opens results files only through Read-CappedFile, and writes only its answer.
      const opens = step.match(/New-Object System\.IO\.FileStream\([^,]+/g);
      expect(opens).toEqual([
        'New-Object System.IO.FileStream($Path',
        'New-Object System.IO.FileStream($answerFile',
      ]);
      expect(step).not.toMatch(/\[System\.IO\.File\]::|Get-Content|Set-Content|Out-File/);
      expect(step).toContain("$answerFile = '<ResultsAnswer>'");
    });

    it('installs a pinned MinGit and checks its SHA-256', () => {
      expect(source).toMatch(/\$MinGitVersion = '\d+\.\d+\.\d+'/);
      expect(source).toMatch(/\$MinGitSha256 = '[0-9a-f]{64}'/);
      const install = functionNamed(root, 'Install-Git').text;
      expect(install).toContain('Get-FileHash -LiteralPath $zip -Algorithm SHA256');
      expect(install).toContain('if ($hash -ne $MinGitSha256) { throw');
    });
  });

  describe('private repositories, the build artifact, the log and the uploads', () => {
    /** Each of STEPS is in TEXT, after the one before it. */
    function expectInOrder(text: string, steps: string[]): void {
      let at = -1;
      for (const step of steps) {
        const next = text.indexOf(step, at + 1);
        expect({ step, found: next > at }).toEqual({ step, found: true });
        at = next;
      }
    }

    /** The trimmed source lines that use variable NAME (without `$`, lower case), once each. */
    function linesUsing(name: string): string[] {
      const rows = new Set(
        nodesOfType(root, 'variable')
          .filter((v) => variableName(v.text) === name)
          .map((v) => v.startPosition.row),
      );
      return [...rows].map((row) => source.split('\n')[row]!.trim());
    }

    const stepBodies = [
      'Get-StepPreamble',
      'Get-IsolationCheckBody',
      'Get-FetchBody',
      'Get-CheckoutBody',
      'Get-UnpackBody',
      'Get-TestBody',
      'Get-ResultsBody',
      'Get-FilesBody',
    ];
    const mainPart = (): string => source.slice(source.indexOf('# --- main'));

    it("fetches with the GitHub token through git's environment, for the clone URL's origin only", () => {
      expect(mainPart()).toContain(
        "if ($GitHubToken -and $CloneUrl -match '^(https?://[^/?#]+)') { $FetchAuthOrigin = $Matches[1] }",
      );
      const body = functionNamed(root, 'Get-FetchBody').text;
      expect(body).toContain('$headerFile = $FetchHeaderFile');
      expect(body).toContain('$headerKey = "http.$FetchAuthOrigin/.extraHeader"');
      const fetch = stepScript(root, 'Get-FetchBody');
      expectInOrder(fetch, [
        "$headerFile = '<headerFile>'",
        "& $git remote add origin '<CloneUrl>'",
        'if ($headerFile) {',
        "$env:GIT_CONFIG_COUNT = '1'",
        "$env:GIT_CONFIG_KEY_0 = '<headerKey>'",
        '$env:GIT_CONFIG_VALUE_0 = ([System.IO.File]::ReadAllText($headerFile)).Trim()',
        '}\n& $git ',
      ]);
      // The fetches (and only they, the checkout being another step) run with it, with
      // no gc, maintenance or submodules after them.
      const fetches = fetch.match(/^.*& \$git .*\bfetch\b.*$/gm) ?? [];
      expect(fetches).toHaveLength(2);
      for (const f of fetches) {
        expect(f).toContain('-c gc.auto=0 -c maintenance.auto=false -c credential.helper= fetch');
        expect(f).toContain('--no-recurse-submodules');
      }
      // Never in .git/config.
      expect(fetch.match(/& \$git config .*/g)).toEqual(['& $git config core.longpaths true']);
      expect(fetch).not.toMatch(/extraHeader/i);
      expect(stepScript(root, 'Get-CheckoutBody')).not.toMatch(/GIT_CONFIG|headerFile|fetch/);
      // The file: SYSTEM's, written just before the step with no runner process left,
      // deleted right after it once the runner's processes are stopped again.
      expectInOrder(functionNamed(root, 'Invoke-Fetch').text, [
        'Stop-RunnerProcesses',
        'if ($FetchAuthOrigin) {',
        "[System.IO.File]::WriteAllText($FetchHeaderFile, 'Authorization: Basic ' + (Get-GitHubBasic))",
        'try {',
        "return Invoke-AsRunner 'fetch' (Get-FetchBody)",
        '} finally {',
        'Stop-RunnerProcesses',
        'if (Test-Path -LiteralPath $FetchHeaderFile) { Remove-Item -LiteralPath $FetchHeaderFile -Force }',
      ]);
      expect(functionNamed(root, 'Get-GitHubBasic').text).toContain(
        "[Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes('x-access-token:' + $GitHubToken))",
      );
      expect(linesUsing('fetchheaderfile').sort()).toEqual(
        [
          "$FetchHeaderFile = Join-Path $Steps 'fetch-header.txt'",
          // A reboot during the fetch leaves nothing for the next boot.
          'if (Test-Path -LiteralPath $FetchHeaderFile) { Remove-Item -LiteralPath $FetchHeaderFile -Force }',
          'if (Test-Path -LiteralPath $FetchHeaderFile) { Remove-Item -LiteralPath $FetchHeaderFile -Force }',
          "[System.IO.File]::WriteAllText($FetchHeaderFile, 'Authorization: Basic ' + (Get-GitHubBasic))",
          '$headerFile = $FetchHeaderFile',
        ].sort(),
      );
      expect(functionNamed(root, 'Initialize-Directories').text).toContain(
        'Remove-Item -LiteralPath $FetchHeaderFile -Force',
      );
    });

    it("never puts a secret into a runner step's script or command line", () => {
      const secrets = new Set(['token', 'githubtoken', 'secrets', 'runnerpassword', 'headers']);
      const literals = new Set<string>();
      for (const name of stepBodies) {
        const fn = functionNamed(root, name);
        for (const v of nodesOfType(fn, 'variable')) {
          expect({ name, variable: v.text, secret: secrets.has(variableName(v.text)) }).toEqual({
            name,
            variable: v.text,
            secret: false,
          });
        }
        expect(fn.text).not.toMatch(/Get-GitHubBasic|Get-Redacted/i);
        for (const m of fn.text.matchAll(/\$\(ConvertTo-Literal \$(\w+)\)/g)) literals.add(m[1]!);
      }
      // What the step scripts get as literals: paths, the test's public facts, the command.
      expect([...literals].sort()).toEqual(
        [
          'ArtifactDir',
          'ArtifactZip',
          'CloneUrl',
          'FilesStream',
          'Git',
          'Platform',
          'Repo',
          'ResultsAnswer',
          'ResultsDir',
          'Sha',
          'TestArtifactDir',
          'TestCommand',
          'TestId',
          'WorkDir',
          'headerFile',
          'headerKey',
        ].sort(),
      );
      // A step's command line: cmd.exe, powershell.exe, its script and its log.
      const invoke = functionNamed(root, 'Invoke-AsRunner').text;
      expect(invoke).toContain(
        `$cmdArgs = '/d /s /c ""{0}" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{1}" >> "{2}" 2>&1"' -f $powershell, $stepFile, $log`,
      );
      const [action] = callsTo(root, 'New-ScheduledTaskAction');
      expect(argumentOf(action!, '-Argument')).toBe('$cmdArgs');
      // The GitHub token itself: read, used for the fetch's header, the API request and redaction.
      expect(linesUsing('githubtoken').sort()).toEqual(
        [
          "$GitHubToken = ''",
          "try { $GitHubToken = ([string](Get-Attribute 'vmci-github-token' -Optional)).Trim() } catch { $Unread += 'vmci-github-token' }",
          "if (-not $GitHubToken) { return '' }",
          "return [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes('x-access-token:' + $GitHubToken))",
          "if ($GitHubToken) { $request.Headers.Add('Authorization', 'Bearer ' + $GitHubToken) }",
          "if ($GitHubToken -and $CloneUrl -match '^(https?://[^/?#]+)') { $FetchAuthOrigin = $Matches[1] }",
          '$Secrets = @($Token, $GitHubToken, (Get-GitHubBasic))',
        ].sort(),
      );
      expect(
        callsTo(root, 'Get-GitHubBasic').map((c) =>
          source.split('\n')[c.node.startPosition.row]!.trim(),
        ),
      ).toEqual([
        "[System.IO.File]::WriteAllText($FetchHeaderFile, 'Authorization: Basic ' + (Get-GitHubBasic))",
        '$Secrets = @($Token, $GitHubToken, (Get-GitHubBasic))',
      ]);
    });

    it('sends no request with a token that follows a redirect', () => {
      // Invoke-WebRequest with the VM token: reports and uploads.
      const withHeaders = callsTo(root, 'Invoke-WebRequest').filter(
        (c) => argumentOf(c, '-Headers') === '$headers',
      );
      expect(withHeaders).toHaveLength(2);
      for (const call of withHeaders) expect(argumentOf(call, '-MaximumRedirection')).toBe('0');
      // The others go to the metadata server and to MinGit's release, with no token.
      const others = callsTo(root, 'Invoke-WebRequest').filter(
        (c) => argumentOf(c, '-Headers') !== '$headers',
      );
      expect(others.length).toBeGreaterThan(0);
      for (const call of others) {
        expect(argumentOf(call, '-Headers') ?? "@{ 'Metadata-Flavor' = 'Google' }").toBe(
          "@{ 'Metadata-Flavor' = 'Google' }",
        );
      }
      // The .NET requests: the one with the GitHub token does not follow redirects...
      const creating = nodesOfType(root, 'function_statement')
        .filter((f) => codeOf(f).includes('[System.Net.WebRequest]::Create('))
        .map((f) => f.namedChildren.find((c) => c?.type === 'function_name')?.text);
      expect(creating).toEqual(['Save-Download', 'Invoke-ArtifactTry']);
      const api = functionNamed(root, 'Invoke-ArtifactTry').text;
      expectInOrder(api, [
        '$request = [System.Net.WebRequest]::Create($ArtifactUrl)',
        '$request.AllowAutoRedirect = $false',
        "$request.Headers.Add('Authorization', 'Bearer ' + $GitHubToken)",
        '$response = Get-WebResponse $request',
      ]);
      expect(api).not.toContain('AllowAutoRedirect = $true');
      // ... and the storage URL it redirects to is fetched with no credentials at all.
      const storage = functionNamed(root, 'Save-Download').text;
      expect(storage).not.toMatch(
        /Authorization|Headers\.Add|\$GitHubToken|\$Token\b|\.Credentials = (?!\$null)/,
      );
      expect(storage).toContain('$request.Credentials = $null');
      expect(storage).toContain('$request.UseDefaultCredentials = $false');
      // No other HTTP client.
      const code = source
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      expect(code).not.toMatch(/HttpClient|WebClient|Invoke-RestMethod|Start-BitsTransfer/);
    });

    it('downloads the artifact as SYSTEM (3 tries, 2 GiB) and has the runner unpack it into VMCI_ARTIFACT_DIR', async () => {
      expect(source).toContain('$ArtifactMaxBytes = [long]2147483648');
      expect(source).toContain('$ArtifactTries = 3');
      const api = functionNamed(root, 'Invoke-ArtifactTry').text;
      expectInOrder(api, [
        'if (@(301, 302, 303, 307, 308) -notcontains $status) {',
        'if ($status -eq 408 -or $status -eq 429 -or $status -ge 500) {',
        "return 'retry'",
        "return 'fail'",
        "if ($location -notmatch '^https?://') {",
        "return 'fail'",
        'return Save-Download $location $Path $ArtifactMaxBytes',
      ]);
      const storage = functionNamed(root, 'Save-Download').text;
      expectInOrder(storage, [
        'if ($response.ContentLength -gt $Max) {',
        "return 'fail'",
        'if ($written -gt $Max) {',
        "return 'fail'",
      ]);
      const tries = functionNamed(root, 'Save-Artifact').text;
      expectInOrder(tries, [
        '$delay = $ReportDelaySeconds',
        "if ($outcome -eq 'done') { return $true }",
        "if ($outcome -eq 'fail') { return $false }",
        'if ($try -ge $ArtifactTries) {',
        'Start-Sleep -Milliseconds ([int]($delay * 1000))',
        '$delay = [Math]::Min($delay * 2, $ReportMaxDelaySeconds)',
      ]);
      // SYSTEM's download goes to Private, then to Steps for the runner to read, and away.
      expectInOrder(functionNamed(root, 'Get-Artifact').text, [
        "$zip = Join-Path $Private 'artifact.zip'",
        'if (-not (Save-Artifact $zip)) { return $false }',
        '[System.IO.File]::Move($zip, $ArtifactZip)',
        'try {',
        '@($ArtifactZip, \'/grant\', "*${RunnerSid}:(R)")',
        "$code = Invoke-AsRunner 'unpack' (Get-UnpackBody)",
        '} finally {',
        'Stop-RunnerProcesses',
        'Remove-Item -LiteralPath $ArtifactZip -Force',
        'if ($code -ne 0) {',
        'return $false',
        'return $true',
      ]);
      expect(source).toContain("$ArtifactZip = Join-Path $Steps 'artifact.zip'");
      expect(source).toContain("$ArtifactDir = Join-Path $RunnerDir 'artifact'");
      const unpack = stepScript(root, 'Get-UnpackBody');
      expectInOrder(unpack, [
        "$zip = '<ArtifactZip>'",
        "$dir = '<ArtifactDir>'",
        'Remove-Item -LiteralPath $dir -Recurse -Force',
        'New-Item -ItemType Directory -Path $dir',
        'Expand-Archive -LiteralPath $zip -DestinationPath $dir -Force -ErrorAction Stop',
        'exit 1',
        'exit 0',
      ]);
      const unpackCalls = (await parsePowerShell(unpack)).rootNode;
      expect(callsTo(unpackCalls, 'Expand-Archive')).toHaveLength(1);
      // After the checkout, before `testing`; the Linux script's message on failure.
      const main = mainPart();
      expectInOrder(main, [
        "$TestArtifactDir = ''",
        "{ Invoke-AsRunner 'checkout' (Get-CheckoutBody) }",
        'if ($ArtifactUrl) {',
        "$artifactFailure = 'Could not download the build artifact' + (Get-ArtifactLabel 90)",
        '$unpacked = Invoke-Stage $artifactFailure { Get-Artifact }',
        'if (-not $unpacked) { Stop-WithFailure $artifactFailure }',
        '$TestArtifactDir = $ArtifactDir',
        "Send-Report 'testing'",
        "Invoke-AsRunner 'test' (Get-TestBody)",
      ]);
      expect(linesUsing('testartifactdir').filter((l) => !l.includes('ConvertTo-Literal'))).toEqual(
        ["$TestArtifactDir = ''", '$TestArtifactDir = $ArtifactDir'],
      );
      expect(functionNamed(root, 'Get-ArtifactLabel').text).toContain(
        `return " '" + (Get-OneLine $ArtifactName $Max) + "'"`,
      );
      const linux = readFileSync(
        join(__dirname, '..', '..', 'infra', 'vm', 'linux', 'startup.sh'),
        'utf8',
      );
      expect(linux).toContain('fail "Could not download the build artifact$(artifact_label 90)"');
      // The test command only gets VMCI_ARTIFACT_DIR, and only when it was unpacked.
      expectInOrder(stepScript(root, 'Get-TestBody'), [
        "$vmciArtifact = '<TestArtifactDir>'",
        'if ($vmciArtifact) { $env:VMCI_ARTIFACT_DIR = $vmciArtifact }',
        '. ([scriptblock]::Create($vmciCommand))',
      ]);
      for (const step of stepBodies.filter((s) => s !== 'Get-TestBody')) {
        expect(functionNamed(root, step).text).not.toContain('VMCI_ARTIFACT_DIR');
      }
    });

    it("keeps a log only SYSTEM and Administrators may read, with the script's lines and the steps' output, redacted", () => {
      expect(source).toContain("$Private = Join-Path $Root 'private'");
      expect(source).toContain("$LogFile = Join-Path $Private 'log.txt'");
      const start = functionNamed(root, 'Start-Log').text;
      expectInOrder(start, [
        'Remove-Item -LiteralPath $Private -Recurse -Force',
        'New-Item -ItemType Directory -Path $Private',
        'if (-not $Local) {',
        "Invoke-Native 'icacls.exe' @($Private, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F')",
        'New-Object System.IO.FileStream($LogFile, [System.IO.FileMode]::CreateNew, [System.IO.FileAccess]::Write, [System.IO.FileShare]::Read)',
        '$script:LogWriter = $writer',
        'foreach ($line in $EarlyLog) { Add-LogLine $line }',
      ]);
      // No grant to anybody else, anywhere: the runner's are on its own paths only.
      const icacls = callsTo(root, 'Invoke-Native').filter((c) => c.elements[0] === "'icacls.exe'");
      const granted = icacls
        .filter((c) => /Sid/.test(c.elements[1]!))
        .map((c) => /^@\((\$\w+),/.exec(c.elements[1]!)?.[1]);
      expect(new Set(granted)).toEqual(
        new Set(['$RunnerDir', '$Steps', '$log', '$ResultsAnswer', '$FilesStream', '$ArtifactZip']),
      );
      for (const c of icacls.filter((c) => !/Sid/.test(c.elements[1]!))) {
        expect(c.elements[1]).toMatch(
          /^@\(\$(Root|Private), '\/inheritance:r', '\/grant:r', '\*S-1-5-18:\(OI\)\(CI\)F', '\*S-1-5-32-544:\(OI\)\(CI\)F'\)$/,
        );
      }
      // Opened right after the directories, before the first report; all that goes to
      // the console goes to the log too (Write-Host only in these three).
      expectInOrder(mainPart(), [
        '$Secrets = @($Token, $GitHubToken, (Get-GitHubBasic))',
        'Initialize-Directories\n    Start-Log',
        "Send-Report 'preparation'",
      ]);
      const writing = nodesOfType(root, 'function_statement')
        .filter((f) => callsTo(f, 'Write-Host').length > 0)
        .map((f) => f.namedChildren.find((c) => c?.type === 'function_name')?.text);
      expect(writing).toEqual(['Write-Log', 'Add-LogLine', 'Write-NewLogLines']);
      expect(functionNamed(root, 'Write-Log').text).toContain("Add-LogLine ('vmci: ' + $Text)");
      const lines = functionNamed(root, 'Write-NewLogLines').text;
      expect(callsTo(functionNamed(root, 'Write-NewLogLines'), 'Write-Host')).toHaveLength(2);
      expect(lines).toContain(
        'Write-Host $line.TrimEnd("`r")\n            Add-LogLine $line.TrimEnd("`r")',
      );
      expect(lines).toContain(
        'Write-Host $text.TrimEnd("`r")\n        Add-LogLine $text.TrimEnd("`r")',
      );
      // Redacted as written, and again on the way up.
      const add = functionNamed(root, 'Add-LogLine').text;
      expect(add).toContain('$LogWriter.Write((Get-Redacted $Line) + "`n")');
      expect(add.match(/\$LogWriter\.Write\(/g)).toHaveLength(1);
      expect(functionNamed(root, 'Get-Redacted').text).toContain(
        "if ($secret) { $Text = $Text.Replace($secret, '[redacted]') }",
      );
      const upload = functionNamed(root, 'Get-LogUpload').text;
      expect(upload).toContain(
        "if ($secret) { $text = $text.Replace($latin1.GetString([System.Text.Encoding]::UTF8.GetBytes($secret)), '[redacted]') }",
      );
      expect(upload).toContain('$latin1 = [System.Text.Encoding]::GetEncoding(28591)');
      // Cut as on Linux: the first MiB, a marker line, the end; 10 MiB in all.
      expect(source).toContain('$LogUploadMaxBytes = 10485760');
      expect(source).toContain('$LogHeadBytes = 1048576');
      expectInOrder(upload, [
        'if ($size -le $LogUploadMaxBytes) {',
        '$head = Read-StreamBytes $stream $LogHeadBytes',
        "('{0}vmci: {1} {2} bytes cut {1}' -f $newline, [char]0x2026, $cut)",
        '$tailBytes = $LogUploadMaxBytes - $LogHeadBytes - $marker.Length',
        '[void]$stream.Seek($size - $tailBytes, [System.IO.SeekOrigin]::Begin)',
        '$memory.Write($head, 0, $head.Length)',
        '$memory.Write($marker, 0, $marker.Length)',
        '$memory.Write($tail, 0, $tail.Length)',
      ]);
    });

    it('uploads the log and the result files before the final report, on the failed path too', () => {
      expectInOrder(mainPart(), [
        '$PreparationReported = $false',
        "Stop-UnlessWanted (Send-Report 'preparation' '' $null)\n$PreparationReported = $true",
        '$CommandRan = $true',
        "Invoke-AsRunner 'test' (Get-TestBody)",
        '$Result = Get-TestResult $ExitCode',
        'Send-Files',
        "Send-Report 'completed' '' $Result",
      ]);
      expectInOrder(functionNamed(root, 'Stop-WithFailure').text, [
        'Stop-RunnerProcesses',
        'if ($PreparationReported) { Send-Files }',
        "Send-Report 'failed' $Reason $null",
      ]);
      // A 409 to preparation or testing stops at once, as on Linux.
      expect(functionNamed(root, 'Stop-UnlessWanted').text).not.toContain('Send-Files');
      expect(callsTo(root, 'Send-Files')).toHaveLength(2);
      const send = functionNamed(root, 'Send-Files');
      expectInOrder(send.text, [
        'if ($Uploaded -or -not $LogStarted) { return }',
        '$script:Uploaded = $true',
        '$script:UploadDeadline = [DateTime]::UtcNow.AddSeconds($UploadTimeLimitSeconds)',
        'try {',
        'if ($CommandRan) {',
        '$haveFiles = Invoke-FilesStep',
        '$log = Get-LogUpload',
        "if ((Send-File 'log.txt' $log) -eq 'stop') { return }",
        'if ($haveFiles) { Send-ResultFiles }',
        '} catch {',
      ]);
      // The PUT: the callback URL's files/<name>, the VM token, retried as reports are.
      const [put] = callsTo(functionNamed(root, 'Send-File'), 'Invoke-WebRequest');
      expect(argumentOf(put!, '-Uri')).toBe('$uri');
      expect(argumentOf(put!, '-Method')).toBe('Put');
      expect(argumentOf(put!, '-Body')).toBe('$Bytes');
      expect(argumentOf(put!, '-ContentType')).toBe('$contentType');
      expect(argumentOf(put!, '-TimeoutSec')).toBe('$timeout');
      const file = functionNamed(root, 'Send-File').text;
      expect(file).toContain("$uri = $CallbackUrl + '/files/' + $Name");
      expect(file).toContain('$headers = @{ Authorization = "Bearer $Token" }');
      expect(file).toContain("$contentType = 'application/octet-stream'");
      expect(file).toContain(
        "if ($Name -eq 'log.txt') { $contentType = 'text/plain; charset=utf-8' }",
      );
      expect(file).toContain(
        '$retry = $status -eq 0 -or $status -eq 408 -or $status -eq 429 -or ($status -ge 500 -and $status -ne 507)',
      );
      expectInOrder(file, [
        'if ($left -le 0) {',
        "return 'undelivered'",
        "if ($status -ge 200 -and $status -lt 300) { return 'delivered' }",
        'if ($status -eq 409) {',
        "return 'stop'",
        'if (-not $retry) {',
        "return 'skipped'",
        'if ($attempt -ge $ReportAttempts) {',
        "return 'undelivered'",
        '$delay = [Math]::Min($delay * 2, $ReportMaxDelaySeconds)',
      ]);
      expect(source).toContain('$UploadTimeLimitSeconds = 300');
      expect(source).toContain('$UploadTimeoutSeconds = 120');
    });

    it('reads the result files to upload as the runner, in the Linux stream format, and checks them as untrusted', async () => {
      expect(source).toContain("$FilesStream = Join-Path $Steps 'results-files.stream'");
      // Made by SYSTEM, writable by the runner only during the step, taken back as the answer is.
      expectInOrder(functionNamed(root, 'Invoke-FilesStep').text, [
        "[System.IO.File]::WriteAllText($FilesStream, '')",
        '@($FilesStream, \'/grant\', "*${RunnerSid}:(W)")',
        "$code = Invoke-AsRunner 'files' (Get-FilesBody) $ResultsTimeLimitSeconds",
        'Stop-RunnerProcesses',
        '@($FilesStream, \'/remove:g\', "*$RunnerSid")',
        'return $true',
        '} catch {',
        'Stop-RunnerProcesses',
        'return $false',
      ]);
      const step = stepScript(root, 'Get-FilesBody');
      const files = (await parsePowerShell(step)).rootNode;
      for (const cap of [
        '$fileMaxBytes = 10485760',
        '$totalMaxBytes = 52428800',
        '$maxFiles = 500',
        '$maxDepth = 32',
        '$nameMaxChars = 512',
      ]) {
        expect(step).toContain(`\n${cap}\n`);
      }
      expect(step).toContain("$streamFile = '<FilesStream>'");
      const list = functionNamed(files, 'Get-ResultFiles').text;
      expect(list).toContain('if ($Found.Count -gt $maxFiles) { return }');
      expect(list).toContain("if ($item.Name.StartsWith('.')) { continue }");
      expect(list).toContain('if (Test-Link $item) { continue }');
      expect(list).toContain('if ($Depth + 1 -lt $maxDepth)');
      expectInOrder(step, [
        "if (Test-Link (Get-Item -LiteralPath $resultsDir -Force)) { throw 'the results directory is a link' }",
        '[Array]::Sort($paths, [System.StringComparer]::Ordinal)',
        'if ($paths.Length -gt $maxFiles) {',
        '$name = Get-UploadName $path',
        '} elseif ($seen.ContainsKey($name)) {',
        '} elseif ($item.Length -gt $fileMaxBytes) {',
        '} elseif ($total + $item.Length -gt $totalMaxBytes) {',
        '$memory = Read-CappedFile $item.FullName $fileMaxBytes',
        'if ($total + $memory.Length -gt $totalMaxBytes)',
        "Write-Log ('not uploading {0}: {1}'",
        // Linux's files_as_runner: printf 'file %d %s\n' "$n" "$name", then the bytes.
        "$header = [System.Text.Encoding]::ASCII.GetBytes('file ' + $memory.Length + ' ' + $name + \"`n\")",
        '$out.Write($header, 0, $header.Length)',
        '$memory.WriteTo($out)',
      ]);
      const linux = readFileSync(
        join(__dirname, '..', '..', 'infra', 'vm', 'linux', 'startup.sh'),
        'utf8',
      );
      expect(linux).toContain(`printf 'file %d %s\\n' "$n" "$name"`);
      // It opens results files only through Read-CappedFile, and writes only the stream.
      expect(step.match(/New-Object System\.IO\.FileStream\([^,]+/g)).toEqual([
        'New-Object System.IO.FileStream($Path',
        'New-Object System.IO.FileStream($streamFile',
      ]);
      expect(step).toContain(
        'New-Object System.IO.FileStream($streamFile, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Write, [System.IO.FileShare]::None)',
      );
      expect(step).not.toMatch(/\[System\.IO\.File\]::|Get-Content|Set-Content|Out-File/);
      // SYSTEM reads the stream after the grant is gone, by nobody else meanwhile, as untrusted.
      const read = functionNamed(root, 'Send-ResultFiles').text;
      expect(read).toContain(
        'New-Object System.IO.FileStream($FilesStream, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::Read)',
      );
      expectInOrder(read, [
        '$line = Read-StreamLine $stream 700',
        "if ($line -cmatch '^file ([0-9]{1,9}) (results/[^\\n]+)\\z') {",
        'if ($size -lt 0 -or -not (Test-FileName $name)) {',
        'if ($count -gt $UploadMaxFiles -or $size -gt $UploadFileMaxBytes -or $total -gt $UploadTotalMaxBytes) {',
        '$bytes = Read-StreamBytes $stream $size',
        'if ($null -eq $bytes) {',
        'if ([DateTime]::UtcNow -ge $UploadDeadline) {',
        "if ((Send-File $name $bytes) -eq 'stop') { break }",
      ]);
      expect(source).toContain('$UploadFileMaxBytes = 10485760');
      expect(source).toContain('$UploadTotalMaxBytes = 52428800');
      expect(source).toContain('$UploadMaxFiles = 500');
    });

    it("names the result files as vm-ci takes them (the runner's names, SYSTEM's check)", async () => {
      const files = (await parsePowerShell(stepScript(root, 'Get-FilesBody'))).rootNode;
      const uploadName = functionNamed(files, 'Get-UploadName').text;
      const check = functionNamed(root, 'Test-FileName').text;
      // The same pattern on both sides, run here as a JavaScript regex (\z is JavaScript's $
      // without the m flag); the rest of each check is the same lines.
      const pattern = (text: string): RegExp => {
        const m = /-cnotmatch '([^']+)'/.exec(text);
        expect(m).not.toBeNull();
        return new RegExp(m![1]!.replace(/\\z$/, '$'));
      };
      expect(pattern(uploadName).source).toBe(pattern(check).source);
      for (const text of [uploadName, check]) {
        expect(text).toContain('foreach ($segment in $');
        expect(text).toContain(".Substring(8).Split('/')) {");
        expect(text).toContain("if ($segment -eq '.' -or $segment -eq '..')");
      }
      expect(uploadName).toContain('if ($name.Length -gt $nameMaxChars) { return $null }');
      expect(check).toContain('if ($Name.Length -gt $FileNameMaxChars) { return $false }');
      expect(check).toContain("if ($Name -ceq 'log.txt') { return $true }");
      const re = pattern(check);
      const accepts = (name: string): boolean =>
        name === 'log.txt' ||
        (name.length <= 512 &&
          re.test(name) &&
          name
            .slice(8)
            .split('/')
            .every((s) => s !== '.' && s !== '..'));
      const sanitiser = /\[regex\]::Replace\(\$Path, '([^']+)', '_'\)/.exec(uploadName);
      expect(sanitiser).not.toBeNull();
      const sanitise = (path: string): string =>
        'results/' + path.replace(new RegExp(sanitiser![1]!, 'g'), '_');
      expect(sanitise('junit reports/ä.xml')).toBe('results/junit_reports/_.xml');
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom('a', 'Z', '0', '.', '_', '-', '/', ' ', 'é', '\\', ':'), {
            maxLength: 40,
          }),
          fc.integer({ min: 0, max: 140 }),
          (chars, run) => {
            const name = sanitise(chars.join('') + 'x'.repeat(run));
            expect(accepts(name)).toBe(isValidFileName(name));
            expect(accepts(`results/${chars.join('')}`)).toBe(
              isValidFileName(`results/${chars.join('')}`),
            );
          },
        ),
      );
      for (const name of [
        'log.txt',
        'results/a',
        `results/${'a/'.repeat(31)}b`,
        `results/${'a/'.repeat(32)}b`,
        `results/${'x'.repeat(100)}`,
        `results/${'x'.repeat(101)}`,
        `results/${`${'y'.repeat(100)}/`.repeat(5)}z`,
        'results/./a',
        'results/a/..',
        'results/',
        'results//a',
        'results/a\n',
      ]) {
        expect({ name, accepted: accepts(name) }).toEqual({
          name,
          accepted: isValidFileName(name),
        });
      }
    });
  });
});
