# vm-ci's Windows VM startup script (DESIGN section 6; the contract is in
# infra/vm/README.md). runTest passes it to every Windows VM as the
# `windows-startup-script-ps1` metadata value; the GCE guest agent runs it at
# every boot as SYSTEM with Windows PowerShell 5.1 and forwards what it writes
# to the serial console and Cloud Logging. It:
#   1. reads the test from the metadata server (vmci-test-id, vmci-callback-url,
#      vmci-token, vmci-sha, vmci-clone-url, vmci-test-command; vmci-repo and
#      vmci-platform for the logs and the tests' environment; optionally
#      vmci-github-token, vmci-artifact-url and vmci-artifact-name);
#   2. reports `preparation`; installs git if the image lacks it (MinGit, pinned by
#      version and SHA-256); creates the unprivileged local user `vmci-runner`;
#      blocks that user from the metadata server with a Windows Firewall rule, and
#      checks, as that user, that the server no longer answers;
#   3. fetches exactly the commit, as that user (with the GitHub token for an
#      http(s) clone URL when there is one); downloads the build artifact, when
#      there is one, and has that user unpack it;
#   4. reports `testing`; runs the test command (a PowerShell command line) in the
#      checkout, as that user, with VMCI_RESULTS_DIR set to an empty directory;
#   5. uploads its log (redacted) and the result files to progress/files; reports
#      `completed` with {exitCode, passed, failed, summary} (counts from
#      VMCI_RESULTS_DIR/summary.json, else JUnit XML there), or `failed` with a
#      reason if the tests could not run; then powers off.
# Reports retry with back-off on no answer, 408, 429 and 5xx. A 409 (the test was
# canceled or has ended) or a refusal (400, 401, another 4xx) stops the run.
#
# The tokens live only in this process's memory: they are never written to the
# console, to the tests' environment or to a command line, and the log holds
# them as [redacted]. The one file that ever holds the GitHub token (as git's
# header) exists only while the fetch step runs (see Invoke-Fetch).
#
# Why scheduled tasks run the runner's commands: Start-Process -Credential (and
# Process.Start with a user name) call CreateProcessWithLogonW, which Windows
# refuses to a process running as LocalSystem, as this script does. A scheduled
# task registered with the runner's password is the built-in way for SYSTEM to
# start a process as another user: Task Scheduler logs the user on (batch logon,
# with its own profile and a fresh environment, none of this process's), runs
# the command and records its exit code. Output goes through cmd.exe redirection
# to a log file that this script reads as it grows and writes to its own output.
#
# Local mode (VMCI_LOCAL=1): no user, no firewall rule, no installs and no power
# off; the commands run as the current user with an allow-listed environment, and
# the script exits instead of powering off. Its files are in .\vmci.
#
# Keep this file ASCII: PowerShell 5.1 reads a file without a byte-order mark in
# the system's ANSI code page.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Set-StrictMode -Version 2.0

$RunnerName = 'vmci-runner'
$FirewallRuleName = 'vmci: the tests cannot reach the metadata server'
$MetadataAddresses = @('169.254.169.254', 'fd20:ce::254')
# Git for Windows' MinGit, when the image has no git: a zip that needs no
# installer, pinned by version and by the SHA-256 its release publishes.
$MinGitVersion = '2.50.1'
$MinGitUrl = "https://github.com/git-for-windows/git/releases/download/v$MinGitVersion.windows.1/MinGit-$MinGitVersion-64-bit.zip"
$MinGitSha256 = '6f672aebe9e488a246efd6875f9197dbc0d9a40100e218acc3877cba2b206c45'
$ReportTimeoutSeconds = 30
$ReportMaxDelaySeconds = 60
$SummaryMaxChars = 1000
$MessageMaxChars = 300
# The results are read by a step run as the runner (Get-ResultsBody, which holds
# the caps on what it reads); this script reads only its answer, at most this long,
# and gives it this long to answer.
$ResultsAnswerMaxBytes = 65536
$ResultsTimeLimitSeconds = 300
# What is uploaded before the final report (Send-Files), within 5 minutes in all,
# 2 minutes a try: the log, cut to 10 MiB (its first MiB, a marker line and its
# end), and at most 500 result files, 10 MiB each and 50 MiB in all, read by a
# step run as the runner (Get-FilesBody, which holds the same caps) within
# ResultsTimeLimitSeconds. A test file's name: log.txt, or results/ and 1 to 32
# segments of 1 to 100 of A-Z a-z 0-9 . _ - (not . or ..), 512 characters in all.
$UploadTimeLimitSeconds = 300
$UploadTimeoutSeconds = 120
$LogUploadMaxBytes = 10485760
$LogHeadBytes = 1048576
$UploadFileMaxBytes = 10485760
$UploadTotalMaxBytes = 52428800
$UploadMaxFiles = 500
$FileNameMaxChars = 512
# The build artifact's zip: at most 2 GiB, 3 tries, an hour to download it.
$ArtifactMaxBytes = [long]2147483648
$ArtifactTries = 3
$ArtifactDownloadSeconds = 3600
# Get-ScheduledTaskInfo's LastTaskResult while a task runs, and before it has run.
$TaskRunning = 0x41301
$TaskHasNotRun = 0x41303

# --- small helpers ---------------------------------------------------------------

# Log lines go to the host, not to the output stream, so that a function's
# return value never picks them up. The guest agent forwards both.
function Write-Log([string]$Text) {
    Write-Host ('vmci: ' + $Text)
    Add-LogLine ('vmci: ' + $Text)
}

# TEXT with every secret (Secrets: the tokens, and the GitHub token as git sends
# it) replaced by [redacted].
function Get-Redacted([string]$Text) {
    foreach ($secret in $Secrets) {
        if ($secret) { $Text = $Text.Replace($secret, '[redacted]') }
    }
    return $Text
}

# Adds LINE, redacted, to the log (see Start-Log); before the log is open, to
# EarlyLog, which Start-Log writes first.
function Add-LogLine([string]$Line) {
    if ($null -ne $LogWriter) {
        try {
            $LogWriter.Write((Get-Redacted $Line) + "`n")
        } catch {
            $script:LogWriter = $null
            Write-Host ('vmci: cannot write the log: {0}' -f (Get-OneLine ([string]$_.Exception.Message) 300))
        }
    } elseif ($null -ne $EarlyLog) {
        [void]$EarlyLog.Add($Line)
    }
}

function Get-EnvValue([string]$Name) {
    return [Environment]::GetEnvironmentVariable($Name)
}

function Get-EnvNumber([string]$Name, [double]$Default, [double]$Minimum) {
    $raw = Get-EnvValue $Name
    $value = 0.0
    if ($raw -and [double]::TryParse($raw, [Globalization.NumberStyles]::Float, [Globalization.CultureInfo]::InvariantCulture, [ref]$value) -and $value -ge $Minimum -and -not [double]::IsInfinity($value)) {
        return $value
    }
    return $Default
}

# TEXT on one line (control characters as spaces), at most MAX characters.
function Get-OneLine([string]$Text, [int]$Max) {
    if ($null -eq $Text) { return '' }
    $line = ([regex]::Replace($Text, '[\x00-\x1F\x7F]+', ' ')).Trim()
    if ($line.Length -gt $Max) {
        $cut = $Max
        if ([char]::IsHighSurrogate($line[$cut - 1])) { $cut-- }
        $line = $line.Substring(0, $cut)
    }
    return $line
}

function Get-ErrorLine($ErrorRecord) {
    return Get-OneLine ([string]$ErrorRecord.Exception.Message) 500
}

# The HTTP status in an error from Invoke-WebRequest or Invoke-RestMethod; 0 when
# no answer came (DNS, connection, time-out).
function Get-HttpStatus($ErrorRecord) {
    $exception = $ErrorRecord.Exception
    while ($null -ne $exception) {
        if ($exception -is [System.Net.WebException] -and $null -ne $exception.Response) {
            return [int]$exception.Response.StatusCode
        }
        $exception = $exception.InnerException
    }
    return 0
}

# Runs a native program; throws with its output when it exits non-zero.
function Invoke-Native([string]$FilePath, [string[]]$ArgumentList) {
    # Continue: PowerShell 5.1 turns a native program's stderr into errors.
    $ErrorActionPreference = 'Continue'
    $output = @(& $FilePath @ArgumentList 2>&1 | ForEach-Object { [string]$_ })
    $code = $LASTEXITCODE
    if ($code -ne 0) {
        throw ('{0} exited with {1}: {2}' -f $FilePath, $code, (Get-OneLine ($output -join ' ') 400))
    }
}

# A PowerShell single-quoted literal of VALUE (escapes every kind of single quote).
function ConvertTo-Literal([string]$Value) {
    return "'" + [System.Management.Automation.Language.CodeGeneration]::EscapeSingleQuotedStringContent($Value) + "'"
}

# UTF-8 with a byte-order mark: PowerShell 5.1 reads BOM-less scripts as ANSI.
function Write-TextFile([string]$Path, [string]$Text) {
    [System.IO.File]::WriteAllText($Path, $Text, (New-Object System.Text.UTF8Encoding $true))
}

# --- the metadata server ----------------------------------------------------------

# The instance attribute KEY, exactly as stored; $null when it is missing (404)
# or the metadata server does not answer (OPTIONAL: throws then, so that an
# optional key that could not be read is not taken for an absent one).
# Invoke-WebRequest's raw bytes, not Invoke-RestMethod: 5.1's Invoke-RestMethod
# may parse a value that looks like JSON or XML (a quoted command line, an
# all-digit id) into something else.
function Get-Attribute([string]$Key, [switch]$Optional) {
    $uri = "$MetadataUrl/instance/attributes/$Key"
    for ($try = 1; ; $try++) {
        try {
            $response = Invoke-WebRequest -Uri $uri -Headers @{ 'Metadata-Flavor' = 'Google' } -UseBasicParsing -TimeoutSec 20
            return [System.Text.Encoding]::UTF8.GetString($response.RawContentStream.ToArray())
        } catch {
            $status = Get-HttpStatus $_
            if ($status -eq 404) { return $null }
            if ($try -ge 5) {
                Write-Log ('cannot read {0} from the metadata server (HTTP {1}): {2}' -f $Key, $status, (Get-ErrorLine $_))
                if ($Optional) { throw "the metadata server did not answer for $Key" }
                return $null
            }
            Start-Sleep -Seconds 1
        }
    }
}

# --- reports to `progress` ----------------------------------------------------------

