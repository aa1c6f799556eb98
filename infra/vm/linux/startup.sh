#!/bin/bash
# vm-ci's Linux VM startup script (DESIGN §6; the contract is in infra/vm/README.md).
# It runs as root on a fresh VM (as the `startup-script` metadata key), fetches
# one commit, runs the platform's test command as the unprivileged user
# vmci-runner, reports to vm-ci's progress endpoint and powers off.
# VMCI_LOCAL=1 (the local Compute stand-in) skips only what needs root or a real VM.
#
# Only bash, coreutils, findutils, grep, curl and git are needed (iptables, useradd, runuser
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
# What is read from VMCI_RESULTS_DIR (as the runner, see read_results): at most
# 1 MiB of summary.json, 10 MiB per JUnit file, 50 MiB in all, 2000 JUnit files,
# 32 directories deep, within 5 minutes. Past a cap a file is skipped, and logged.
readonly SUMMARY_JSON_MAX_BYTES=1048576
readonly RESULTS_FILE_MAX_BYTES=10485760
readonly RESULTS_TOTAL_MAX_BYTES=52428800
readonly RESULTS_MAX_FILES=2000
readonly RESULTS_MAX_DEPTH=32
readonly RESULTS_TIME_LIMIT_SECONDS=300

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
