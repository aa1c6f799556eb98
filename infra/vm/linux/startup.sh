#!/bin/bash
# vm-ci's Linux VM startup script (DESIGN §6; the contract is in infra/vm/README.md).
# It runs as root on a fresh VM (as the `startup-script` metadata key), fetches
# one commit, runs the platform's test command as the unprivileged user
# vmci-runner, reports to vm-ci's progress endpoint and powers off.
# VMCI_LOCAL=1 (the local Compute stand-in) skips only what needs root or a real VM.
#
# Only bash, coreutils, findutils, grep, sed, curl and git are needed (iptables, useradd,
# runuser, apt-get and, for a build artifact, unzip on a real VM). Never enable shell
# tracing here: the tokens are in variables.
#
# Sourcing this file defines the functions and runs nothing (the tests do that).

# No -e: every failure is handled so that it can be reported.
set -uo pipefail
# bash 5.2 would treat & in ${var//pattern/replacement} as the match.
shopt -u patsub_replacement 2>/dev/null || true
# Character-aware truncation and classes; C.UTF-8 is built into glibc >= 2.35.
LC_ALL=C.UTF-8 2>/dev/null

readonly RUNNER_USER=vmci-runner
readonly DEFAULT_METADATA_URL=http://metadata.google.internal/computeMetadata/v1
readonly METADATA_IPV4=169.254.169.254
readonly METADATA_IPV6=fd20:ce::254
readonly STANDARD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly SUMMARY_MAX_CHARS=1000
readonly MESSAGE_MAX_CHARS=300
# What is read from VMCI_RESULTS_DIR (as the runner, see read_results): at most
# 1 MiB of summary.json, 10 MiB per JUnit file, 50 MiB in all, 2000 JUnit files,
# 32 directories deep, within 5 minutes. Past a cap a file is skipped, and logged.
readonly SUMMARY_JSON_MAX_BYTES=1048576
readonly RESULTS_FILE_MAX_BYTES=10485760
readonly RESULTS_TOTAL_MAX_BYTES=52428800
readonly RESULTS_MAX_FILES=2000
readonly RESULTS_MAX_DEPTH=32
readonly RESULTS_TIME_LIMIT_SECONDS=300
# What is uploaded before the final report (upload_files), within 5 minutes in all:
# the log, cut to 10 MiB (its first MiB, a marker line and its end), and at most
# 500 result files, each file and all of them within the caps above.
readonly UPLOAD_TIME_LIMIT_SECONDS=300
readonly LOG_UPLOAD_MAX_BYTES=10485760
readonly LOG_HEAD_BYTES=1048576
readonly UPLOAD_MAX_FILES=500
# A test file's name: log.txt, or results/ and 1 to 32 segments of these characters
# (1 to 100 of them, not . or ..), 512 characters in all.
readonly FILE_NAME_MAX_CHARS=512
readonly NAME_CHAR='[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-]'
# The build artifact's zip: at most 2 GiB, 3 tries.
readonly ARTIFACT_MAX_BYTES=2147483648
readonly ARTIFACT_TRIES=3
# Unpacks zip $1 into directory $2, as the runner: unzip (exit 1 is only warnings), else python3.
# shellcheck disable=SC2016 # for bash -c to expand
readonly UNZIP_PROGRAM='if command -v unzip >/dev/null; then unzip -q -o "$1" -d "$2"; (($? <= 1)); else python3 -m zipfile -e "$1" "$2"; fi'

# Set by main; defaults keep the sourced functions usable on their own.
TEST_ID=''
CALLBACK_URL=''
TOKEN=''
# Optional: a GitHub installation token (private fetch, artifact) and the build artifact.
GITHUB_TOKEN=''
ARTIFACT_URL=''
ARTIFACT_NAME=''
# No secret goes to a child's environment, even when the caller exported the name.
export -n TOKEN GITHUB_TOKEN
# The scheme://host[:port] of an http(s) clone URL whose fetches send the GitHub token.
FETCH_AUTH_ORIGIN=''
# The work directory, root's own directory in it (0700) and the log (see start_log).
WORK=''
PRIVATE=''
LOG_FILE=''
RESULTS_DIR=''
COMMAND_RAN=0
RUNNER_HOME=''
RUNNER_PATH=''
CHECKOUT=''
PREPARATION_REPORTED=0
FINISHED=0
STOPPED=0
UPLOADED=0
# While set (a value of SECONDS), requests to vm-ci give up at that time (uploads).
SEND_DEADLINE=0
STOP_REASON='The VM startup script stopped unexpectedly'
REPORT_DELAY_MS=2000
REPORT_ATTEMPTS=8
# read_results' answer: integers or '' (null), and the one-line summary.
RESULT_PASSED=''
RESULT_FAILED=''
RESULT_SUMMARY=''

# The script's own lines, on the console and in the log.
log() {
  printf 'vmci: %s\n' "$*"
  [[ -z ${LOG_FILE:-} ]] || printf 'vmci: %s\n' "$*" >>"$LOG_FILE"
}

is_local() {
  [[ ${VMCI_LOCAL:-} == 1 ]]
}

# --- JSON --------------------------------------------------------------------------