# Posts STAGE (with MESSAGE or RESULT) to the callback URL. Returns 'delivered',
# 'stop' (409: the test was canceled or has ended; 400, 401 or another 4xx: it
# will never be taken) or 'undelivered' (no 2xx after every attempt).
function Send-Report([string]$Stage, [string]$Message, $Result) {
    $body = [ordered]@{ testId = $TestId; stage = $Stage }
    if ($Message) { $body['message'] = Get-OneLine $Message $MessageMaxChars }
    if ($null -ne $Result) { $body['result'] = $Result }
    # -Compress: one line. ConvertTo-Json escapes quotes, backslashes and control
    # characters (and, in 5.1, <>'& as \u003c...: still valid JSON). The body is
    # flat (depth 2), and sent as UTF-8 bytes: 5.1 encodes a string body as Latin-1.
    $json = ConvertTo-Json -InputObject $body -Depth 5 -Compress
    $bytes = [System.Text.Encoding]::UTF8.GetBytes($json)
    $headers = @{ Authorization = "Bearer $Token" }
    $delay = $ReportDelaySeconds
    for ($attempt = 1; ; $attempt++) {
        $status = 0
        $why = ''
        try {
            # -MaximumRedirection 0: the token goes to the callback URL and nowhere else.
            $response = Invoke-WebRequest -Uri $CallbackUrl -Method Post -Headers $headers -ContentType 'application/json' -Body $bytes -UseBasicParsing -DisableKeepAlive -MaximumRedirection 0 -TimeoutSec $ReportTimeoutSeconds
            $status = [int]$response.StatusCode
        } catch {
            $status = Get-HttpStatus $_
            if ($status -eq 0) { $why = ': ' + (Get-ErrorLine $_) }
        }
        if ($status -ge 200 -and $status -lt 300) {
            Write-Log "reported $Stage"
            return 'delivered'
        }
        if ($status -eq 409) {
            Write-Log "progress answered 409 to ${Stage}: the test was canceled or has ended"
            return 'stop'
        }
        $retry = $status -eq 0 -or $status -eq 408 -or $status -eq 429 -or $status -ge 500
        if (-not $retry) {
            Write-Log "progress refused $Stage (HTTP $status); it will not take this test's reports"
            return 'stop'
        }
        if ($attempt -ge $ReportAttempts) {
            Write-Log "could not report $Stage (HTTP $status$why) after $attempt attempts"
            return 'undelivered'
        }
        Write-Log "report ${Stage}: HTTP $status$why, retrying in ${delay}s"
        Start-Sleep -Milliseconds ([int]($delay * 1000))
        $delay = [Math]::Min($delay * 2, $ReportMaxDelaySeconds)
    }
}

# PUTs BYTES as the test's file NAME (log.txt or results/...) to <callback
# URL>/files/NAME, retried as reports are, never past UploadDeadline. Returns
# 'delivered', 'stop' (409: the test was canceled or has ended: no more uploads),
# 'skipped' (another 4xx, or 507: the test's files are full) or 'undelivered'
# (no 2xx after every attempt, or out of time).
function Send-File([string]$Name, [byte[]]$Bytes) {
    $contentType = 'application/octet-stream'
    if ($Name -eq 'log.txt') { $contentType = 'text/plain; charset=utf-8' }
    $uri = $CallbackUrl + '/files/' + $Name
    $headers = @{ Authorization = "Bearer $Token" }
    $delay = $ReportDelaySeconds
    for ($attempt = 1; ; $attempt++) {
        $left = ($UploadDeadline - [DateTime]::UtcNow).TotalSeconds
        if ($left -le 0) {
            Write-Log "upload ${Name}: out of time, giving up"
            return 'undelivered'
        }
        $timeout = [int][Math]::Ceiling([Math]::Min($UploadTimeoutSeconds, $left))
        $status = 0
        $why = ''
        try {
            # -MaximumRedirection 0: the token goes to the callback URL and nowhere else.
            $response = Invoke-WebRequest -Uri $uri -Method Put -Headers $headers -ContentType $contentType -Body $Bytes -UseBasicParsing -DisableKeepAlive -MaximumRedirection 0 -TimeoutSec $timeout
            $status = [int]$response.StatusCode
        } catch {
            $status = Get-HttpStatus $_
            if ($status -eq 0) { $why = ': ' + (Get-ErrorLine $_) }
        }
        if ($status -ge 200 -and $status -lt 300) { return 'delivered' }
        if ($status -eq 409) {
            Write-Log "upload ${Name}: HTTP 409: the test was canceled or has ended"
            return 'stop'
        }
        # 507: the test's files are full, which no retry changes.
        $retry = $status -eq 0 -or $status -eq 408 -or $status -eq 429 -or ($status -ge 500 -and $status -ne 507)
        if (-not $retry) {
            Write-Log "upload ${Name}: HTTP $status, skipping it"
            return 'skipped'
        }
        if ($attempt -ge $ReportAttempts) {
            Write-Log "upload ${Name}: HTTP $status$why, giving up after $attempt tries"
            return 'undelivered'
        }
        Write-Log "upload ${Name}: HTTP $status$why, retrying in ${delay}s (try $attempt of $ReportAttempts)"
        $left = ($UploadDeadline - [DateTime]::UtcNow).TotalSeconds
        Start-Sleep -Milliseconds ([int]([Math]::Max(0, [Math]::Min($delay, $left)) * 1000))
        $delay = [Math]::Min($delay * 2, $ReportMaxDelaySeconds)
    }
}

# --- the end --------------------------------------------------------------------------

function Stop-Vm([int]$Code) {
    if ($Local) {
        Write-Log 'done (local mode: exiting instead of powering off)'
        exit $Code
    }
    Write-Log 'powering off'
    try {
        Stop-Computer -Force
    } catch {
        Write-Log ('Stop-Computer failed: {0}' -f (Get-ErrorLine $_))
        & shutdown.exe /s /t 0 /f
    }
    exit $Code
}

function Set-Done {
    try { New-Item -ItemType File -Force -Path (Join-Path $State 'done') | Out-Null } catch { }
}

# Reports that the tests could not run (one short line), then powers off. After
# `preparation`, the log (and the result files, when the command ran) go up first.
function Stop-WithFailure([string]$Reason) {
    Write-Log "failed: $Reason"
    Stop-RunnerProcesses
    if ($PreparationReported) { Send-Files }
    [void](Send-Report 'failed' $Reason $null)
    Set-Done
    Stop-Vm 1
}

# After a preparation or testing report: stop when progress wants no more.
function Stop-UnlessWanted([string]$Outcome) {
    if ($Outcome -eq 'stop') {
        Stop-RunnerProcesses
        Set-Done
        Stop-Vm 0
    }
}

# Runs ACTION; any error in it fails the test with REASON (the details go to the
# console only).
function Invoke-Stage([string]$Reason, [scriptblock]$Action) {
    try {
        & $Action
    } catch {
        Write-Log ('{0}: {1}' -f $Reason, (Get-ErrorLine $_))
        Stop-WithFailure $Reason
    }
}

# --- preparation (as SYSTEM) ----------------------------------------------------------

