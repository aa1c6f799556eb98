#!/bin/bash
# vm-ci's Linux VM startup script (DESIGN §6; the contract is in infra/vm/README.md).
# It runs as root on a fresh VM (as the `startup-script` metadata key), fetches
# one commit, runs the platform's test command as the unprivileged user
# vmci-runner, reports to vm-ci's progress endpoint and powers off.
# VMCI_LOCAL=1 (the local Compute stand-in) skips only what needs root or a real VM.
#
# Only bash, coreutils, grep, curl and git are needed (iptables, useradd, runuser
# and apt-get on a real VM). Never enable shell tracing here: the token is in a variable.
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

# Set by main; defaults keep the sourced functions usable on their own.
TEST_ID=''
CALLBACK_URL=''
TOKEN=''
RUNNER_HOME=''
RUNNER_PATH=''
CHECKOUT=''
PREPARATION_REPORTED=0
FINISHED=0
STOP_REASON='The VM startup script stopped unexpectedly'
REPORT_DELAY_MS=2000
REPORT_ATTEMPTS=8
# read_results' answer: integers or '' (null), and the one-line summary.
RESULT_PASSED=''
RESULT_FAILED=''
RESULT_SUMMARY=''

log() {
  printf 'vmci: %s\n' "$*"
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

# POSTs body $1 to the callback URL with the token, retrying with back-off.
# Returns 0 accepted (2xx), 1 given up after the retries, 2 stop (409: canceled
# or ended), 3 will never succeed (400, 401, other answers).
post_report() {
  local body=$1 stage=$2 out code
  local -i try rc delay=$REPORT_DELAY_MS
  for ((try = 1; ; try++)); do
    # The token goes to curl through a pipe, never on its command line.
    out=$(curl -s -X POST --connect-timeout 10 --max-time 30 \
      -H @<(printf 'Authorization: Bearer %s\n' "$TOKEN") \
      -H 'Content-Type: application/json' --data-binary "$body" \
      -w '\n%{http_code}' --url "$CALLBACK_URL")
    rc=$?
    code=${out##*$'\n'}
    if ((rc == 0)); then
      case $code in
        2??) return 0 ;;
        409)
          log "report $stage: HTTP 409: the test was canceled or has ended"
          return 2
          ;;
        408 | 429 | 5??) ;;
        *)
          log "report $stage: HTTP $code, giving up: $(one_line "${out%$'\n'*}" 200)"
          return 3
          ;;
      esac
      code="HTTP $code"
    else
      code="no answer (curl exit $rc)"
    fi
    if ((try >= REPORT_ATTEMPTS)); then
      log "report $stage: $code, giving up after $try tries"
      return 1
    fi
    log "report $stage: $code, retrying in ${delay} ms (try $try of $REPORT_ATTEMPTS)"
    sleep_ms "$delay"
    delay=$((delay * 2 > 60000 ? 60000 : delay * 2))
  done
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

# Reports `failed` with message $1 and powers off.
fail() {
  local message
  message=$(one_line "$1" "$MESSAGE_MAX_CHARS")
  log "failed: $message"
  FINISHED=1
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

# cat $1 with the runner's rights (it owns the results: a symlink must not read root's files).
runner_cat() {
  if is_local; then
    cat -- "$1"
  else
    runuser -u "$RUNNER_USER" -- cat -- "$1"
  fi
}

# Runs git as the runner in $CHECKOUT; its output goes to the console, prefixed.
runner_git() {
  local out line
  local -i rc
  out=$(as_runner git -C "$CHECKOUT" "$@" 2>&1)
  rc=$?
  if [[ -n $out ]]; then
    while IFS= read -r line; do log "git: $line"; done <<<"$out"
  fi
  return "$rc"
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

# Fetches exactly commit $1 from $2 into $CHECKOUT, as the runner.
fetch_commit() {
  local sha=$1 url=$2 head
  runner_git init -q . || return 1
  runner_git remote add origin "$url" || return 1
  if ! runner_git fetch -q --depth 1 origin "$sha"; then
    log 'fetching the commit alone failed; fetching the whole repository'
    runner_git fetch -q origin || return 1
  fi
  runner_git -c advice.detachedHead=false checkout -q --detach "$sha" || return 1
  head=$(as_runner git -C "$CHECKOUT" rev-parse HEAD 2>/dev/null) || return 1
  [[ $head == "$sha" ]]
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

# Attribute $1 of the last parse_attrs as an integer; $2 when absent or not one.
attr_int() {
  nonneg_int "${ATTRS[$1]:-}" || printf '%s' "$2"
}

# Prints "passed failed" for JUnit XML text on stdin, or fails when it holds no counts.
# The counts are the outermost totals: <testsuites tests=...> when it has them,
# else every <testsuite tests=...> that is not inside a counted one. Skipped
# tests missing on <testsuites> (jest-junit) come from its <testsuite> elements.
junit_counts() {
  local tags tag name stack='' re
  re=$'<(/testsuites?[[:space:]]*|testsuites?([[:space:]]([^"\'>]|"[^"]*"|\'[^\']*\')*)?/?)>'
  local -i tests=0 failures=0 errors=0 skipped=0 counted=0
  local -i top=0 top_tests=0 top_failures=0 top_errors=0 top_skipped=-1
  tags=$(tr '\r\n\t' '   ' | grep -oE "$re") || return 1
  while IFS= read -r tag; do
    [[ $tag =~ ^\<(/?[a-z]+) ]] || continue
    name=${BASH_REMATCH[1]}
    case $name in
      /testsuite) stack=${stack%?} ;;
      testsuites)
        ((top)) && continue
        parse_attrs "$tag"
        [[ -n $(attr_int tests '') ]] || continue
        top=1
        top_tests=$(attr_int tests 0)
        top_failures=$(attr_int failures 0)
        top_errors=$(attr_int errors 0)
        top_skipped=$(attr_int skipped -1)
        ;;
      testsuite)
        parse_attrs "$tag"
        local open=0
        if [[ $stack != *1* && -n $(attr_int tests '') ]]; then
          open=1
          counted+=1
          tests+=$(attr_int tests 0)
          failures+=$(attr_int failures 0)
          errors+=$(attr_int errors 0)
          skipped+=$(attr_int skipped 0)
        fi
        [[ $tag == */\> ]] || stack+=$open
        ;;
    esac
  done <<<"$tags"
  if ((top)); then
    ((top_skipped >= 0)) && skipped=$top_skipped
    tests=$top_tests failures=$top_failures errors=$top_errors
  elif ((!counted)); then
    return 1
  fi
  local -i passed=$((tests - failures - errors - skipped))
  ((passed < 0)) && passed=0
  printf '%d %d' "$passed" $((failures + errors))
}