# The JSON string body for $1 (no quotes): \\ \" \n \r \t, other controls as \u00XX.
json_escape() {
  # shellcheck disable=SC1003 # a lone backslash
  local s=$1 bs='\' c code i
  s=${s//"$bs"/"$bs$bs"}
  s=${s//\"/"$bs\""}
  s=${s//$'\n'/"${bs}n"}
  s=${s//$'\r'/"${bs}r"}
  s=${s//$'\t'/"${bs}t"}
  if [[ $s == *[[:cntrl:]]* ]]; then
    for ((i = 1; i < 32; i++)); do
      printf -v code '%03o' "$i"
      # shellcheck disable=SC2059 # an octal escape makes the character
      printf -v c "\\$code"
      [[ $s == *"$c"* ]] || continue
      printf -v code '%s%04x' "${bs}u" "$i"
      s=${s//"$c"/"$code"}
    done
  fi
  printf '%s' "$s"
}

# $1 as a quoted JSON string.
json_string() {
  printf '"%s"' "$(json_escape "$1")"
}

# The bytes of code point $1 in UTF-8.
utf8_char() {
  local -i cp=$1
  local fmt
  if ((cp < 0x80)); then
    printf -v fmt '\\x%02x' "$cp"
  elif ((cp < 0x800)); then
    printf -v fmt '\\x%02x\\x%02x' $((0xC0 | cp >> 6)) $((0x80 | (cp & 0x3F)))
  elif ((cp < 0x10000)); then
    printf -v fmt '\\x%02x\\x%02x\\x%02x' $((0xE0 | cp >> 12)) \
      $((0x80 | ((cp >> 6) & 0x3F))) $((0x80 | (cp & 0x3F)))
  else
    printf -v fmt '\\x%02x\\x%02x\\x%02x\\x%02x' $((0xF0 | cp >> 18)) \
      $((0x80 | ((cp >> 12) & 0x3F))) $((0x80 | ((cp >> 6) & 0x3F))) $((0x80 | (cp & 0x3F)))
  fi
  # shellcheck disable=SC2059 # the format is the escapes built above
  printf "$fmt"
}

# The text of a JSON string body (what is between the quotes). \u0000 is dropped
# (bash strings cannot hold NUL); lone surrogates become U+FFFD.
json_unescape() {
  local s=$1 out='' c hex lo
  local -i cp
  while [[ $s == *\\* ]]; do
    out+=${s%%\\*}
    s=${s#*\\}
    c=${s:0:1}
    s=${s:1}
    case $c in
      n) out+=$'\n' ;;
      r) out+=$'\r' ;;
      t) out+=$'\t' ;;
      b) out+=$'\b' ;;
      f) out+=$'\f' ;;
      u)
        hex=${s:0:4}
        if [[ ! $hex =~ ^[0-9A-Fa-f]{4}$ ]]; then
          out+='\u'
          continue
        fi
        s=${s:4}
        cp=$((16#$hex))
        if ((cp >= 0xD800 && cp <= 0xDBFF)); then
          lo=${s:0:6}
          if [[ $lo =~ ^\\u[dD][c-fC-F][0-9A-Fa-f]{2}$ ]]; then
            s=${s:6}
            cp=$((0x10000 + ((cp - 0xD800) << 10) + (16#${lo:2} - 0xDC00)))
          else
            cp=0xFFFD
          fi
        elif ((cp >= 0xDC00 && cp <= 0xDFFF)); then
          cp=0xFFFD
        fi
        ((cp == 0)) || out+=$(utf8_char "$cp")
        ;;
      *) out+=$c ;; # \" \\ \/ (and anything else as itself)
    esac
  done
  printf '%s' "$out$s"
}

# $1 on one line (control characters become spaces), trimmed, at most $2 characters.
one_line() {
  local s=${1//[[:cntrl:]]/ }
  s=${s#"${s%%[![:space:]]*}"}
  s=${s%"${s##*[![:space:]]}"}
  printf '%s' "${s:0:$2}"
}

# --- metadata ----------------------------------------------------------------------

# Prints attribute $1. Returns 1 when the server says it is missing (404),
# 2 when the server cannot be reached.
metadata_get() {
  local url="${VMCI_METADATA_URL:-$DEFAULT_METADATA_URL}/instance/attributes/$1" out code
  local -i try rc
  for ((try = 1; try <= 5; try++)); do
    out=$(curl -s --noproxy '*' --connect-timeout 5 --max-time 15 \
      -H 'Metadata-Flavor: Google' -w '\n%{http_code}' --url "$url")
    rc=$?
    code=${out##*$'\n'}
    if ((rc == 0)) && [[ $code == 200 ]]; then
      printf '%s' "${out%$'\n'*}"
      return 0
    fi
    ((rc == 0)) && [[ $code == 404 ]] && return 1
    ((try < 5)) && sleep 1
  done
  return 2
}

# --- reports -----------------------------------------------------------------------

# Seconds such as "2" or "0.05" to whole milliseconds; fails on anything else.
seconds_to_ms() {
  [[ $1 =~ ^([0-9]{1,6})(\.([0-9]*))?$ ]] || return 1
  local frac="${BASH_REMATCH[3]}000"
  printf '%d' $((10#${BASH_REMATCH[1]} * 1000 + 10#${frac:0:3}))
}

sleep_ms() {
  local ms
  printf -v ms '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
  sleep "$ms"
}

# Sends one request to vm-ci with the token, retrying with back-off: curl with
# the arguments $3... (method, body, URL), at most $2 seconds a try and, while
# SEND_DEADLINE is set, never past it; $1 names it in the log.
# Returns 0 accepted (2xx), 1 given up after the retries or out of time, 2 stop
# (409: canceled or ended), 3 will never succeed (400, 401, 507, other answers).
send() {
  local what=$1 out code
  local -i try rc delay=$REPORT_DELAY_MS limit=$2 max left
  shift 2
  for ((try = 1; ; try++)); do
    max=$limit
    if ((SEND_DEADLINE)); then
      left=$((SEND_DEADLINE - SECONDS))
      if ((left <= 0)); then
        log "$what: out of time, giving up"
        return 1
      fi
      ((left < max)) && max=left
    fi
    # The token goes to curl through a pipe, never on its command line.
    out=$(curl -s --connect-timeout 10 --max-time "$max" \
      -H @<(printf 'Authorization: Bearer %s\n' "$TOKEN") "$@" -w '\n%{http_code}')
    rc=$?
    code=${out##*$'\n'}
    if ((rc == 0)); then
      case $code in
        2??) return 0 ;;
        409)
          log "$what: HTTP 409: the test was canceled or has ended"
          return 2
          ;;
        # 507: the test's files are full, which no retry changes.
        408 | 429 | 50[0-689] | 5[1-9]?) ;;
        *)
          log "$what: HTTP $code, giving up: $(one_line "${out%$'\n'*}" 200)"
          return 3
          ;;
      esac
      code="HTTP $code"
    else
      code="no answer (curl exit $rc)"
    fi
    if ((try >= REPORT_ATTEMPTS)); then
      log "$what: $code, giving up after $try tries"
      return 1
    fi
    log "$what: $code, retrying in ${delay} ms (try $try of $REPORT_ATTEMPTS)"
    left=$(((SEND_DEADLINE - SECONDS) * 1000))
    if ((SEND_DEADLINE && left < delay)); then
      sleep_ms $((left < 0 ? 0 : left))
    else
      sleep_ms "$delay"
    fi
    delay=$((delay * 2 > 60000 ? 60000 : delay * 2))
  done
}

# POSTs report body $1 (of stage $2) to the callback URL (see send).
post_report() {
  send "report $2" 30 -X POST -H 'Content-Type: application/json' --data-binary "$1" \
    --url "$CALLBACK_URL"
}

# PUTs file $2 as the test's file $1 (log.txt or results/...) to <callback URL>/files/$1,
# the raw bytes as the body (see send).
put_file() {
  local type=application/octet-stream
  [[ $1 == log.txt ]] && type='text/plain; charset=utf-8'
  send "upload $1" 120 -T "$2" -H "Content-Type: $type" -H 'Expect:' --url "$CALLBACK_URL/files/$1"
}

# Reports stage $1 with the extra JSON members $2; $3=final powers off when the
# report is given up. A stop or refusal powers off at once.
report() {
  local stage=$1 extra=${2:-} final=${3:-} body
  body="{\"testId\":$(json_string "$TEST_ID"),\"stage\":\"$stage\"${extra:+,$extra}}"
  log "report $stage"
  post_report "$body" "$stage"
  case $? in
    0) return 0 ;;
    1) [[ $final == final ]] || return 0 ;;
  esac
  power_off
}

# Reports `failed` with message $1 and powers off. The log (and the result files,
# when the command ran) go up first, unless a signal is stopping the VM.
fail() {
  local message
  message=$(one_line "$1" "$MESSAGE_MAX_CHARS")
  log "failed: $message"
  FINISHED=1
  ((PREPARATION_REPORTED && !STOPPED)) && upload_files
  report failed "\"message\":$(json_string "$message")" final
  power_off
}

power_off() {
  FINISHED=1
  if is_local; then
    log 'done (local mode: exiting instead of powering off)'
    exit 0
  fi
  log 'powering off'
  systemctl poweroff || shutdown -h now
  exit 0
}

# --- the runner --------------------------------------------------------------------

# Runs "$@" as the runner with a clean environment plus the NAME=value words in
# the array RUNNER_EXTRA_ENV (when set).
as_runner() {
  local -a env=(
    "HOME=${RUNNER_HOME:-${HOME:-/}}"
    "PATH=${RUNNER_PATH:-$STANDARD_PATH}"
    "USER=$RUNNER_USER" "LOGNAME=$RUNNER_USER" SHELL=/bin/bash LANG=C.UTF-8
    GIT_TERMINAL_PROMPT=0
  )
  if is_local; then
    env[2]="USER=${USER:-$(id -un)}"
    env[3]="LOGNAME=${USER:-$(id -un)}"
    [[ -n ${TMPDIR:-} ]] && env+=("TMPDIR=$TMPDIR")
  fi
  [[ -n ${RUNNER_EXTRA_ENV+x} ]] && env+=("${RUNNER_EXTRA_ENV[@]}")
  if is_local; then
    env -i "${env[@]}" "$@"
  else
    runuser -u "$RUNNER_USER" -- env -i "${env[@]}" "$@"
  fi
}

# Runs "$2..." as the runner, stdin /dev/null; its output goes to the console and
# the log, each line prefixed with "$1: ".
runner_output() {
  local prefix=$1 out line
  local -i rc
  shift
  out=$(as_runner "$@" </dev/null 2>&1)
  rc=$?
  if [[ -n $out ]]; then
    while IFS= read -r line; do log "$prefix: $line"; done <<<"$out"
  fi
  return "$rc"
}

# Runs git as the runner in $CHECKOUT (see runner_output).
runner_git() {
  runner_output git git -C "$CHECKOUT" "$@"
}

# `git fetch "$@"` as the runner in $CHECKOUT, with no gc or maintenance after it
# (nothing may outlive it). For FETCH_AUTH_ORIGIN, git sends the header
# "Authorization: Basic base64(x-access-token:<GitHub token>)" to that origin only
# (http.<origin>/.extraHeader in git's environment, GIT_CONFIG_*): the value
# reaches the runner's bash on a pipe and is in no command line, file or .git/config.
runner_fetch() {
  local -a git=(git -c gc.auto=0 -c maintenance.auto=false -C "$CHECKOUT" fetch --no-recurse-submodules "$@")
  if [[ -z $FETCH_AUTH_ORIGIN ]]; then
    runner_output git "${git[@]}"
    return
  fi
  local -a RUNNER_EXTRA_ENV=(GIT_CONFIG_COUNT=1 "GIT_CONFIG_KEY_0=http.$FETCH_AUTH_ORIGIN/.extraHeader")
  # shellcheck disable=SC2016 # for bash -c to expand
  runner_output git bash -c 'IFS= read -r GIT_CONFIG_VALUE_0 <&3; exec 3<&-; export GIT_CONFIG_VALUE_0; exec "$@"' \
    vmci-fetch "${git[@]}" 3< <(printf 'Authorization: Basic %s\n' "$(github_basic)")
}

# base64("x-access-token:<GitHub token>"), for HTTP Basic authentication.
github_basic() {
  printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 -w 0
}

# Ends every process of the runner (a real VM only: locally that is the developer).
kill_runner() {
  is_local || runuser -u "$RUNNER_USER" -- bash -c 'kill -KILL -1' 2>/dev/null
  return 0
}

# block_metadata TOOL ADDRESS: the runner may ask ADDRESS for DNS, nothing else.
block_metadata() {
  local tool=$1 address=$2
  local -a who=(-d "$address" -m owner --uid-owner "$RUNNER_USER")
  "$tool" -w -I OUTPUT 1 "${who[@]}" -p udp --dport 53 -j ACCEPT &&
    "$tool" -w -I OUTPUT 2 "${who[@]}" -p tcp --dport 53 -j ACCEPT &&
    "$tool" -w -I OUTPUT 3 "${who[@]}" -j REJECT
}

# The metadata server holds the token: the code under test must not reach it.
# It is also the VM's DNS resolver, so port 53 stays open (above the reject).
# Then, as the runner, checks that no address of the server answers any more
# (an address the VM does not have, such as IPv6 on an IPv4-only VM, does not).
# Fails, saying why, when a rule cannot be set or the server still answers.
isolate_runner() {
  local url
  block_metadata iptables "$METADATA_IPV4" || { log "iptables failed"; return 1; }
  if command -v ip6tables >/dev/null; then
    block_metadata ip6tables "$METADATA_IPV6" || { log "ip6tables failed"; return 1; }
  fi
  for url in "http://$METADATA_IPV4/computeMetadata/v1/" "http://[$METADATA_IPV6]/computeMetadata/v1/"; do
    if runuser -u "$RUNNER_USER" -- curl -s --noproxy '*' --connect-timeout 5 --max-time 5 \
      -o /dev/null -H 'Metadata-Flavor: Google' --url "$url"; then
      log "the runner still reaches the metadata server at $url"
      return 1
    fi
  done
  return 0
}

# Root's part, on a real VM only: packages, the runner, its firewall rule.
prepare_vm() {
  export DEBIAN_FRONTEND=noninteractive
  local -a missing=()
  command -v git >/dev/null || missing+=(git)
  command -v iptables >/dev/null || missing+=(iptables)
  [[ -z $ARTIFACT_URL ]] || command -v unzip >/dev/null || missing+=(unzip)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    # First boot may run unattended-upgrades: wait for the dpkg lock rather than fail.
    { apt-get update -qq && apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}"; } ||
      { log "apt-get failed"; return 1; }
  fi
  if ! id -u "$RUNNER_USER" >/dev/null 2>&1; then
    useradd --create-home --home-dir "/home/$RUNNER_USER" --shell /bin/bash "$RUNNER_USER" ||
      { log "useradd failed"; return 2; }
  fi
  isolate_runner || return 3
  return 0
}

# A fresh empty directory $1 that the runner owns.
runner_dir() {
  rm -rf -- "$1" || return 1
  if is_local; then
    mkdir -p -- "$1"
  else
    install -d -m 700 -o "$RUNNER_USER" -g "$RUNNER_USER" -- "$1"
  fi
}

# The work directory WORK (every user may read it, only root write) and in it
# PRIVATE, root's own (0700), for the log, the downloads and the files on their
# way up. LOG_FILE (0600) gets the script's lines and the test command's output.
# Fails, leaving PRIVATE and LOG_FILE empty, when they cannot be made.
start_log() {
  local dir=$WORK/private
  mkdir -p -- "$WORK" && chmod 755 -- "$WORK" && rm -rf -- "$dir" && mkdir -m 700 -- "$dir" &&
    (umask 077 && : >"$dir/log.txt") || return 1
  PRIVATE=$dir LOG_FILE=$dir/log.txt
}

# Fetches exactly commit $1 from $2 into $CHECKOUT, as the runner.
fetch_commit() {
  local sha=$1 url=$2 head
  local -i rc=0
  runner_git init -q . || return 1
  runner_git remote add origin "$url" || return 1
  if ! runner_fetch -q --depth 1 origin "$sha"; then
    log 'fetching the commit alone failed; fetching the whole repository'
    runner_fetch -q origin || rc=1
  fi
  # Nothing that ran with the GitHub token may be left.
  kill_runner
  ((rc == 0)) || return 1
  runner_git -c advice.detachedHead=false checkout -q --detach "$sha" || return 1
  head=$(as_runner git -C "$CHECKOUT" rev-parse HEAD 2>/dev/null) || return 1
  [[ $head == "$sha" ]]
}

# --- the build artifact ------------------------------------------------------------

# The host (and port) of URL $1, for messages (a storage URL's signature is never logged).
url_host() {
  [[ $1 =~ ^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*) ]] && printf '%s' "${BASH_REMATCH[1]##*@}"
}

# GitHub's Authorization header for curl -H @file, or nothing without a token.
github_auth() {
  [[ -z $GITHUB_TOKEN ]] || printf 'Authorization: Bearer %s\n' "$GITHUB_TOKEN"
}

# Downloads URL $1 with no credentials (redirects followed, http and https only)
# into file $2, at most $3 bytes (one more is kept to tell). Prints "STATUS CURL_EXIT".
download_capped() {
  local -i max=$3
  { curl -s -L --max-redirs 5 --proto '=http,https' --proto-redir '=http,https' \
    --connect-timeout 10 --max-time 3600 --speed-limit 1024 --speed-time 60 \
    --max-filesize "$max" -w '%{stderr}%{http_code}' -o - --url "$1" |
    head -c $((max + 1)) >"$2"
  printf ' %s' "${PIPESTATUS[0]}"; } 2>&1
}

# One try at the build artifact into file $1, at most $2 bytes. GitHub's API
# answers a redirect to a short-lived storage URL on another host. curl is not
# asked to follow it: the token goes to the API host only, and the storage URL is
# fetched without it. Returns 0 done, 1 worth another try, 2 not.
artifact_try() {
  local zip=$1 out code location host
  local -i max=$2 rc size
  out=$(curl -s --proto '=http,https' --connect-timeout 10 --max-time 60 -o /dev/null \
    -H @<(github_auth) -H 'Accept: application/vnd.github+json' \
    -H 'X-GitHub-Api-Version: 2022-11-28' -w '%{http_code} %{redirect_url}' --url "$ARTIFACT_URL")
  rc=$?
  code=${out%% *} location=${out#* }
  host=$(url_host "$ARTIFACT_URL")
  if ((rc != 0)); then
    log "artifact: no answer from $host (curl exit $rc)"
    return 1
  fi
  case $code in
    301 | 302 | 303 | 307 | 308) ;;
    408 | 429 | 5??)
      log "artifact: HTTP $code from $host"
      return 1
      ;;
    *)
      log "artifact: HTTP $code from $host (no redirect to the zip)"
      return 2
      ;;
  esac
  if [[ ! $location =~ ^https?:// ]]; then
    log "artifact: $host redirected to no http(s) URL"
    return 2
  fi
  host=$(url_host "$location")
  out=$(download_capped "$location" "$zip" "$max")
  code=${out%% *} rc=${out##* }
  size=$(stat -c %s -- "$zip" 2>/dev/null) || size=0
  if ((size > max || rc == 63)); then
    log "artifact: the zip is over $max bytes"
    return 2
  fi
  if ((rc != 0)); then
    log "artifact: the download from $host failed (curl exit $rc)"
    return 1
  fi
  if [[ $code != 2?? ]]; then
    log "artifact: HTTP $code from $host"
    return 1
  fi
  return 0
}

# Downloads the build artifact (as root) into file $1: ARTIFACT_TRIES tries, with
# the reports' back-off between them.
download_artifact() {
  local -i try delay=$REPORT_DELAY_MS
  for ((try = 1; ; try++)); do
    artifact_try "$1" "$ARTIFACT_MAX_BYTES"
    case $? in
      0) return 0 ;;
      2) return 1 ;;
    esac
    if ((try >= ARTIFACT_TRIES)); then
      log "artifact: giving up after $try tries"
      return 1
    fi
    log "artifact: retrying in ${delay} ms (try $try of $ARTIFACT_TRIES)"
    sleep_ms "$delay"
    delay=$((delay * 2 > 60000 ? 60000 : delay * 2))
  done
}

# " 'NAME'" for messages, the artifact's name cut to $1 characters; nothing without a name.
artifact_label() {
  [[ -z $ARTIFACT_NAME ]] || printf " '%s'" "$(one_line "$ARTIFACT_NAME" "$1")"
}

# The build artifact: downloaded by root into PRIVATE, then unpacked by the runner
# into directory $1, which the runner owns, so that no name or link in the zip
# can make root write anything. What went wrong goes to the console and the log.
get_artifact() {
  local dir=$1 zip=$PRIVATE/artifact.zip shared=$WORK/artifact.zip
  local -i rc
  log "downloading the build artifact$(artifact_label 100)"
  download_artifact "$zip" || return 1
  log "artifact: $(stat -c %s -- "$zip") bytes, unpacking it into $dir"
  # Where the runner may read it but not change it: root's, in WORK, for the runner's group.
  rm -f -- "$shared" && mv -f -- "$zip" "$shared" || return 1
  if ! is_local; then
    chgrp -- "$(id -g "$RUNNER_USER")" "$shared" && chmod 640 -- "$shared" || return 1
  fi
  runner_output unzip bash -c "$UNZIP_PROGRAM" vmci-unzip "$shared" "$dir"
  rc=$?
  rm -f -- "$shared"
  ((rc == 0)) || log "artifact: unpacking failed (exit $rc)"
  return "$rc"
}

# --- results -----------------------------------------------------------------------

# A non-negative integer (up to 15 digits) in canonical form, or failure.
nonneg_int() {
  [[ $1 =~ ^[0-9]{1,15}$ ]] || return 1
  printf '%d' $((10#$1))
}

# Fills the global associative array ATTRS with the attributes of XML start tag $1.
parse_attrs() {
  local rest=$1 re=$'^[[:space:]]+([A-Za-z_:][-A-Za-z0-9_:.]*)[[:space:]]*=[[:space:]]*("([^"]*)"|\'([^\']*)\')'
  declare -gA ATTRS=()
  [[ $rest =~ ^\<[^[:space:]/\>]+(.*)$ ]] || return 0
  rest=${BASH_REMATCH[1]}
  while [[ $rest =~ $re ]]; do
    ATTRS[${BASH_REMATCH[1]}]="${BASH_REMATCH[3]}${BASH_REMATCH[4]}"
    rest=${rest:${#BASH_REMATCH[0]}}
  done
}

# Sets variable $1 to attribute $2 of the last parse_attrs as an integer, or to $3
# when absent or not one. No subshell: this runs for every tag.
attr_int() {
  if [[ ${ATTRS[$2]:-} =~ ^[0-9]{1,15}$ ]]; then
    printf -v "$1" '%d' $((10#${ATTRS[$2]}))
  else
    printf -v "$1" '%s' "$3"
  fi
}

# Prints "passed failed" summed over the JUnit XML files $2... (the caller's own
# copies), or fails when none holds counts; $1 is a scratch file. Per file the
# counts are the outermost totals: <testsuites tests=...> when it has them, else
# every <testsuite tests=...> that is not inside a counted one. Skipped tests
# missing on <testsuites> (jest-junit) come from its <testsuite> elements.
junit_counts() {
  local scratch=$1 file tag name current='' stack='' re
  shift
  ((${#@})) || return 1
  # grep -z: a tag may span lines. Each match comes as "file NUL tag NUL".
  re=$'<(/testsuites?[[:space:]]*|testsuites?([[:space:]]([^"\'>]|"[^"]*"|\'[^\']*\')*)?/?)>'
  grep -ozZHE -- "$re" "$@" >"$scratch" 2>/dev/null
  (($? <= 1)) || return 1
  printf '%s\0%s\0' '' '' >>"$scratch" # the end: flushes the last file
  local -i sum_passed=0 sum_failed=0 any=0 open n
  local -i tests=0 failures=0 errors=0 skipped=0 counted=0
  local -i top=0 top_tests=0 top_failures=0 top_errors=0 top_skipped=-1
  while IFS= read -r -d '' file && IFS= read -r -d '' tag; do
    if [[ $file != "$current" ]]; then
      if [[ -n $current ]] && ((top || counted)); then
        if ((top)); then
          ((top_skipped >= 0)) && skipped=$top_skipped
          tests=$top_tests failures=$top_failures errors=$top_errors
        fi
        open=$((tests - failures - errors - skipped))
        sum_passed+=$((open < 0 ? 0 : open))
        sum_failed+=$((failures + errors))
        any=1
      fi
      [[ -n $file ]] || break
      current=$file stack=''
      tests=0 failures=0 errors=0 skipped=0 counted=0
      top=0 top_tests=0 top_failures=0 top_errors=0 top_skipped=-1
    fi
    [[ $tag =~ ^\<(/?[a-z]+) ]] || continue
    name=${BASH_REMATCH[1]}
    case $name in
      /testsuite) stack=${stack%?} ;;
      testsuites)
        ((top)) && continue
        parse_attrs "$tag"
        [[ ${ATTRS[tests]:-} =~ ^[0-9]{1,15}$ ]] || continue
        top=1
        attr_int top_tests tests 0
        attr_int top_failures failures 0
        attr_int top_errors errors 0
        attr_int top_skipped skipped -1
        ;;
      testsuite)
        parse_attrs "$tag"
        open=0
        if [[ $stack != *1* && ${ATTRS[tests]:-} =~ ^[0-9]{1,15}$ ]]; then
          open=1
          counted+=1
          attr_int n tests 0
          tests+=n
          attr_int n failures 0
          failures+=n
          attr_int n errors 0
          errors+=n
          attr_int n skipped 0
          skipped+=n
        fi
        [[ $tag == */\> ]] || stack+=$open
        ;;
    esac
  done <"$scratch"
  ((any)) || return 1
  printf '%d %d' "$sum_passed" "$sum_failed"
}

# Reads summary.json's text from file $1 into RESULT_PASSED, RESULT_FAILED and RESULT_SUMMARY.
read_summary_json() {
  local text value key
  text=$(tr '\r\n\t' '   ' <"$1")
  for key in passed failed; do
    value=''
    if [[ $text =~ \"$key\"[[:space:]]*:[[:space:]]*([^],}[:space:]]+) ]]; then
      value=${BASH_REMATCH[1]}
      if [[ $value != null ]] && ! value=$(nonneg_int "$value"); then
        log "summary.json: \"$key\" is not a non-negative integer; reporting null"
        value=''
      fi
      [[ $value == null ]] && value=''
    fi
    printf -v "RESULT_${key^^}" '%s' "$value"
  done
  local re='"summary"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)"'
  if [[ $text =~ $re ]]; then
    RESULT_SUMMARY=$(one_line "$(json_unescape "${BASH_REMATCH[1]}")" "$SUMMARY_MAX_CHARS")
  fi
}

# Copies at most $3 + 1 bytes of file $1 (not through a link at its end, and
# without waiting on a FIFO) to file $2. Fails when it cannot be read.
read_capped() {
  dd if="$1" of="$2" iflag=nofollow,nonblock,fullblock,count_bytes count=$(($3 + 1)) bs=65536 \
    status=none 2>/dev/null
}

# The runner's side of read_results, run as the runner: reads the results in
# directory $1 within the caps and prints what it logs, then the line
# "result PASSED FAILED SUMMARY" ("-" for a null count; the summary may be empty).
# Only regular files are read, never through a link.
results_as_runner() {
  local dir=$1 tmp entry name counts skip
  local -i total=0 size i n
  local -a entries=() names=() copies=() sizes=() kept=()
  RESULT_PASSED='' RESULT_FAILED='' RESULT_SUMMARY=''
  tmp=$(mktemp -d) || { log 'cannot make a temporary directory to read the results'; return 1; }
  # shellcheck disable=SC2064 # the directory is known now
  trap "rm -rf -- '$tmp'" EXIT
  if [[ -f $dir/summary.json && ! -L $dir/summary.json ]]; then
    if read_capped "$dir/summary.json" "$tmp/summary.json" "$SUMMARY_JSON_MAX_BYTES" &&
      (($(stat -c %s -- "$tmp/summary.json") <= SUMMARY_JSON_MAX_BYTES)); then
      read_summary_json "$tmp/summary.json"
      printf 'result %s %s %s\n' "${RESULT_PASSED:--}" "${RESULT_FAILED:--}" "$RESULT_SUMMARY"
      return 0
    fi
    log "skipping summary.json: it cannot be read or is over $SUMMARY_JSON_MAX_BYTES bytes"
  fi
  # "size name" of each *.xml regular file (hidden ones and those in hidden directories left out).
  mapfile -d '' -t entries < <(find "$dir" -mindepth 1 -maxdepth "$RESULTS_MAX_DEPTH" -name '.*' -prune \
    -o -type f -name '*.xml' -printf '%s %P\0' 2>/dev/null | head -z -n $((RESULTS_MAX_FILES + 1)) | sort -z -k 2)
  if ((${#entries[@]} > RESULTS_MAX_FILES)); then
    log "there are more than $RESULTS_MAX_FILES JUnit files: reading $RESULTS_MAX_FILES of them"
    entries=("${entries[@]:0:RESULTS_MAX_FILES}")
  fi
  # A copy of each file that fits, as its size was listed...
  for entry in "${entries[@]}"; do
    size=${entry%% *} name=${entry#* }
    skip=''
    if ((size > RESULTS_FILE_MAX_BYTES)); then
      skip="it is over $RESULTS_FILE_MAX_BYTES bytes"
    elif ((total + size > RESULTS_TOTAL_MAX_BYTES)); then
      skip="the results are over $RESULTS_TOTAL_MAX_BYTES bytes in all"
    elif ! read_capped "$dir/$name" "$tmp/${#copies[@]}.xml" "$RESULTS_FILE_MAX_BYTES"; then
      skip='it cannot be read'
    fi
    if [[ -n $skip ]]; then
      log "skipping $(one_line "$name" 200): $skip"
      continue
    fi
    total+=size
    names+=("$name")
    copies+=("$tmp/${#copies[@]}.xml")
  done
  # ... and as it was read (a file may have grown since).
  ((${#copies[@]})) && mapfile -t sizes < <(stat -c %s -- "${copies[@]}")
  total=0
  for ((i = 0; i < ${#copies[@]}; i++)); do
    n=${sizes[i]:-0}
    if ((n > RESULTS_FILE_MAX_BYTES)); then
      log "skipping $(one_line "${names[i]}" 200): it is over $RESULTS_FILE_MAX_BYTES bytes"
    elif ((total + n > RESULTS_TOTAL_MAX_BYTES)); then
      log "skipping $(one_line "${names[i]}" 200): the results are over $RESULTS_TOTAL_MAX_BYTES bytes in all"
    else
      total+=n
      kept+=("${copies[i]}")
    fi
  done
  if counts=$(junit_counts "$tmp/tags" "${kept[@]}"); then
    printf 'result %s %s \n' "${counts% *}" "${counts#* }"
  else
    printf 'result - - \n'
  fi
}

# What `bash -c` runs as the runner for read_results: results_as_runner and
# what it needs (never the token).
results_program() {
  printf '%s\n' 'set -uo pipefail' 'shopt -u patsub_replacement 2>/dev/null || true' 'LC_ALL=C.UTF-8' \
    'cd / || exit 1'
  declare -p SUMMARY_MAX_CHARS SUMMARY_JSON_MAX_BYTES RESULTS_FILE_MAX_BYTES \
    RESULTS_TOTAL_MAX_BYTES RESULTS_MAX_FILES RESULTS_MAX_DEPTH
  declare -f log one_line nonneg_int utf8_char json_unescape parse_attrs attr_int junit_counts \
    read_summary_json read_capped results_as_runner
  # shellcheck disable=SC2016 # for bash -c to expand
  printf '%s\n' 'results_as_runner "$1"'
}

# Counts from the results directory $1 and exit code $2 (DESIGN §6 step 7) into
# RESULT_PASSED, RESULT_FAILED (integers or '' for null) and RESULT_SUMMARY.
# Root reads nothing there: the runner lists and reads the files with its own
# rights (a link to /etc/shadow reads as the runner would read it), within the
# caps and a time limit, and root takes only its short answer.
read_results() {
  local dir=$1 out line value='' answered=''
  local -i code=$2
  RESULT_PASSED='' RESULT_FAILED='' RESULT_SUMMARY=''
  out=$(as_runner timeout -s KILL "$RESULTS_TIME_LIMIT_SECONDS" bash -c "$(results_program)" vmci-results "$dir" |
    timeout -s KILL $((RESULTS_TIME_LIMIT_SECONDS + 10)) head -c 1048576)
  while IFS= read -r line; do
    if [[ $line == 'vmci: '* ]]; then
      log "$(one_line "${line#vmci: }" 500)"
    elif [[ $line =~ ^result\ ([0-9]{1,15}|-)\ ([0-9]{1,15}|-)\ (.*)$ ]]; then
      RESULT_PASSED=$(nonneg_int "${BASH_REMATCH[1]}") || RESULT_PASSED=''
      RESULT_FAILED=$(nonneg_int "${BASH_REMATCH[2]}") || RESULT_FAILED=''
      value=${BASH_REMATCH[3]} answered=1
    fi
  done <<<"$out"
  [[ -n $answered ]] || log "could not read the results (in $RESULTS_TIME_LIMIT_SECONDS s)"
  RESULT_SUMMARY=$(one_line "$value" "$SUMMARY_MAX_CHARS")
  if [[ -z $RESULT_SUMMARY ]]; then
    if [[ -n $RESULT_PASSED && -n $RESULT_FAILED ]]; then
      RESULT_SUMMARY="$RESULT_PASSED passed, $RESULT_FAILED failed"
    else
      RESULT_SUMMARY="exit code $code"
    fi
  fi
}

# The `completed` report's members for exit code $1 and the RESULT_* values.
result_json() {
  printf '"result":{"exitCode":%d,"passed":%s,"failed":%s,"summary":%s}' "$1" \
    "${RESULT_PASSED:-null}" "${RESULT_FAILED:-null}" "$(json_string "$RESULT_SUMMARY")"
}

# --- the log and the files ---------------------------------------------------------

# Whether our child process $1 still runs (a zombie, not yet waited for, has ended).
running() {
  local stat
  stat=$(cat -- "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# Runs the test command $1 as the runner in $CHECKOUT, stdin /dev/null. Its output
# (stdout and stderr) goes to the console and the log as it comes, through a FIFO
# in PRIVATE that root's tee reads. Returns the command's exit code.
run_command() {
  local fifo=$PRIVATE/output
  local -i rc tee_pid i
  if ! rm -f -- "$fifo" || ! mkfifo -m 600 -- "$fifo"; then
    log 'cannot make a FIFO for the log: the output goes to the console only'
    (cd -- "$CHECKOUT" && as_runner bash -c "$1") </dev/null 2>&1
    return
  fi
  tee -a -- "$LOG_FILE" <"$fifo" &
  tee_pid=$!
  (cd -- "$CHECKOUT" && as_runner bash -c "$1") </dev/null >"$fifo" 2>&1
  rc=$?
  # Nothing the tests started may outlive them.
  kill_runner
  # tee ends when the last writer has closed the FIFO (a process left in local mode may not).
  for ((i = 0; i < 100; i++)); do
    running "$tee_pid" || break
    sleep 0.1
  done
  if running "$tee_pid"; then
    log "the test command's processes still hold its output: the log stops here"
    kill "$tee_pid" 2>/dev/null
  fi
  wait "$tee_pid" 2>/dev/null
  return "$rc"
}

# The secrets (the tokens, and the GitHub token as git sends it) as sed commands
# that replace each with [redacted]. Fails for a secret with a line break (sed
# works by lines).
redact_script() {
  local secret c s
  local -i i
  for secret in "$TOKEN" "$GITHUB_TOKEN" "${GITHUB_TOKEN:+$(github_basic)}"; do
    [[ -n $secret ]] || continue
    [[ $secret != *$'\n'* ]] || return 1
    s=''
    for ((i = 0; i < ${#secret}; i++)); do
      c=${secret:i:1}
      case $c in
        "\\" | / | . | '*' | '[' | '^' | '$') s+="\\$c" ;;
        *) s+=$c ;;
      esac
    done
    printf 's/%s/[redacted]/g\n' "$s"
  done
}

# The log as it is uploaded, into file $1: every secret replaced by [redacted]
# (streaming, by lines), then, over LOG_UPLOAD_MAX_BYTES, its first
# LOG_HEAD_BYTES, a marker line and its end, LOG_UPLOAD_MAX_BYTES in all.
prepare_log() {
  local out=$1 full=$PRIVATE/log-redacted.txt script marker nl=''
  local -i size cut tail_bytes i
  if ! script=$(redact_script); then
    log 'a token holds a line break: the log cannot be redacted and is not uploaded'
    return 1
  fi
  # The script goes to sed on a pipe: no secret on its command line.
  if ! LC_ALL=C sed -f <(printf '%s\n' "$script") -- "$LOG_FILE" >"$full" ||
    ! size=$(stat -c %s -- "$full"); then
    log 'could not redact the log: it is not uploaded'
    return 1
  fi
  if ((size <= LOG_UPLOAD_MAX_BYTES)); then
    mv -f -- "$full" "$out"
    return
  fi
  [[ $(head -c "$LOG_HEAD_BYTES" -- "$full" | tail -c 1 | wc -l) == 1 ]] || nl=$'\n'
  # The marker tells how much is cut, which depends on the marker's own length.
  cut=$((size - LOG_UPLOAD_MAX_BYTES))
  for ((i = 0; i < 3; i++)); do
    marker="${nl}vmci: … $cut bytes cut …"$'\n'
    tail_bytes=$((LOG_UPLOAD_MAX_BYTES - LOG_HEAD_BYTES - $(printf '%s' "$marker" | wc -c)))
    cut=$((size - LOG_HEAD_BYTES - tail_bytes))
  done
  { head -c "$LOG_HEAD_BYTES" -- "$full" && printf '%s' "$marker" && tail -c "$tail_bytes" -- "$full"; } >"$out"
  rm -f -- "$full"
}

# Whether $1 is a name vm-ci takes for a test file: log.txt, or results/ and 1 to
# 32 segments of 1 to 100 NAME_CHARs (not . or ..), FILE_NAME_MAX_CHARS in all.
valid_file_name() {
  local path=${1#results/} re="^($NAME_CHAR{1,100}/){0,31}$NAME_CHAR{1,100}\$"
  [[ $1 == log.txt ]] && return 0
  [[ $1 == results/* && ${#1} -le FILE_NAME_MAX_CHARS && $path =~ $re &&
    /$path/ != */./* && /$path/ != */../* ]]
}

# The test file name for path $1 in the results directory: results/ and the path,
# other characters than [A-Za-z0-9._-/] made _. Fails when it still does not fit.
upload_name() {
  local name
  name=results/${1//[!ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._\/-]/_}
  valid_file_name "$name" && printf '%s' "$name"
}

# The runner's side of upload_files, run as the runner: prints each regular file
# in directory $1 (not hidden nor in a hidden directory, RESULTS_MAX_DEPTH deep)
# that fits the caps as the line "file SIZE NAME" and then its SIZE bytes; what
# it skips goes to stderr as "vmci: " lines. Only regular files are read, never through a
# link; each is copied (capped) before it is measured and sent, so a file that
# changes meanwhile is sent as it was copied.
files_as_runner() {
  local dir=$1 tmp entry path name skip
  local -i size n total=0
  local -a entries=()
  local -A seen=()
  tmp=$(mktemp -d) || { log 'cannot make a temporary directory to read the result files' >&2; return 1; }
  # shellcheck disable=SC2064 # the directory is known now
  trap "rm -rf -- '$tmp'" EXIT
  mapfile -d '' -t entries < <(find "$dir" -mindepth 1 -maxdepth "$RESULTS_MAX_DEPTH" -name '.*' -prune \
    -o -type f -printf '%s %P\0' 2>/dev/null | head -z -n $((UPLOAD_MAX_FILES + 1)) | sort -z -k 2)
  if ((${#entries[@]} > UPLOAD_MAX_FILES)); then
    log >&2 "there are more than $UPLOAD_MAX_FILES result files: uploading $UPLOAD_MAX_FILES of them"
    entries=("${entries[@]:0:UPLOAD_MAX_FILES}")
  fi
  for entry in "${entries[@]}"; do
    size=${entry%% *} path=${entry#* } skip='' n=0
    if ! name=$(upload_name "$path"); then
      skip='its name does not fit (1 to 100 of A-Z a-z 0-9 . _ - a segment, 512 in all)'
    elif [[ -n ${seen[$name]:-} ]]; then
      skip="another file is uploaded as $name"
    elif ((size > RESULTS_FILE_MAX_BYTES)); then
      skip="it is over $RESULTS_FILE_MAX_BYTES bytes"
    elif ((total + size > RESULTS_TOTAL_MAX_BYTES)); then
      skip="the result files are over $RESULTS_TOTAL_MAX_BYTES bytes in all"
    elif ! read_capped "$dir/$path" "$tmp/file" "$RESULTS_FILE_MAX_BYTES"; then
      skip='it cannot be read'
    else
      n=$(stat -c %s -- "$tmp/file")
      if ((n > RESULTS_FILE_MAX_BYTES)); then
        skip="it is over $RESULTS_FILE_MAX_BYTES bytes"
      elif ((total + n > RESULTS_TOTAL_MAX_BYTES)); then
        skip="the result files are over $RESULTS_TOTAL_MAX_BYTES bytes in all"
      fi
    fi
    if [[ -n $skip ]]; then
      log "not uploading $(one_line "$path" 200): $skip" >&2
      continue
    fi
    seen[$name]=1
    total+=n
    printf 'file %d %s\n' "$n" "$name"
    cat -- "$tmp/file" || return 1
  done
}

# What `bash -c` runs as the runner for collect_files: files_as_runner and what
# it needs (never a secret).
files_program() {
  printf '%s\n' 'set -uo pipefail' 'shopt -u patsub_replacement 2>/dev/null || true' 'LC_ALL=C.UTF-8' \
    'cd / || exit 1'
  declare -p RESULTS_FILE_MAX_BYTES RESULTS_TOTAL_MAX_BYTES RESULTS_MAX_DEPTH UPLOAD_MAX_FILES \
    FILE_NAME_MAX_CHARS NAME_CHAR
  declare -f log one_line read_capped valid_file_name upload_name files_as_runner
  # shellcheck disable=SC2016 # for bash -c to expand
  printf '%s\n' 'files_as_runner "$1"'
}

# The result files to upload from directory $1 into file $2 (root's): the runner
# lists, reads and prints them (files_as_runner) within the caps and a time limit,
# and root keeps what it prints, capped, and logs what it says. Root opens no
# file in the results.
collect_files() {
  local messages=$PRIVATE/files-messages.txt line
  as_runner timeout -s KILL "$RESULTS_TIME_LIMIT_SECONDS" bash -c "$(files_program)" vmci-files "$1" \
    </dev/null 2>"$messages" | timeout -s KILL $((RESULTS_TIME_LIMIT_SECONDS + 10)) \
    head -c $((RESULTS_TOTAL_MAX_BYTES + 2 * 1048576)) >"$2"
  while IFS= read -r line; do
    [[ $line != 'vmci: '* ]] || log "$(one_line "${line#vmci: }" 500)"
  done < <(head -c 1048576 -- "$messages")
}

# Uploads the result files in file $1 (what collect_files kept, untrusted: each
# header and size is checked, and the first thing out of place ends the uploads).
# Returns 2 on a 409 (see send).
upload_results() {
  local line name part=$PRIVATE/upload
  local -i fd size count=0 total=0
  exec {fd}<"$1" || return 1
  while IFS= read -r -u "$fd" line; do
    size=-1 name=''
    [[ $line =~ ^file\ ([0-9]{1,9})\ (results/.+)$ ]] && size=$((10#${BASH_REMATCH[1]})) name=${BASH_REMATCH[2]}
    if ((size < 0)) || ! valid_file_name "$name"; then
      log 'the result files came back garbled: uploading no more of them'
      break
    fi
    count+=1 total+=size
    if ((count > UPLOAD_MAX_FILES || size > RESULTS_FILE_MAX_BYTES || total > RESULTS_TOTAL_MAX_BYTES)); then
      log 'the result files came back over the caps: uploading no more of them'
      break
    fi
    # head -c reads no more than it is asked for: the next header follows.
    head -c "$size" <&"$fd" >"$part"
    if (($(stat -c %s -- "$part") != size)); then
      log 'the result files came back cut short: uploading no more of them'
      break
    fi
    if ((SECONDS >= SEND_DEADLINE)); then
      log "uploads: out of time ($UPLOAD_TIME_LIMIT_SECONDS s), skipping the other files"
      break
    fi
    put_file "$name" "$part"
    if (($? == 2)); then
      exec {fd}<&-
      return 2
    fi
  done
  exec {fd}<&-
  return 0
}

# Before the final report: the log, then (when the command ran) the result files
# go to vm-ci, within UPLOAD_TIME_LIMIT_SECONDS in all. A 409 ends the uploads
# (the report gets one too); a file refused or given up is skipped.
upload_files() {
  local stream=''
  [[ -n $PRIVATE ]] && ((!UPLOADED)) || return 0
  UPLOADED=1
  SEND_DEADLINE=$((SECONDS + UPLOAD_TIME_LIMIT_SECONDS))
  if ((COMMAND_RAN)) && [[ -n $RESULTS_DIR ]]; then
    log 'reading the result files to upload'
    stream=$PRIVATE/results.stream
    collect_files "$RESULTS_DIR" "$stream"
  fi
  if [[ -n $LOG_FILE ]] && prepare_log "$PRIVATE/log-upload.txt"; then
    log 'uploading log.txt'
    put_file log.txt "$PRIVATE/log-upload.txt"
    if (($? == 2)); then
      SEND_DEADLINE=0
      return 0
    fi
  fi
  [[ -z $stream ]] || upload_results "$stream"
  SEND_DEADLINE=0
  return 0
}

# --- main --------------------------------------------------------------------------

on_exit() {
  ((FINISHED)) && return
  FINISHED=1
  ((PREPARATION_REPORTED)) && fail "$STOP_REASON"
  power_off
}

main() {
  local value
  local -i rc
  if is_local; then WORK=$PWD/vmci; else WORK=/var/lib/vmci; fi
  start_log
  if is_local; then log "startup (local mode), pid $$"; else log "startup, pid $$"; fi
  [[ -n $LOG_FILE ]] || log "cannot create $WORK/private/log.txt"
  trap on_exit EXIT
  trap 'STOPPED=1; STOP_REASON="The VM was stopped before the test finished"; log "stopped by a signal"; exit 143' TERM INT HUP

  if ! REPORT_DELAY_MS=$(seconds_to_ms "${VMCI_REPORT_DELAY_SECONDS:-2}"); then
    log "VMCI_REPORT_DELAY_SECONDS is not a number of seconds; using 2"
    REPORT_DELAY_MS=2000
  fi
  if ! REPORT_ATTEMPTS=$(nonneg_int "${VMCI_REPORT_ATTEMPTS:-8}") || ((REPORT_ATTEMPTS < 1)); then
    log "VMCI_REPORT_ATTEMPTS is not a positive integer; using 8"
    REPORT_ATTEMPTS=8
  fi

  # 1. Without these three nothing can be reported.
  TEST_ID=$(metadata_get vmci-test-id) || TEST_ID=''
  CALLBACK_URL=$(metadata_get vmci-callback-url) || CALLBACK_URL=''
  TOKEN=$(metadata_get vmci-token) || TOKEN=''
  if [[ -z $TEST_ID || -z $CALLBACK_URL || -z $TOKEN ]]; then
    log 'the metadata lacks vmci-test-id, vmci-callback-url or vmci-token: nothing can be reported'
    power_off
  fi
  local repo sha platform clone_url command absent='' unread='' key
  repo=$(metadata_get vmci-repo) || repo=''
  platform=$(metadata_get vmci-platform) || platform=''
  sha=$(metadata_get vmci-sha) || absent+=' vmci-sha'
  clone_url=$(metadata_get vmci-clone-url) || absent+=' vmci-clone-url'
  command=$(metadata_get vmci-test-command) || absent+=' vmci-test-command'
  # Optional: absent (404) turns the feature off; no answer at all is a failure.
  for key in github-token artifact-url artifact-name; do
    value=$(metadata_get "vmci-$key")
    case $? in
      0) ;;
      1) value='' ;;
      *) value='' unread+=" vmci-$key" ;;
    esac
    case $key in
      github-token) GITHUB_TOKEN=$value ;;
      artifact-url) ARTIFACT_URL=$value ;;
      artifact-name) ARTIFACT_NAME=$value ;;
    esac
  done
  log "test $TEST_ID: $repo@$sha on ${platform:-?}"

  # 2.
  report preparation
  PREPARATION_REPORTED=1
  [[ -n $LOG_FILE ]] || fail 'Could not create the work directory'
  [[ -z $absent ]] || fail "The VM metadata lacks${absent}"
  [[ -z $unread ]] || fail "Could not read the VM metadata:${unread}"
  [[ $sha =~ ^[0-9a-f]{40}$ ]] || fail 'The VM metadata has no valid commit (vmci-sha)'
  [[ $clone_url =~ ^(https?://|file://|/) ]] ||
    fail 'The VM metadata has no valid clone URL (vmci-clone-url)'
  [[ -n ${command//[[:space:]]/} ]] || fail 'The VM metadata has an empty test command'
  [[ -z $ARTIFACT_URL || $ARTIFACT_URL =~ ^https?:// ]] ||
    fail 'The VM metadata has no valid artifact URL (vmci-artifact-url)'
  if [[ -n $GITHUB_TOKEN && $clone_url =~ ^(https?://[^/?#]+) ]]; then
    FETCH_AUTH_ORIGIN=${BASH_REMATCH[1]}
  fi

  # 3.
  if is_local; then
    RUNNER_HOME=${HOME:-$WORK/home}
    RUNNER_PATH=${PATH:-$STANDARD_PATH}
  else
    RUNNER_HOME=/home/$RUNNER_USER
    RUNNER_PATH=$STANDARD_PATH
    log 'preparing the VM'
    prepare_vm
    case $? in
      0) ;;
      1) fail 'Could not install the packages the test needs' ;;
      2) fail 'Could not create the test user' ;;
      *) fail 'Could not cut the test user off from the metadata server' ;;
    esac
  fi
  CHECKOUT=$WORK/checkout
  local results=$WORK/results artifact=$WORK/artifact
  if ! runner_dir "$CHECKOUT" || ! runner_dir "$results"; then
    fail 'Could not create the work directory'
  fi
  if [[ -n $ARTIFACT_URL ]] && ! runner_dir "$artifact"; then
    fail 'Could not create the work directory'
  fi

  # 4.
  log "fetching ${repo:-the repository} at $sha${FETCH_AUTH_ORIGIN:+ (with the GitHub token)}"
  fetch_commit "$sha" "$clone_url" || fail "Could not fetch commit ${sha:0:7}"
  if [[ -n $ARTIFACT_URL ]]; then
    get_artifact "$artifact" ||
      fail "Could not download the build artifact$(artifact_label 90)"
  fi

  # 5.
  report testing

  # 6. To the console as it comes, and to the log.
  log "running the test command: $(one_line "$command" 300)"
  local -a RUNNER_EXTRA_ENV=(
    "VMCI_RESULTS_DIR=$results" CI=true
    "VMCI_TEST_ID=$TEST_ID" "VMCI_REPO=$repo" "VMCI_SHA=$sha" "VMCI_PLATFORM=$platform"
  )
  [[ -z $ARTIFACT_URL ]] || RUNNER_EXTRA_ENV+=("VMCI_ARTIFACT_DIR=$artifact")
  COMMAND_RAN=1 RESULTS_DIR=$results
  run_command "$command"
  rc=$?
  unset RUNNER_EXTRA_ENV
  log "the test command exited with code $rc"

  # 7. and 8.
  read_results "$results" "$rc"
  log "result: $RESULT_SUMMARY"
  value=$(result_json "$rc")
  upload_files
  FINISHED=1
  report completed "$value" final
  power_off
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