function Initialize-Directories {
    foreach ($dir in @($Root, $State, $Steps, $RunnerDir)) {
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
    }
    if (-not $Local) {
        # Only SYSTEM and Administrators: the runner user can neither read nor
        # change this script's state (C:\ lets every user write in new folders).
        Invoke-Native 'icacls.exe' @($Root, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F')
    }
    # A fetch step that a reboot cut short leaves nothing for the next one.
    if (Test-Path -LiteralPath $FetchHeaderFile) { Remove-Item -LiteralPath $FetchHeaderFile -Force }
}

# Private (SYSTEM and Administrators only, whatever its parent says) holds the
# log and the build artifact's download; LogFile gets this script's lines and
# the steps' output (see Add-LogLine), each line redacted as it is written.
function Start-Log {
    if (Test-Path -LiteralPath $Private) { Remove-Item -LiteralPath $Private -Recurse -Force }
    New-Item -ItemType Directory -Path $Private | Out-Null
    if (-not $Local) {
        Invoke-Native 'icacls.exe' @($Private, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F')
    }
    # Shared for reading only: Get-LogUpload reads it while it is open here.
    $stream = New-Object System.IO.FileStream($LogFile, [System.IO.FileMode]::CreateNew, [System.IO.FileAccess]::Write, [System.IO.FileShare]::Read)
    $writer = New-Object System.IO.StreamWriter($stream, (New-Object System.Text.UTF8Encoding $false))
    $writer.AutoFlush = $true
    $script:LogWriter = $writer
    $script:LogStarted = $true
    foreach ($line in $EarlyLog) { Add-LogLine $line }
    $script:EarlyLog = $null
}

function Install-Git {
    $found = Get-Command 'git.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($found) { return $found.Path }
    if ($Local) { throw 'git is not installed' }
    Write-Log "installing MinGit $MinGitVersion"
    $zip = Join-Path $State 'mingit.zip'
    for ($try = 1; ; $try++) {
        try {
            Invoke-WebRequest -Uri $MinGitUrl -OutFile $zip -UseBasicParsing -TimeoutSec 300
            break
        } catch {
            if ($try -ge 3) { throw }
            Write-Log ('downloading MinGit failed ({0}); retrying' -f (Get-ErrorLine $_))
            Start-Sleep -Seconds (5 * $try)
        }
    }
    $hash = (Get-FileHash -LiteralPath $zip -Algorithm SHA256).Hash
    if ($hash -ne $MinGitSha256) { throw "MinGit's SHA-256 is $hash, not $MinGitSha256" }
    $dir = Join-Path $env:ProgramFiles 'MinGit'
    if (Test-Path -LiteralPath $dir) { Remove-Item -LiteralPath $dir -Recurse -Force }
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [System.IO.Compression.ZipFile]::ExtractToDirectory($zip, $dir)
    Remove-Item -LiteralPath $zip -Force
    $git = Join-Path $dir 'cmd\git.exe'
    if (-not (Test-Path -LiteralPath $git -PathType Leaf)) { throw "no $git in MinGit" }
    # On the machine's PATH, so that the runner's logons (and the tests) find it.
    $cmdDir = Join-Path $dir 'cmd'
    $machinePath = [Environment]::GetEnvironmentVariable('Path', 'Machine')
    [Environment]::SetEnvironmentVariable('Path', ($machinePath.TrimEnd(';') + ';' + $cmdDir), 'Machine')
    $env:Path = $env:Path.TrimEnd(';') + ';' + $cmdDir
    return $git
}

function New-RunnerPassword {
    $bytes = New-Object byte[] 24
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    $rng.GetBytes($bytes)
    $rng.Dispose()
    # Upper, lower, digit and symbol, whatever the random part holds.
    return 'Vm1-' + [Convert]::ToBase64String($bytes)
}

# Creates (or resets) the runner user: not an administrator; like every signed-in
# user it gets BUILTIN\Users through Authenticated Users. Returns its SID.
function New-Runner([string]$Password) {
    $secure = ConvertTo-SecureString -String $Password -AsPlainText -Force
    $user = Get-LocalUser -Name $RunnerName -ErrorAction SilentlyContinue
    if ($user) {
        Set-LocalUser -Name $RunnerName -Password $secure -PasswordNeverExpires $true
        Enable-LocalUser -Name $RunnerName
    } else {
        New-LocalUser -Name $RunnerName -Password $secure -PasswordNeverExpires -AccountNeverExpires -UserMayNotChangePassword -Description 'vm-ci: runs the tests' | Out-Null
    }
    return (Get-LocalUser -Name $RunnerName).SID.Value
}

# Task Scheduler logs the runner on as a batch job: grants it that right
# (secedit, the built-in tool for user rights) unless it already has it. Task
# Scheduler may grant it by itself when the task is registered, so a failure
# here is only logged; the first step run as the runner tells.
function Grant-BatchLogonRight([string]$Sid) {
    $exported = Join-Path $State 'rights-export.inf'
    $wanted = Join-Path $State 'rights-batch.inf'
    $database = Join-Path $State 'rights.sdb'
    Invoke-Native 'secedit.exe' @('/export', '/cfg', $exported, '/areas', 'USER_RIGHTS', '/quiet')
    $current = ''
    foreach ($line in [System.IO.File]::ReadAllLines($exported)) {
        if ($line -match '^\s*SeBatchLogonRight\s*=(.*)$') { $current = $Matches[1].Trim() }
    }
    $holders = @($current -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    if ($holders -contains "*$Sid") { return }
    $holders += "*$Sid"
    $inf = @(
        '[Unicode]', 'Unicode=yes', '[Version]', 'signature="$CHICAGO$"', 'Revision=1',
        '[Privilege Rights]', ('SeBatchLogonRight = ' + ($holders -join ','))
    ) -join "`r`n"
    [System.IO.File]::WriteAllText($wanted, $inf + "`r`n", [System.Text.Encoding]::Unicode)
    Invoke-Native 'secedit.exe' @('/configure', '/db', $database, '/cfg', $wanted, '/areas', 'USER_RIGHTS', '/quiet')
}

# The runner works in RunnerDir (its checkout and results) and reads the step
# scripts in Steps; it can change neither Steps nor the rest of Root.
function Grant-RunnerDirectories([string]$Sid) {
    Invoke-Native 'icacls.exe' @($RunnerDir, '/grant', "*${Sid}:(OI)(CI)M")
    Invoke-Native 'icacls.exe' @($Steps, '/grant', "*${Sid}:(OI)(CI)RX")
}

# Blocks everything the runner's processes send to the metadata server. Name
# lookups still work: Windows resolves names in the DNS Client service, which
# runs as NETWORK SERVICE, not as the runner.
function Block-RunnerFromMetadata([string]$Sid) {
    Get-NetFirewallRule -DisplayName $FirewallRuleName -ErrorAction SilentlyContinue | Remove-NetFirewallRule
    New-NetFirewallRule -DisplayName $FirewallRuleName -Direction Outbound -Action Block -Profile Any -RemoteAddress $MetadataAddresses -LocalUser "D:(A;;CC;;;$Sid)" | Out-Null
    # A rule does nothing while the firewall is off.
    Set-NetFirewallProfile -Profile @('Domain', 'Private', 'Public') -Enabled True
}

# --- running as the runner ------------------------------------------------------------

# The start of every step script: the tests' environment (never the token).
function Get-StepPreamble {
    return @"
`$ErrorActionPreference = 'Continue'
`$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding `$false } catch { }
`$env:CI = 'true'
`$env:GIT_TERMINAL_PROMPT = '0'
`$env:GCM_INTERACTIVE = 'never'
`$env:VMCI_TEST_ID = $(ConvertTo-Literal $TestId)
`$env:VMCI_REPO = $(ConvertTo-Literal $Repo)
`$env:VMCI_SHA = $(ConvertTo-Literal $Sha)
`$env:VMCI_PLATFORM = $(ConvertTo-Literal $Platform)
`$env:VMCI_RESULTS_DIR = $(ConvertTo-Literal $ResultsDir)
Write-Output ('vmci: running as {0}' -f [Environment]::UserName)

"@
}

# Reads what a step has added to its log, and writes each whole line to this
# script's output and to the log (all of it when FLUSH).
function Write-NewLogLines($Reader, [switch]$Flush) {
    $buffer = New-Object byte[] 65536
    while (($count = $Reader.Stream.Read($buffer, 0, $buffer.Length)) -gt 0) {
        $Reader.Bytes += $count
        $chars = New-Object char[] ($count + 8)
        $decoded = $Reader.Decoder.GetChars($buffer, 0, $count, $chars, 0)
        [void]$Reader.Pending.Append($chars, 0, $decoded)
    }
    $text = $Reader.Pending.ToString()
    $end = $text.LastIndexOf("`n")
    if ($end -ge 0) {
        foreach ($line in ($text.Substring(0, $end) -split "`n")) {
            Write-Host $line.TrimEnd("`r")
            Add-LogLine $line.TrimEnd("`r")
        }
        $text = $text.Substring($end + 1)
        [void]$Reader.Pending.Clear().Append($text)
    }
    if ($Flush -and $text.Length -gt 0) {
        Write-Host $text.TrimEnd("`r")
        Add-LogLine $text.TrimEnd("`r")
        [void]$Reader.Pending.Clear()
    }
}

# The environment of a local-mode step: the current user's basics, nothing else.
$LocalEnvironment = @(
    'ALLUSERSPROFILE', 'APPDATA', 'CommonProgramFiles', 'CommonProgramFiles(x86)', 'CommonProgramW6432',
    'COMPUTERNAME', 'ComSpec', 'HOMEDRIVE', 'HOMEPATH', 'LOCALAPPDATA', 'NUMBER_OF_PROCESSORS', 'OS',
    'Path', 'PATHEXT', 'PROCESSOR_ARCHITECTURE', 'PROCESSOR_IDENTIFIER', 'PROCESSOR_LEVEL',
    'PROCESSOR_REVISION', 'ProgramData', 'ProgramFiles', 'ProgramFiles(x86)', 'ProgramW6432', 'PUBLIC',
    'SystemDrive', 'SystemRoot', 'TEMP', 'TMP', 'USERDOMAIN', 'USERNAME', 'USERPROFILE', 'windir'
)

# Runs BODY (PowerShell) as the runner, after the step preamble; streams its
# output (and that of everything it starts) to this script's output. Returns
# the exit code; throws when the step could not be started at all, or when it
# runs for more than TIMELIMITSECONDS (when given).
function Invoke-AsRunner([string]$Name, [string]$Body, [int]$TimeLimitSeconds = 0) {
    $stepFile = Join-Path $Steps "$Name.ps1"
    $log = Join-Path $Steps "$Name.log"
    Write-TextFile $stepFile ((Get-StepPreamble) + $Body)
    [System.IO.File]::WriteAllText($log, '')
    if (-not $Local) {
        Invoke-Native 'icacls.exe' @($log, '/grant', "*${RunnerSid}:(R,W)")
    }
    $powershell = Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'
    $cmd = Join-Path $env:SystemRoot 'System32\cmd.exe'
    $cmdArgs = '/d /s /c ""{0}" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{1}" >> "{2}" 2>&1"' -f $powershell, $stepFile, $log
    $reader = @{
        Stream  = New-Object System.IO.FileStream($log, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, ([System.IO.FileShare]::ReadWrite -bor [System.IO.FileShare]::Delete))
        Decoder = (New-Object System.Text.UTF8Encoding $false).GetDecoder()
        Pending = New-Object System.Text.StringBuilder
        Bytes   = 0
    }
    $deadline = [DateTime]::MaxValue
    if ($TimeLimitSeconds -gt 0) { $deadline = [DateTime]::UtcNow.AddSeconds($TimeLimitSeconds) }
    try {
        if ($Local) {
            $start = New-Object System.Diagnostics.ProcessStartInfo
            $start.FileName = $cmd
            $start.Arguments = $cmdArgs
            $start.UseShellExecute = $false
            $start.CreateNoWindow = $true
            $start.WorkingDirectory = $Steps
            $start.EnvironmentVariables.Clear()
            foreach ($variable in $LocalEnvironment) {
                $value = Get-EnvValue $variable
                if ($value) { $start.EnvironmentVariables[$variable] = $value }
            }
            $process = [System.Diagnostics.Process]::Start($start)
            while (-not $process.WaitForExit(1000)) {
                Write-NewLogLines $reader
                if ([DateTime]::UtcNow -gt $deadline) {
                    $process.Kill()
                    throw "the step $Name ran for more than $TimeLimitSeconds s"
                }
            }
            $process.WaitForExit()
            $code = $process.ExitCode
        } else {
            $taskName = "vmci-$Name"
            $action = New-ScheduledTaskAction -Execute $cmd -Argument $cmdArgs -WorkingDirectory $Steps
            # No time limit (vm-ci's own limit deletes the VM), normal priority
            # (a task's default is below normal).
            $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit ([TimeSpan]::Zero) -MultipleInstances IgnoreNew -Priority 4
            Register-ScheduledTask -TaskName $taskName -TaskPath '\vmci\' -Action $action -Settings $settings -User "$env:COMPUTERNAME\$RunnerName" -Password $RunnerPassword -RunLevel Limited -Force | Out-Null
            Start-ScheduledTask -TaskName $taskName -TaskPath '\vmci\' | Out-Null
            $since = [DateTime]::UtcNow
            while ($true) {
                Write-NewLogLines $reader
                $task = Get-ScheduledTask -TaskName $taskName -TaskPath '\vmci\'
                $taskState = [string]$task.State
                if ($taskState -ne 'Running' -and $taskState -ne 'Queued') {
                    $result = [int64](Get-ScheduledTaskInfo -TaskName $taskName -TaskPath '\vmci\').LastTaskResult
                    if ($result -lt 0) { $result += 4294967296 }
                    if ($result -ne $TaskRunning -and $result -ne $TaskHasNotRun) { break }
                    if (([DateTime]::UtcNow - $since).TotalSeconds -gt 300) {
                        throw "the scheduled task $taskName did not start"
                    }
                }
                if ([DateTime]::UtcNow -gt $deadline) {
                    Stop-ScheduledTask -TaskName $taskName -TaskPath '\vmci\' -ErrorAction SilentlyContinue
                    Unregister-ScheduledTask -TaskName $taskName -TaskPath '\vmci\' -Confirm:$false -ErrorAction SilentlyContinue
                    throw "the step $Name ran for more than $TimeLimitSeconds s"
                }
                Start-Sleep -Seconds 1
            }
            Unregister-ScheduledTask -TaskName $taskName -TaskPath '\vmci\' -Confirm:$false -ErrorAction SilentlyContinue
            # LastTaskResult is the exit code as an unsigned 32-bit number.
            if ($result -ge 2147483648) { $result -= 4294967296 }
            $code = [int]$result
        }
        Write-NewLogLines $reader -Flush
    } finally {
        $reader.Stream.Dispose()
    }
    # Every step script prints a line first: an empty log means it never ran.
    if ($reader.Bytes -eq 0) {
        throw ('the step {0} did not start as {1} (result 0x{2:X8})' -f $Name, $RunnerName, $code)
    }
    return $code
}

# Ends whatever the runner left running (not in local mode: it is the current user).
function Stop-RunnerProcesses {
    if ($Local -or -not $RunnerSid) { return }
    try {
        Get-ScheduledTask -TaskPath '\vmci\' -ErrorAction SilentlyContinue | Stop-ScheduledTask -ErrorAction SilentlyContinue
        for ($round = 1; $round -le 3; $round++) {
            Get-Process -IncludeUserName | Where-Object { $_.UserName -like "*\$RunnerName" } | Stop-Process -Force -ErrorAction SilentlyContinue
            Start-Sleep -Milliseconds 500
        }
    } catch {
        Write-Log ('could not stop the runner''s processes: {0}' -f (Get-ErrorLine $_))
    }
}

# --- the steps run as the runner --------------------------------------------------------

# Exits 0 when no metadata server address answers the runner, else 1.
function Get-IsolationCheckBody {
    $urls = @("$MetadataUrl/instance/id", 'http://169.254.169.254/computeMetadata/v1/instance/id',
        'http://metadata.google.internal/computeMetadata/v1/instance/id', 'http://[fd20:ce::254]/computeMetadata/v1/instance/id')
    $list = ($urls | ForEach-Object { ConvertTo-Literal $_ }) -join ', '
    return @"
foreach (`$url in @($list)) {
    try {
        Invoke-WebRequest -Uri `$url -Headers @{ 'Metadata-Flavor' = 'Google' } -UseBasicParsing -TimeoutSec 5 -ErrorAction Stop | Out-Null
        Write-Output "vmci: `$url answered"
        exit 1
    } catch [System.Net.WebException] {
        if (`$null -ne `$_.Exception.Response) {
            Write-Output "vmci: `$url answered (`$([int]`$_.Exception.Response.StatusCode))"
            exit 1
        }
    } catch {
        # No route, no name: not an answer.
    }
}
exit 0
"@
}

# git init; remote; the commit alone, else the whole repository. The runner
# creates the checkout, so it owns it (git refuses to work in a directory
# another user owns). With the GitHub token, the fetches (and only they) get
# git's header for the clone URL's origin through git's environment
# (GIT_CONFIG_COUNT, GIT_CONFIG_KEY_0, GIT_CONFIG_VALUE_0), the value read from
# the file that Invoke-Fetch makes for this step: it is in no command line and
# never in .git/config. No gc or maintenance after them and no submodules:
# nothing that saw the header may outlive the step.
function Get-FetchBody {
    $headerFile = ''
    $headerKey = ''
    if ($FetchAuthOrigin) {
        $headerFile = $FetchHeaderFile
        $headerKey = "http.$FetchAuthOrigin/.extraHeader"
    }
    return @"
`$git = $(ConvertTo-Literal $Git)
`$sha = $(ConvertTo-Literal $Sha)
`$work = $(ConvertTo-Literal $WorkDir)
`$headerFile = $(ConvertTo-Literal $headerFile)
if (Test-Path -LiteralPath `$work) { Remove-Item -LiteralPath `$work -Recurse -Force }
New-Item -ItemType Directory -Path `$work | Out-Null
Set-Location -LiteralPath `$work
& `$git init -q .
if (`$LASTEXITCODE -ne 0) { exit 1 }
& `$git config core.longpaths true
& `$git remote add origin $(ConvertTo-Literal $CloneUrl)
if (`$LASTEXITCODE -ne 0) { exit 1 }
if (`$headerFile) {
    `$env:GIT_CONFIG_COUNT = '1'
    `$env:GIT_CONFIG_KEY_0 = $(ConvertTo-Literal $headerKey)
    `$env:GIT_CONFIG_VALUE_0 = ([System.IO.File]::ReadAllText(`$headerFile)).Trim()
}
& `$git -c gc.auto=0 -c maintenance.auto=false -c credential.helper= fetch --no-recurse-submodules -q --depth 1 origin `$sha
if (`$LASTEXITCODE -ne 0) {
    Write-Output 'vmci: fetching the commit alone failed; fetching the whole repository'
    & `$git -c gc.auto=0 -c maintenance.auto=false -c credential.helper= fetch --no-recurse-submodules -q origin
    if (`$LASTEXITCODE -ne 0) { exit 1 }
}
exit 0
"@
}

# The fetched commit, checked out, and HEAD checked: a step of its own, once
# every process of the fetch step is gone.
function Get-CheckoutBody {
    return @"
`$git = $(ConvertTo-Literal $Git)
`$sha = $(ConvertTo-Literal $Sha)
Set-Location -LiteralPath $(ConvertTo-Literal $WorkDir)
& `$git -c advice.detachedHead=false checkout -q --detach `$sha
if (`$LASTEXITCODE -ne 0) { exit 1 }
`$head = ((& `$git rev-parse HEAD) | Out-String).Trim()
if (`$head -ne `$sha) {
    Write-Output "vmci: HEAD is `$head, not `$sha"
    exit 1
}
exit 0
"@
}