# Reads summary.json ($1) into RESULT_PASSED, RESULT_FAILED and RESULT_SUMMARY.
read_summary_json() {
  local text value key
  text=$(runner_cat "$1" | head -c 1048576 | tr '\r\n\t' '   ')
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

# Counts from the results directory $1 and exit code $2 (DESIGN §6 step 7) into
# RESULT_PASSED, RESULT_FAILED (integers or '' for null) and RESULT_SUMMARY.
read_results() {
  local dir=$1 file counts restore
  local -i code=$2 passed=0 failed=0 found=0
  RESULT_PASSED='' RESULT_FAILED='' RESULT_SUMMARY=''
  if [[ -f $dir/summary.json ]]; then
    read_summary_json "$dir/summary.json"
  else
    restore=$(shopt -p nullglob globstar)
    shopt -s nullglob globstar
    for file in "$dir"/**/*.xml; do
      [[ -f $file ]] || continue
      counts=$(runner_cat "$file" | junit_counts) || continue
      found=1
      passed+=${counts% *}
      failed+=${counts#* }
    done
    eval "$restore"
    if ((found)); then
      RESULT_PASSED=$passed RESULT_FAILED=$failed
    fi
  fi
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
  if is_local; then log "startup (local mode), pid $$"; else log "startup, pid $$"; fi
  trap on_exit EXIT
  trap 'STOP_REASON="The VM was stopped before the test finished"; log "stopped by a signal"; exit 143' TERM INT HUP

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
  local repo sha platform clone_url command absent=''
  repo=$(metadata_get vmci-repo) || repo=''
  platform=$(metadata_get vmci-platform) || platform=''
  sha=$(metadata_get vmci-sha) || absent+=' vmci-sha'
  clone_url=$(metadata_get vmci-clone-url) || absent+=' vmci-clone-url'
  command=$(metadata_get vmci-test-command) || absent+=' vmci-test-command'
  log "test $TEST_ID: $repo@$sha on ${platform:-?}"

  # 2.
  report preparation
  PREPARATION_REPORTED=1
  [[ -z $absent ]] || fail "The VM metadata lacks${absent}"
  [[ $sha =~ ^[0-9a-f]{40}$ ]] || fail 'The VM metadata has no valid commit (vmci-sha)'
  [[ $clone_url =~ ^(https?://|file://|/) ]] ||
    fail 'The VM metadata has no valid clone URL (vmci-clone-url)'
  [[ -n ${command//[[:space:]]/} ]] || fail 'The VM metadata has an empty test command'

  # 3.
  local work
  if is_local; then
    work=$PWD/vmci
    RUNNER_HOME=${HOME:-$work/home}
    RUNNER_PATH=${PATH:-$STANDARD_PATH}
  else
    work=/var/lib/vmci
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
  if ! mkdir -p -- "$work" || ! chmod 755 -- "$work"; then
    fail 'Could not create the work directory'
  fi
  CHECKOUT=$work/checkout
  local results=$work/results
  if ! runner_dir "$CHECKOUT" || ! runner_dir "$results"; then
    fail 'Could not create the work directory'
  fi

  # 4.
  log "fetching ${repo:-the repository} at $sha"
  fetch_commit "$sha" "$clone_url" || fail "Could not fetch commit ${sha:0:7}"

  # 5.
  report testing

  # 6. Straight to our stdout, so the console shows it as it comes.
  log "running the test command: $(one_line "$command" 300)"
  local -a RUNNER_EXTRA_ENV=(
    "VMCI_RESULTS_DIR=$results" CI=true
    "VMCI_TEST_ID=$TEST_ID" "VMCI_REPO=$repo" "VMCI_SHA=$sha" "VMCI_PLATFORM=$platform"
  )
  (cd -- "$CHECKOUT" && as_runner bash -c "$command") </dev/null 2>&1
  rc=$?
  unset RUNNER_EXTRA_ENV
  log "the test command exited with code $rc"
  # Nothing the tests started may outlive them (a real VM only: locally that is the developer).
  is_local || runuser -u "$RUNNER_USER" -- bash -c 'kill -KILL -1' 2>/dev/null

  # 7. and 8.
  read_results "$results" "$rc"
  log "result: $RESULT_SUMMARY"
  value=$(result_json "$rc")
  FINISHED=1
  report completed "$value" final
  power_off
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