# base64("x-access-token:<GitHub token>"), for HTTP Basic authentication; '' without a token.
function Get-GitHubBasic {
    if (-not $GitHubToken) { return '' }
    return [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes('x-access-token:' + $GitHubToken))
}

# Runs the fetch step (Get-FetchBody) and returns its exit code. With the GitHub
# token (FetchAuthOrigin set), git's header goes to the step in FetchHeaderFile:
# written by SYSTEM just before the step, in Steps, where the runner may read a
# file but neither create, change, rename nor delete one, and deleted right after
# the step, once every process of the runner is stopped. While it exists, only
# the step's script and git run as the runner, and nothing of theirs is left
# afterwards: no process, handle or copy that could read it later. A scheduled
# task has no environment of its own to carry it, and its command line is
# visible to the runner's processes.
function Invoke-Fetch {
    Stop-RunnerProcesses
    if ($FetchAuthOrigin) {
        [System.IO.File]::WriteAllText($FetchHeaderFile, 'Authorization: Basic ' + (Get-GitHubBasic))
    }
    try {
        return Invoke-AsRunner 'fetch' (Get-FetchBody)
    } finally {
        Stop-RunnerProcesses
        if (Test-Path -LiteralPath $FetchHeaderFile) { Remove-Item -LiteralPath $FetchHeaderFile -Force }
    }
}

# Unpacks the build artifact's zip (which Get-Artifact put in Steps for the
# runner to read) into ArtifactDir, a fresh directory that the runner creates,
# so owns: no name or link in the zip can make SYSTEM write anything.
function Get-UnpackBody {
    return @"
`$zip = $(ConvertTo-Literal $ArtifactZip)
`$dir = $(ConvertTo-Literal $ArtifactDir)
try {
    if (Test-Path -LiteralPath `$dir) { Remove-Item -LiteralPath `$dir -Recurse -Force -ErrorAction Stop }
    New-Item -ItemType Directory -Path `$dir -ErrorAction Stop | Out-Null
    Expand-Archive -LiteralPath `$zip -DestinationPath `$dir -Force -ErrorAction Stop
} catch {
    Write-Output ('vmci: artifact: unpacking failed: ' + `$_)
    exit 1
}
exit 0
"@
}

# What the runner's reading steps (Get-ResultsBody, Get-FilesBody) share: the
# log line, the link test, one-line text and a capped read of one file.
function Get-RunnerStepHelpers {
    return @'
function Write-Log([string]$Text) {
    Write-Host ('vmci: ' + $Text)
}

function Test-Link($Item) {
    return [bool]($Item.Attributes -band [System.IO.FileAttributes]::ReparsePoint)
}

function Get-OneLine([string]$Text, [int]$Max) {
    $line = ([regex]::Replace($Text, '[\x00-\x1F\x7F]+', ' ')).Trim()
    if ($line.Length -gt $Max) {
        $cut = $Max
        if ([char]::IsHighSurrogate($line[$cut - 1])) { $cut-- }
        $line = $line.Substring(0, $cut)
    }
    return $line
}

# File PATH in memory (position 0); throws when it cannot be read or holds more than MAX bytes.
function Read-CappedFile([string]$Path, [long]$Max) {
    $stream = New-Object System.IO.FileStream($Path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::Read)
    try {
        if ($stream.Length -gt $Max) { throw "it is over $Max bytes" }
        $memory = New-Object System.IO.MemoryStream
        $chunk = New-Object byte[] 65536
        while (($count = $stream.Read($chunk, 0, $chunk.Length)) -gt 0) {
            $memory.Write($chunk, 0, $count)
            if ($memory.Length -gt $Max) { throw "it is over $Max bytes" }
        }
        $memory.Position = 0
        return $memory
    } finally {
        $stream.Dispose()
    }
}

'@
}

# The results directory belongs to the runner, which could put hard links,
# junctions or symbolic links there, or swap a file between a check and a read:
# so this script (SYSTEM) never opens a file in it. A step run as the runner
# reads the results with the runner's rights and within the caps, and writes its
# answer ({passed, failed, summary}) to ResultsAnswer: a file that this script
# made in Steps, where the runner can neither create, delete nor rename a file,
# and that it may only write (granted for the step). Once the step has ended,
# this script stops the runner's processes, takes the grant back, and opens the
# answer sharing it only for reading (so no handle can be writing it), reading
# at most ResultsAnswerMaxBytes, as untrusted data.
function Get-ResultsBody {
    $where = @"
`$answerFile = $(ConvertTo-Literal $ResultsAnswer)

"@
    return $where + (Get-RunnerStepHelpers) + @'
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0
# What is read: at most 1 MiB of summary.json, 10 MiB per JUnit file, 50 MiB in
# all, 2000 JUnit files, 32 directories deep. Past a cap a file is skipped, and logged.
$summaryJsonMaxBytes = 1048576
$junitFileMaxBytes = 10485760
$totalMaxBytes = 52428800
$maxFiles = 2000
$maxDepth = 32
$summaryMaxChars = 1000
$resultsDir = $env:VMCI_RESULTS_DIR

# A count from summary.json: a non-negative integer, else $null.
function Get-CountValue($Data, [string]$Name) {
    $property = $Data.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    $value = $property.Value
    if (($value -is [int] -or $value -is [long]) -and $value -ge 0) { return [long]$value }
    return $null
}

# An XML document from STREAM, without DTDs or external entities. The comma keeps
# PowerShell from enumerating the document's child nodes on return.
function Read-XmlStream($Stream) {
    $settings = New-Object System.Xml.XmlReaderSettings
    $settings.DtdProcessing = [System.Xml.DtdProcessing]::Prohibit
    $settings.XmlResolver = $null
    $reader = [System.Xml.XmlReader]::Create($Stream, $settings)
    try {
        $document = New-Object System.Xml.XmlDocument
        $document.XmlResolver = $null
        $document.Load($reader)
        return , $document
    } finally {
        $reader.Close()
    }
}

# Attribute NAME of ELEMENT as a non-negative integer; $null when absent or not one.
function Get-IntAttribute($Element, [string]$Name) {
    $raw = $Element.GetAttribute($Name)
    if ($raw -notmatch '^[0-9]{1,15}$') { return $null }
    return [long]$raw
}

function Get-IntOrZero($Element, [string]$Name) {
    $value = Get-IntAttribute $Element $Name
    if ($null -eq $value) { return [long]0 }
    return $value
}

# Adds to SUMS every <testsuite tests=...> under NODE that is not inside a
# counted one. Elements are read through their .NET methods: PowerShell's XML
# adapter would answer an attribute called "name" for .Name.
function Add-SuiteCounts($Node, [hashtable]$Sums) {
    foreach ($child in $Node.get_ChildNodes()) {
        if ($child.get_NodeType() -ne [System.Xml.XmlNodeType]::Element) { continue }
        if ($child.get_Name() -ceq 'testsuite' -and $null -ne (Get-IntAttribute $child 'tests')) {
            $Sums['Counted'] += 1
            $Sums['Tests'] += Get-IntOrZero $child 'tests'
            $Sums['Failures'] += Get-IntOrZero $child 'failures'
            $Sums['Errors'] += Get-IntOrZero $child 'errors'
            $Sums['Skipped'] += Get-IntOrZero $child 'skipped'
        } else {
            Add-SuiteCounts $child $Sums
        }
    }
}

# {Passed, Failed} of one JUnit XML document, or $null when it holds no counts.
# The outermost totals count: the first <testsuites> with tests=, else every
# <testsuite tests=...> not inside a counted one. A <testsuites> without
# skipped= (jest-junit) takes it from its suites.
function Get-JUnitDocumentCounts($Document) {
    $sums = @{ Counted = 0; Tests = [long]0; Failures = [long]0; Errors = [long]0; Skipped = [long]0 }
    Add-SuiteCounts $Document $sums
    $top = $null
    foreach ($element in $Document.GetElementsByTagName('testsuites')) {
        if ($null -ne (Get-IntAttribute $element 'tests')) { $top = $element; break }
    }
    if ($null -ne $top) {
        $tests = Get-IntOrZero $top 'tests'
        $failures = Get-IntOrZero $top 'failures'
        $errors = Get-IntOrZero $top 'errors'
        $skipped = Get-IntAttribute $top 'skipped'
        if ($null -eq $skipped) { $skipped = $sums['Skipped'] }
    } elseif ($sums['Counted'] -gt 0) {
        $tests = $sums['Tests']; $failures = $sums['Failures']; $errors = $sums['Errors']; $skipped = $sums['Skipped']
    } else {
        return $null
    }
    return @{ Passed = [long][Math]::Max(0, $tests - $failures - $errors - $skipped); Failed = [long]($failures + $errors) }
}

# Adds to FOUND the *.xml files in DIR and below it, through no link, stopping
# after MAXFILES + 1 of them.
function Get-XmlFiles([string]$Dir, [int]$Depth, [System.Collections.ArrayList]$Found) {
    foreach ($item in @(Get-ChildItem -LiteralPath $Dir -Force)) {
        if ($Found.Count -gt $maxFiles) { return }
        if (Test-Link $item) { continue }
        if ($item.PSIsContainer) {
            if ($Depth -lt $maxDepth) { Get-XmlFiles $item.FullName ($Depth + 1) $Found }
        } elseif ($item.Name -like '*.xml') {
            [void]$Found.Add($item)
        }
    }
}

# {Passed, Failed} summed over the JUnit XML files under DIR, or $null when none
# holds counts. A file that is not XML, or past a cap, is skipped.
function Get-JUnitCounts([string]$Dir) {
    $files = New-Object System.Collections.ArrayList
    Get-XmlFiles $Dir 0 $files
    if ($files.Count -gt $maxFiles) {
        Write-Log "there are more than $maxFiles JUnit files: reading $maxFiles of them"
        $files.RemoveRange($maxFiles, $files.Count - $maxFiles)
    }
    $passed = [long]0
    $failed = [long]0
    $total = [long]0
    $found = $false
    foreach ($file in $files) {
        try {
            if ($file.Length -gt $junitFileMaxBytes) { throw "it is over $junitFileMaxBytes bytes" }
            if ($total + $file.Length -gt $totalMaxBytes) { throw "the results are over $totalMaxBytes bytes in all" }
            $stream = Read-CappedFile $file.FullName $junitFileMaxBytes
            if ($total + $stream.Length -gt $totalMaxBytes) { throw "the results are over $totalMaxBytes bytes in all" }
            $total += $stream.Length
            $counts = Get-JUnitDocumentCounts (Read-XmlStream $stream)
            if ($null -eq $counts) { continue }
            $passed += $counts.Passed
            $failed += $counts.Failed
            $found = $true
        } catch {
            Write-Log ('skipping {0}: {1}' -f $file.FullName, (Get-OneLine ([string]$_.Exception.Message) 300))
        }
    }
    if (-not $found) { return $null }
    return @{ Passed = $passed; Failed = $failed }
}

$passed = $null
$failed = $null
$summary = ''
try {
    if (Test-Link (Get-Item -LiteralPath $resultsDir -Force)) { throw 'the results directory is a link' }
    $summaryFile = Join-Path $resultsDir 'summary.json'
    $summaryItem = Get-Item -LiteralPath $summaryFile -Force -ErrorAction SilentlyContinue
    $text = $null
    if ($null -ne $summaryItem -and -not $summaryItem.PSIsContainer) {
        try {
            if (Test-Link $summaryItem) { throw 'it is a link' }
            $reader = New-Object System.IO.StreamReader((Read-CappedFile $summaryFile $summaryJsonMaxBytes), [System.Text.Encoding]::UTF8, $true)
            try { $text = $reader.ReadToEnd() } finally { $reader.Dispose() }
        } catch {
            Write-Log ('skipping summary.json: {0}' -f (Get-OneLine ([string]$_.Exception.Message) 300))
        }
    }
    if ($null -ne $text) {
        $data = $text | ConvertFrom-Json
        if ($data -is [System.Management.Automation.PSCustomObject]) {
            $passed = Get-CountValue $data 'passed'
            $failed = Get-CountValue $data 'failed'
            $property = $data.PSObject.Properties['summary']
            if ($null -ne $property -and $property.Value -is [string]) { $summary = Get-OneLine $property.Value $summaryMaxChars }
        } else {
            Write-Log 'summary.json does not hold an object'
        }
    } else {
        $counts = Get-JUnitCounts $resultsDir
        if ($null -ne $counts) {
            $passed = $counts.Passed
            $failed = $counts.Failed
        }
    }
} catch {
    Write-Log ('could not read the results: {0}' -f (Get-OneLine ([string]$_.Exception.Message) 300))
}
$answer = ConvertTo-Json -InputObject ([ordered]@{ passed = $passed; failed = $failed; summary = $summary }) -Compress
$bytes = [System.Text.Encoding]::UTF8.GetBytes($answer)
$out = New-Object System.IO.FileStream($answerFile, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Write, [System.IO.FileShare]::None)
try {
    $out.SetLength(0)
    $out.Write($bytes, 0, $bytes.Length)
} finally {
    $out.Dispose()
}
exit 0
'@
}

# The result files to upload, read as the runner as the results are (see
# Get-ResultsBody): every regular file in the results directory (not hidden, as
# on Linux: no name starting with a dot; not in such a directory; through no
# link), within the caps, in name order, written to FilesStream (a file this
# script made in Steps, as the results' answer) as "file SIZE NAME", a line
# feed and the SIZE bytes, as the Linux script's files_as_runner does. Each file
# is copied (capped) before it is measured and written, so a file that changes
# meanwhile goes as it was copied. What it skips it says on a "vmci: " line.
function Get-FilesBody {
    $where = @"
`$streamFile = $(ConvertTo-Literal $FilesStream)

"@
    return $where + (Get-RunnerStepHelpers) + @'
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0
# What is uploaded: 10 MiB a file, 50 MiB and 500 files in all, 32 directories
# deep, names of at most 512 characters. Past a cap a file is skipped, and logged.
$fileMaxBytes = 10485760
$totalMaxBytes = 52428800
$maxFiles = 500
$maxDepth = 32
$nameMaxChars = 512
$resultsDir = $env:VMCI_RESULTS_DIR

# The test file name for PATH ('/' between its parts): results/ and the path,
# other characters than A-Z a-z 0-9 . _ - / made _; $null when it still does not
# fit (1 to 32 segments of 1 to 100 characters, not . or .., 512 in all).
function Get-UploadName([string]$Path) {
    $name = 'results/' + [regex]::Replace($Path, '[^A-Za-z0-9._/-]', '_')
    if ($name.Length -gt $nameMaxChars) { return $null }
    if ($name -cnotmatch '^results/([A-Za-z0-9._-]{1,100}/){0,31}[A-Za-z0-9._-]{1,100}\z') { return $null }
    foreach ($segment in $name.Substring(8).Split('/')) {
        if ($segment -eq '.' -or $segment -eq '..') { return $null }
    }
    return $name
}

# Adds to FOUND (path => item) the files in DIR and below it, PREFIX before their
# paths, through no link, none hidden, stopping after MAXFILES + 1 of them.
function Get-ResultFiles([string]$Dir, [string]$Prefix, [int]$Depth, [System.Collections.Hashtable]$Found) {
    foreach ($item in @(Get-ChildItem -LiteralPath $Dir -Force)) {
        if ($Found.Count -gt $maxFiles) { return }
        if ($item.Name.StartsWith('.')) { continue }
        if (Test-Link $item) { continue }
        if ($item.PSIsContainer) {
            if ($Depth + 1 -lt $maxDepth) { Get-ResultFiles $item.FullName ($Prefix + $item.Name + '/') ($Depth + 1) $Found }
        } else {
            $Found[$Prefix + $item.Name] = $item
        }
    }
}

$out = New-Object System.IO.FileStream($streamFile, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Write, [System.IO.FileShare]::None)
try {
    $out.SetLength(0)
    # Case-sensitive, unlike @{}: names are.
    $found = New-Object System.Collections.Hashtable
    try {
        if (Test-Link (Get-Item -LiteralPath $resultsDir -Force)) { throw 'the results directory is a link' }
        Get-ResultFiles $resultsDir '' 0 $found
    } catch {
        Write-Log ('could not list the result files: {0}' -f (Get-OneLine ([string]$_.Exception.Message) 300))
    }
    $paths = [string[]]@($found.Keys)
    [Array]::Sort($paths, [System.StringComparer]::Ordinal)
    if ($paths.Length -gt $maxFiles) {
        Write-Log "there are more than $maxFiles result files: uploading $maxFiles of them"
        $paths = $paths[0..($maxFiles - 1)]
    }
    $seen = New-Object System.Collections.Hashtable
    $total = [long]0
    foreach ($path in $paths) {
        $item = $found[$path]
        $skip = ''
        $memory = $null
        $name = Get-UploadName $path
        if ($null -eq $name) {
            $skip = 'its name does not fit (1 to 100 of A-Z a-z 0-9 . _ - a segment, 512 in all)'
        } elseif ($seen.ContainsKey($name)) {
            $skip = "another file is uploaded as $name"
        } elseif ($item.Length -gt $fileMaxBytes) {
            $skip = "it is over $fileMaxBytes bytes"
        } elseif ($total + $item.Length -gt $totalMaxBytes) {
            $skip = "the result files are over $totalMaxBytes bytes in all"
        } else {
            try {
                $memory = Read-CappedFile $item.FullName $fileMaxBytes
                if ($total + $memory.Length -gt $totalMaxBytes) { $skip = "the result files are over $totalMaxBytes bytes in all" }
            } catch {
                $skip = 'it cannot be read: ' + (Get-OneLine ([string]$_.Exception.Message) 200)
            }
        }
        if ($skip) {
            Write-Log ('not uploading {0}: {1}' -f (Get-OneLine $path 200), $skip)
            continue
        }
        $seen[$name] = $true
        $total += $memory.Length
        $header = [System.Text.Encoding]::ASCII.GetBytes('file ' + $memory.Length + ' ' + $name + "`n")
        $out.Write($header, 0, $header.Length)
        $memory.WriteTo($out)
    }
} finally {
    $out.Dispose()
}
exit 0
'@
}

# A fresh results directory; the command, in the checkout, with
# VMCI_ARTIFACT_DIR when a build artifact was unpacked (TestArtifactDir). The
# exit code: the one it exits with (exit N, or its last program's), 1 if it
# throws, else 0.
function Get-TestBody {
    return @"
`$results = $(ConvertTo-Literal $ResultsDir)
if (Test-Path -LiteralPath `$results) { Remove-Item -LiteralPath `$results -Recurse -Force }
New-Item -ItemType Directory -Path `$results | Out-Null
Set-Location -LiteralPath $(ConvertTo-Literal $WorkDir)
`$vmciCommand = $(ConvertTo-Literal $TestCommand)
`$vmciArtifact = $(ConvertTo-Literal $TestArtifactDir)
if (`$vmciArtifact) { `$env:VMCI_ARTIFACT_DIR = `$vmciArtifact }
`$global:LASTEXITCODE = 0
try {
    . ([scriptblock]::Create(`$vmciCommand))
} catch {
    Write-Output ('vmci: the test command failed: ' + `$_)
    exit 1
}
if (`$LASTEXITCODE -is [int] -and `$LASTEXITCODE -ne 0) { exit `$LASTEXITCODE }
exit 0
"@
}

# --- the result ---------------------------------------------------------------------

# A count from the answer: a non-negative integer, else $null.
function Get-CountValue($Data, [string]$Name) {
    $property = $Data.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    $value = $property.Value
    if (($value -is [int] -or $value -is [long]) -and $value -ge 0) { return [long]$value }
    return $null
}

# The answer of the results step, {Passed, Failed, Summary}, read as untrusted
# data from the file this script made (see Get-ResultsBody).
function Read-ResultsAnswer {
    $stream = New-Object System.IO.FileStream($ResultsAnswer, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::Read)
    try {
        if ($stream.Length -gt $ResultsAnswerMaxBytes) { throw "the answer is over $ResultsAnswerMaxBytes bytes" }
        $bytes = New-Object byte[] ([int]$stream.Length)
        $read = 0
        while ($read -lt $bytes.Length) {
            $count = $stream.Read($bytes, $read, $bytes.Length - $read)
            if ($count -le 0) { break }
            $read += $count
        }
    } finally {
        $stream.Dispose()
    }
    $data = [System.Text.Encoding]::UTF8.GetString($bytes, 0, $read) | ConvertFrom-Json
    if (-not ($data -is [System.Management.Automation.PSCustomObject])) { throw 'the answer is not an object' }
    $summary = ''
    $property = $data.PSObject.Properties['summary']
    if ($null -ne $property -and $property.Value -is [string]) { $summary = Get-OneLine $property.Value $SummaryMaxChars }
    return @{ Passed = (Get-CountValue $data 'passed'); Failed = (Get-CountValue $data 'failed'); Summary = $summary }
}

# The `completed` result for EXITCODE, with the counts the runner read from the
# results directory (Get-ResultsBody).
function Get-TestResult([int]$ExitCode) {
    $passed = $null
    $failed = $null
    $summary = ''
    try {
        [System.IO.File]::WriteAllText($ResultsAnswer, '')
        if (-not $Local) {
            Invoke-Native 'icacls.exe' @($ResultsAnswer, '/grant', "*${RunnerSid}:(W)")
        }
        $code = Invoke-AsRunner 'results' (Get-ResultsBody) $ResultsTimeLimitSeconds
        Stop-RunnerProcesses
        if (-not $Local) {
            Invoke-Native 'icacls.exe' @($ResultsAnswer, '/remove:g', "*$RunnerSid")
        }
        if ($code -ne 0) { throw "the step that reads them exited with $code" }
        $answer = Read-ResultsAnswer
        $passed = $answer.Passed
        $failed = $answer.Failed
        $summary = $answer.Summary
    } catch {
        Write-Log ('could not read the results: {0}' -f (Get-ErrorLine $_))
        Stop-RunnerProcesses
    }
    if (-not $summary) {
        if ($null -ne $passed -and $null -ne $failed) {
            $summary = "$passed passed, $failed failed"
        } else {
            $summary = "exit code $ExitCode"
        }
    }
    return [ordered]@{ exitCode = $ExitCode; passed = $passed; failed = $failed; summary = $summary }
}

# --- the build artifact ---------------------------------------------------------------

# The host (and port) of URL, for messages (a storage URL's signature is never logged).
function Get-UrlHost([string]$Url) {
    if ($Url -match '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)') {
        $authority = $Matches[1]
        return $authority.Substring($authority.LastIndexOf('@') + 1)
    }
    return ''
}

# " 'NAME'" for messages, the artifact's name cut to MAX characters; '' without a name.
function Get-ArtifactLabel([int]$Max) {
    if (-not $ArtifactName) { return '' }
    return " '" + (Get-OneLine $ArtifactName $Max) + "'"
}

# REQUEST's response, also a 4xx or 5xx one (GetResponse throws those); throws
# when no answer came. Dispose of it.
function Get-WebResponse($Request) {
    try {
        return $Request.GetResponse()
    } catch {
        $exception = $_.Exception
        while ($null -ne $exception) {
            if ($exception -is [System.Net.WebException] -and $null -ne $exception.Response) { return $exception.Response }
            $exception = $exception.InnerException
        }
        throw
    }
}

# Downloads URL (http or https) with no credentials, redirects followed, into
# file PATH, at most MAX bytes. Returns 'done', 'retry' or 'fail' (over MAX).
function Save-Download([string]$Url, [string]$Path, [long]$Max) {
    $server = Get-UrlHost $Url
    $request = [System.Net.WebRequest]::Create($Url)
    $request.Method = 'GET'
    $request.AllowAutoRedirect = $true
    $request.MaximumAutomaticRedirections = 5
    $request.UseDefaultCredentials = $false
    $request.Credentials = $null
    $request.UserAgent = 'vm-ci'
    $request.Timeout = 60000
    # A read that waits this long for a byte ends the try.
    $request.ReadWriteTimeout = 60000
    try {
        $response = Get-WebResponse $request
    } catch {
        Write-Log ('artifact: no answer from {0}: {1}' -f $server, (Get-ErrorLine $_))
        return 'retry'
    }
    try {
        $status = [int]$response.StatusCode
        if ($status -lt 200 -or $status -ge 300) {
            Write-Log "artifact: HTTP $status from $server"
            return 'retry'
        }
        if ($response.ContentLength -gt $Max) {
            Write-Log "artifact: the zip is over $Max bytes"
            return 'fail'
        }
        $deadline = [DateTime]::UtcNow.AddSeconds($ArtifactDownloadSeconds)
        $in = $response.GetResponseStream()
        $out = New-Object System.IO.FileStream($Path, [System.IO.FileMode]::Create, [System.IO.FileAccess]::Write, [System.IO.FileShare]::None)
        try {
            $buffer = New-Object byte[] 1048576
            $written = [long]0
            while (($count = $in.Read($buffer, 0, $buffer.Length)) -gt 0) {
                $written += $count
                if ($written -gt $Max) {
                    Write-Log "artifact: the zip is over $Max bytes"
                    return 'fail'
                }
                $out.Write($buffer, 0, $count)
                if ([DateTime]::UtcNow -gt $deadline) {
                    Write-Log "artifact: the download from $server took more than $ArtifactDownloadSeconds s"
                    return 'retry'
                }
            }
        } finally {
            $out.Dispose()
            $in.Dispose()
        }
        return 'done'
    } catch {
        Write-Log ('artifact: the download from {0} failed: {1}' -f $server, (Get-ErrorLine $_))
        return 'retry'
    } finally {
        $response.Close()
    }
}

# One try at the build artifact into file PATH. GitHub's API answers a redirect
# to a short-lived storage URL on another host: the request that carries the
# GitHub token does not follow it (AllowAutoRedirect off), so the token goes to
# the API host only, and the storage URL is fetched without it (Save-Download).
# Returns 'done', 'retry' (408, 429, 5xx, no answer, a failed download) or 'fail'.
function Invoke-ArtifactTry([string]$Path) {
    $server = Get-UrlHost $ArtifactUrl
    $request = [System.Net.WebRequest]::Create($ArtifactUrl)
    $request.Method = 'GET'
    $request.AllowAutoRedirect = $false
    $request.UseDefaultCredentials = $false
    $request.UserAgent = 'vm-ci'
    $request.Accept = 'application/vnd.github+json'
    $request.Timeout = 60000
    $request.ReadWriteTimeout = 60000
    $request.Headers.Add('X-GitHub-Api-Version', '2022-11-28')
    if ($GitHubToken) { $request.Headers.Add('Authorization', 'Bearer ' + $GitHubToken) }
    try {
        $response = Get-WebResponse $request
    } catch {
        Write-Log ('artifact: no answer from {0}: {1}' -f $server, (Get-ErrorLine $_))
        return 'retry'
    }
    try {
        $status = [int]$response.StatusCode
        $location = [string]$response.Headers['Location']
    } finally {
        $response.Close()
    }
    if (@(301, 302, 303, 307, 308) -notcontains $status) {
        if ($status -eq 408 -or $status -eq 429 -or $status -ge 500) {
            Write-Log "artifact: HTTP $status from $server"
            return 'retry'
        }
        Write-Log "artifact: HTTP $status from $server (no redirect to the zip)"
        return 'fail'
    }
    if ($location -notmatch '^https?://') {
        Write-Log "artifact: $server redirected to no http(s) URL"
        return 'fail'
    }
    return Save-Download $location $Path $ArtifactMaxBytes
}

# Downloads the build artifact (as SYSTEM) into file PATH: ArtifactTries tries,
# with the reports' back-off between them. Returns whether it is there.
function Save-Artifact([string]$Path) {
    $delay = $ReportDelaySeconds
    for ($try = 1; ; $try++) {
        $outcome = Invoke-ArtifactTry $Path
        if ($outcome -eq 'done') { return $true }
        if ($outcome -eq 'fail') { return $false }
        if ($try -ge $ArtifactTries) {
            Write-Log "artifact: giving up after $try tries"
            return $false
        }
        Write-Log "artifact: retrying in ${delay}s (try $try of $ArtifactTries)"
        Start-Sleep -Milliseconds ([int]($delay * 1000))
        $delay = [Math]::Min($delay * 2, $ReportMaxDelaySeconds)
    }
}

# The build artifact: downloaded by SYSTEM into Private, then moved to Steps,
# where the runner may read it (granted) but not change it, and unpacked by the
# runner (Get-UnpackBody) into ArtifactDir. Returns whether it was unpacked; what
# went wrong goes to the console and the log.
function Get-Artifact {
    $zip = Join-Path $Private 'artifact.zip'
    Write-Log ('downloading the build artifact' + (Get-ArtifactLabel 100))
    if (-not (Save-Artifact $zip)) { return $false }
    Write-Log ('artifact: {0} bytes, unpacking it into {1}' -f (Get-Item -LiteralPath $zip).Length, $ArtifactDir)
    if (Test-Path -LiteralPath $ArtifactZip) { Remove-Item -LiteralPath $ArtifactZip -Force }
    [System.IO.File]::Move($zip, $ArtifactZip)
    try {
        if (-not $Local) {
            Invoke-Native 'icacls.exe' @($ArtifactZip, '/grant', "*${RunnerSid}:(R)")
        }
        $code = Invoke-AsRunner 'unpack' (Get-UnpackBody)
    } finally {
        Stop-RunnerProcesses
        Remove-Item -LiteralPath $ArtifactZip -Force
    }
    if ($code -ne 0) {
        Write-Log "artifact: unpacking failed (exit $code)"
        return $false
    }
    return $true
}

# --- the log and the uploads ----------------------------------------------------------

# COUNT bytes from STREAM; $null when it ends before.
function Read-StreamBytes($Stream, [long]$Count) {
    $bytes = New-Object byte[] $Count
    $read = 0
    while ($read -lt $Count) {
        $got = $Stream.Read($bytes, $read, $Count - $read)
        if ($got -le 0) { return $null }
        $read += $got
    }
    return , $bytes
}

# The next line of STREAM (ASCII, without its line feed), at most MAX bytes; ''
# when it is longer or ends without a line feed; $null at the end of STREAM.
function Read-StreamLine($Stream, [int]$Max) {
    $line = New-Object System.Text.StringBuilder
    for ($i = 0; $i -le $Max; $i++) {
        $byte = $Stream.ReadByte()
        if ($byte -lt 0) {
            if ($i -eq 0) { return $null }
            return ''
        }
        if ($byte -eq 10) { return $line.ToString() }
        [void]$line.Append([char]$byte)
    }
    return ''
}

# Whether NAME is one that vm-ci takes for a test file: log.txt, or results/
# and 1 to 32 segments of 1 to 100 of A-Z a-z 0-9 . _ - (not . or ..),
# FileNameMaxChars in all.
function Test-FileName([string]$Name) {
    if ($Name -ceq 'log.txt') { return $true }
    if ($Name.Length -gt $FileNameMaxChars) { return $false }
    if ($Name -cnotmatch '^results/([A-Za-z0-9._-]{1,100}/){0,31}[A-Za-z0-9._-]{1,100}\z') { return $false }
    foreach ($segment in $Name.Substring(8).Split('/')) {
        if ($segment -eq '.' -or $segment -eq '..') { return $false }
    }
    return $true
}

# Has the runner write the result files to FilesStream (Get-FilesBody), exactly
# as the results' answer is made and taken back (see Get-TestResult): made by
# SYSTEM, writable by the runner during the step only, the grant taken back once
# the runner's processes are stopped. Returns whether FilesStream may be read.
function Invoke-FilesStep {
    try {
        [System.IO.File]::WriteAllText($FilesStream, '')
        if (-not $Local) {
            Invoke-Native 'icacls.exe' @($FilesStream, '/grant', "*${RunnerSid}:(W)")
        }
        try {
            $code = Invoke-AsRunner 'files' (Get-FilesBody) $ResultsTimeLimitSeconds
            if ($code -ne 0) { Write-Log "the step that reads the result files exited with $code" }
        } catch {
            # What it wrote before it was stopped still goes up.
            Write-Log ('could not read all the result files: {0}' -f (Get-ErrorLine $_))
        }
        Stop-RunnerProcesses
        if (-not $Local) {
            Invoke-Native 'icacls.exe' @($FilesStream, '/remove:g', "*$RunnerSid")
        }
        return $true
    } catch {
        Write-Log ('could not read the result files: {0}' -f (Get-ErrorLine $_))
        Stop-RunnerProcesses
        return $false
    }
}

# Uploads the result files in FilesStream, read as untrusted data: each header
# and size is checked against the caps, and the first thing out of place ends
# the uploads. Opened sharing it only for reading, so no handle can be writing it.
function Send-ResultFiles {
    $stream = New-Object System.IO.FileStream($FilesStream, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::Read)
    try {
        $count = 0
        $total = [long]0
        while ($true) {
            $line = Read-StreamLine $stream 700
            if ($null -eq $line) { break }
            $size = -1
            $name = ''
            if ($line -cmatch '^file ([0-9]{1,9}) (results/[^\n]+)\z') {
                $size = [long]$Matches[1]
                $name = $Matches[2]
            }
            if ($size -lt 0 -or -not (Test-FileName $name)) {
                Write-Log 'the result files came back garbled: uploading no more of them'
                break
            }
            $count++
            $total += $size
            if ($count -gt $UploadMaxFiles -or $size -gt $UploadFileMaxBytes -or $total -gt $UploadTotalMaxBytes) {
                Write-Log 'the result files came back over the caps: uploading no more of them'
                break
            }
            $bytes = Read-StreamBytes $stream $size
            if ($null -eq $bytes) {
                Write-Log 'the result files came back cut short: uploading no more of them'
                break
            }
            if ([DateTime]::UtcNow -ge $UploadDeadline) {
                Write-Log "uploads: out of time ($UploadTimeLimitSeconds s), skipping the other files"
                break
            }
            if ((Send-File $name $bytes) -eq 'stop') { break }
        }
    } finally {
        $stream.Dispose()
    }
}

# The log as it is uploaded: over LogUploadMaxBytes, its first LogHeadBytes, a
# marker line and its end, LogUploadMaxBytes in all (as the Linux script); every
# secret replaced by [redacted] (again: Add-LogLine wrote it redacted), byte for
# byte (Latin-1 maps each byte to one character and back).
function Get-LogUpload {
    $stream = New-Object System.IO.FileStream($LogFile, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::ReadWrite)
    try {
        $size = $stream.Length
        $memory = New-Object System.IO.MemoryStream
        if ($size -le $LogUploadMaxBytes) {
            $all = Read-StreamBytes $stream $size
            $memory.Write($all, 0, $all.Length)
        } else {
            $head = Read-StreamBytes $stream $LogHeadBytes
            $newline = ''
            if ($head[$head.Length - 1] -ne 10) { $newline = "`n" }
            # The marker tells how much is cut, which depends on the marker's own length.
            $cut = $size - $LogUploadMaxBytes
            for ($i = 0; $i -lt 3; $i++) {
                $marker = [System.Text.Encoding]::UTF8.GetBytes(('{0}vmci: {1} {2} bytes cut {1}' -f $newline, [char]0x2026, $cut) + "`n")
                $tailBytes = $LogUploadMaxBytes - $LogHeadBytes - $marker.Length
                $cut = $size - $LogHeadBytes - $tailBytes
            }
            [void]$stream.Seek($size - $tailBytes, [System.IO.SeekOrigin]::Begin)
            $tail = Read-StreamBytes $stream $tailBytes
            $memory.Write($head, 0, $head.Length)
            $memory.Write($marker, 0, $marker.Length)
            $memory.Write($tail, 0, $tail.Length)
        }
    } finally {
        $stream.Dispose()
    }
    $latin1 = [System.Text.Encoding]::GetEncoding(28591)
    $text = $latin1.GetString($memory.ToArray())
    foreach ($secret in $Secrets) {
        if ($secret) { $text = $text.Replace($latin1.GetString([System.Text.Encoding]::UTF8.GetBytes($secret)), '[redacted]') }
    }
    return , $latin1.GetBytes($text)
}

# Before the final report: the log, then (when the command ran) the result files
# go to vm-ci, within UploadTimeLimitSeconds in all (the result files are read
# first, so that the log tells what was skipped). A 409 ends the uploads (the
# report gets one too); a file refused or given up is skipped. Never throws:
# the final report goes whatever happens here.
function Send-Files {
    if ($Uploaded -or -not $LogStarted) { return }
    $script:Uploaded = $true
    $script:UploadDeadline = [DateTime]::UtcNow.AddSeconds($UploadTimeLimitSeconds)
    try {
        $haveFiles = $false
        if ($CommandRan) {
            Write-Log 'reading the result files to upload'
            $haveFiles = Invoke-FilesStep
        }
        $log = $null
        try {
            $log = Get-LogUpload
        } catch {
            Write-Log ('could not read the log: {0}' -f (Get-ErrorLine $_))
        }
        if ($null -ne $log) {
            Write-Log 'uploading log.txt'
            if ((Send-File 'log.txt' $log) -eq 'stop') { return }
        }
        if ($haveFiles) { Send-ResultFiles }
    } catch {
        Write-Log ('uploads: {0}' -f (Get-ErrorLine $_))
    }
}

# --- main -------------------------------------------------------------------------------

# The log (see Start-Log): lines before it opens wait in EarlyLog; Secrets are
# what Add-LogLine redacts.
$LogWriter = $null
$LogStarted = $false
$EarlyLog = New-Object System.Collections.ArrayList
$Secrets = @()
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
# 5.1 runs on .NET Framework, whose default may still be TLS 1.0: HTTPS needs 1.2.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
# No "Expect: 100-continue" round trip before a body (as curl -H 'Expect:' on Linux).
[Net.ServicePointManager]::Expect100Continue = $false
$Local = (Get-EnvValue 'VMCI_LOCAL') -eq '1'
$MetadataUrl = Get-EnvValue 'VMCI_METADATA_URL'
if ($MetadataUrl) { $MetadataUrl = $MetadataUrl.TrimEnd('/') } else { $MetadataUrl = 'http://metadata.google.internal/computeMetadata/v1' }
$ReportAttempts = [int][Math]::Floor((Get-EnvNumber 'VMCI_REPORT_ATTEMPTS' 8 1))
$ReportDelaySeconds = Get-EnvNumber 'VMCI_REPORT_DELAY_SECONDS' 2 0
if ($Local) {
    $Root = Join-Path (Get-Location).Path 'vmci'
} else {
    $Root = Join-Path $env:SystemDrive 'vmci'
}
$State = Join-Path $Root 'state'
$Steps = Join-Path $Root 'steps'
$RunnerDir = Join-Path $Root 'runner'
$WorkDir = Join-Path $RunnerDir 'work'
$ResultsDir = Join-Path $RunnerDir 'results'
$ResultsAnswer = Join-Path $Steps 'results-answer.json'
$Private = Join-Path $Root 'private'
$LogFile = Join-Path $Private 'log.txt'
$FilesStream = Join-Path $Steps 'results-files.stream'
$FetchHeaderFile = Join-Path $Steps 'fetch-header.txt'
$ArtifactZip = Join-Path $Steps 'artifact.zip'
$ArtifactDir = Join-Path $RunnerDir 'artifact'
$TestArtifactDir = ''
$FetchAuthOrigin = ''
$RunnerSid = $null
$RunnerPassword = $null
$Git = $null
$PreparationReported = $false
$CommandRan = $false
$Uploaded = $false
$UploadDeadline = [DateTime]::MinValue

# 1. The test. Without somewhere to report to, there is nothing to do.
$TestId = Get-OneLine (Get-Attribute 'vmci-test-id') 200
$CallbackUrl = ([string](Get-Attribute 'vmci-callback-url')).Trim()
$Token = ([string](Get-Attribute 'vmci-token')).Trim()
if (-not $TestId -or -not $CallbackUrl -or -not $Token) {
    Write-Log 'vmci-test-id, vmci-callback-url or vmci-token is missing from the metadata: nothing to report to'
    Stop-Vm 1
}
$Repo = Get-OneLine (Get-Attribute 'vmci-repo') 200
$Platform = Get-OneLine (Get-Attribute 'vmci-platform') 100
$Absent = @()
$Sha = Get-Attribute 'vmci-sha'
if ($null -eq $Sha) { $Absent += 'vmci-sha' }
$Sha = Get-OneLine $Sha 100
$CloneUrl = Get-Attribute 'vmci-clone-url'
if ($null -eq $CloneUrl) { $Absent += 'vmci-clone-url' }
$CloneUrl = Get-OneLine $CloneUrl 2000
$TestCommand = Get-Attribute 'vmci-test-command'
if ($null -eq $TestCommand) { $Absent += 'vmci-test-command'; $TestCommand = '' }
# Optional: absent (404) turns the feature off; no answer at all fails the test.
$Unread = @()
$GitHubToken = ''
$ArtifactUrl = ''
$ArtifactName = ''
try { $GitHubToken = ([string](Get-Attribute 'vmci-github-token' -Optional)).Trim() } catch { $Unread += 'vmci-github-token' }
try { $ArtifactUrl = ([string](Get-Attribute 'vmci-artifact-url' -Optional)).Trim() } catch { $Unread += 'vmci-artifact-url' }
try { $ArtifactName = Get-OneLine (Get-Attribute 'vmci-artifact-name' -Optional) 200 } catch { $Unread += 'vmci-artifact-name' }
$Secrets = @($Token, $GitHubToken, (Get-GitHubBasic))
Write-Log ('test {0}: {1}@{2} on {3}' -f $TestId, $Repo, $Sha, $Platform)

try {
    Initialize-Directories
    Start-Log
} catch {
    Write-Log ('cannot create {0}: {1}' -f $Root, (Get-ErrorLine $_))
    [void](Send-Report 'failed' 'Could not create the work directory' $null)
    Stop-Vm 1
}
# Startup scripts run at every boot: a second boot is not a second run.
if (Test-Path -LiteralPath (Join-Path $State 'done')) {
    Write-Log 'this VM already ran its test'
    Stop-Vm 0
}
if (Test-Path -LiteralPath (Join-Path $State 'started')) {
    Stop-WithFailure 'The VM restarted before the tests finished'
}
New-Item -ItemType File -Force -Path (Join-Path $State 'started') | Out-Null

# 2.
Stop-UnlessWanted (Send-Report 'preparation' '' $null)
$PreparationReported = $true

try {
    if ($Absent.Count -gt 0) { Stop-WithFailure ('The VM metadata lacks ' + ($Absent -join ' ')) }
    if ($Unread.Count -gt 0) { Stop-WithFailure ('Could not read the VM metadata: ' + ($Unread -join ' ')) }
    if ($Sha -cnotmatch '^[0-9a-f]{40}$') { Stop-WithFailure 'The VM metadata has no valid commit (vmci-sha)' }
    # https://, file://, or an absolute path (C:\..., \\server\..., /...).
    if ($CloneUrl -notmatch '^(https?://|file://|/|\\\\|[A-Za-z]:[\\/])') {
        Stop-WithFailure 'The VM metadata has no valid clone URL (vmci-clone-url)'
    }
    if (-not $TestCommand.Trim()) { Stop-WithFailure 'The VM metadata has an empty test command' }
    if ($ArtifactUrl -and $ArtifactUrl -notmatch '^https?://') {
        Stop-WithFailure 'The VM metadata has no valid artifact URL (vmci-artifact-url)'
    }
    # The origin (scheme://host[:port]) whose fetches get the GitHub token.
    if ($GitHubToken -and $CloneUrl -match '^(https?://[^/?#]+)') { $FetchAuthOrigin = $Matches[1] }
    $Sha7 = $Sha.Substring(0, 7)

    # 3. Prepare, as SYSTEM.
    $Git = Invoke-Stage 'Could not install the packages the test needs' { Install-Git }
    if ($Local) {
        Write-Log ('local mode: the tests run as {0}, not isolated from the metadata server' -f [Environment]::UserName)
    } else {
        $RunnerPassword = New-RunnerPassword
        $RunnerSid = Invoke-Stage 'Could not create the test user' {
            $sid = New-Runner $RunnerPassword
            Grant-RunnerDirectories $sid
            try {
                Grant-BatchLogonRight $sid
            } catch {
                Write-Log ('could not grant {0} the batch logon right: {1}' -f $RunnerName, (Get-ErrorLine $_))
            }
            $sid
        }
        Invoke-Stage 'Could not cut the test user off from the metadata server' { Block-RunnerFromMetadata $RunnerSid }
        # The first step as the runner: also shows that steps can run as it.
        $isolation = Invoke-Stage 'Could not run commands as the test user' {
            Invoke-AsRunner 'isolation' (Get-IsolationCheckBody)
        }
        if ($isolation -ne 0) {
            Write-Log "the metadata server answers $RunnerName (the check exited with $isolation)"
            Stop-WithFailure 'Could not cut the test user off from the metadata server'
        }
        Write-Log "the metadata server does not answer $RunnerName"
    }

    # 4. The commit, as the runner; then the build artifact.
    $with = ''
    if ($FetchAuthOrigin) { $with = ' (with the GitHub token)' }
    Write-Log "fetching $Sha from $CloneUrl$with"
    $fetched = Invoke-Stage "Could not fetch commit $Sha7" { Invoke-Fetch }
    if ($fetched -ne 0) { Stop-WithFailure "Could not fetch commit $Sha7" }
    $checkedOut = Invoke-Stage "Could not fetch commit $Sha7" { Invoke-AsRunner 'checkout' (Get-CheckoutBody) }
    if ($checkedOut -ne 0) { Stop-WithFailure "Could not fetch commit $Sha7" }
    if ($ArtifactUrl) {
        $artifactFailure = 'Could not download the build artifact' + (Get-ArtifactLabel 90)
        $unpacked = Invoke-Stage $artifactFailure { Get-Artifact }
        if (-not $unpacked) { Stop-WithFailure $artifactFailure }
        $TestArtifactDir = $ArtifactDir
    }
} catch {
    Write-Log ('unexpected error: {0}' -f (Get-ErrorLine $_))
    Stop-WithFailure 'The VM startup script stopped unexpectedly'
}

# 5.
Stop-UnlessWanted (Send-Report 'testing' '' $null)

# 6. The tests, as the runner.
Write-Log "running: $TestCommand"
$CommandRan = $true
try {
    $ExitCode = Invoke-AsRunner 'test' (Get-TestBody)
} catch {
    Write-Log ('could not run the test command: {0}' -f (Get-ErrorLine $_))
    Stop-WithFailure 'Could not run the test command'
}
Write-Log "the test command exited with $ExitCode"
Stop-RunnerProcesses

# 7, 8. The results, read as the runner.
$Result = Get-TestResult $ExitCode
Write-Log ('result: ' + $Result['summary'])
Send-Files
$Outcome = Send-Report 'completed' '' $Result
Set-Done
if ($Outcome -eq 'undelivered') { Stop-Vm 1 }
Stop-Vm 0
