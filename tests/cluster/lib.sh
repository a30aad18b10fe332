# shellcheck shell=bash
# Shared by tests/cluster/up, tests/cluster/down and tests/run. Sourced, not executed.
#
# A state dir holds one control plane: .kscope-testenv (marker), mode (full | no-kcm),
# env (ports and bin dir), pki/, etcd-data/, logs/<component>.log, pids/<component>.pid,
# admin.kubeconfig, bin/kubectl, and ready (written last, when the cluster is up).
# extra-components, if present, names the components it runs besides those of its mode, one a
# line (authz-webhook, with tests/cluster/up --authz-webhook).

ks_log() { echo "$KS_TAG: $*" >&2; }
ks_now() { date +%s.%N; }
ks_since() { awk -v a="$1" -v b="$(ks_now)" 'BEGIN { printf "%.1f", b - a }'; }

# Absolute path of a dir that may not exist yet.
ks_abspath() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

# Refuses paths where a recursive delete could do damage.
ks_check_state_path() {
  local d=$1
  case $d in
    "" | / | /root | /home | /tmp | /work | "$HOME" | "$HOME/")
      ks_log "refusing to use '$d' as a state dir"; return 1 ;;
  esac
  if [ -d "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ] && [ ! -e "$d/.kscope-testenv" ]; then
    ks_log "'$d' is not empty and is not a kscope test cluster state dir (no .kscope-testenv marker); refusing to touch it"
    return 1
  fi
}

# The pid recorded for a component, if that process is still alive and still is the
# component's binary started for this state dir (pids get reused). A component that is a
# script of tests/cluster (authz-webhook) runs as its interpreter: python3 <script> ...; for it
# the interpreter must be python and its first argument the script.
ks_live_pid() { # state component
  local state=$1 comp=$2 pid exe cmdline
  local -a argv=()
  [ -f "$state/pids/$comp.pid" ] || return 1
  pid=$(cat "$state/pids/$comp.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=$(basename "${exe% (deleted)}")
  mapfile -d "" argv 2>/dev/null <"/proc/$pid/cmdline" || return 1
  if [ "$exe" != "$comp" ]; then
    [[ $exe == python* && ${argv[1]:-} == */tests/cluster/"$comp" ]] || return 1
  fi
  cmdline=${argv[*]}
  [[ $cmdline == *"$state/"* ]] || return 1
  echo "$pid"
}

# Stops whatever the state dir's pid files record: TERM, up to 8 s to exit (normally about
# 3 s), then KILL. The controller manager and the API server go first, together; etcd and any
# other recorded component (the authorization webhook) after them (an API server whose etcd
# is gone hangs in its shutdown, and it may ask the webhook while it stops).
ks_stop_recorded() { # state
  local state=$1 f comp
  local -a rest=(etcd)
  ks_stop_group "$state" kube-controller-manager kube-apiserver
  for f in "$state"/pids/*.pid; do
    [ -f "$f" ] || continue
    comp=$(basename "$f" .pid)
    case $comp in kube-controller-manager | kube-apiserver | etcd) ;; *) rest+=("$comp") ;; esac
  done
  ks_stop_group "$state" "${rest[@]}"
}

ks_stop_group() { # state component...
  local state=$1 i comp pid n t
  shift
  local -a pids=() names=()
  t=$(ks_now)
  for comp in "$@"; do
    [ -f "$state/pids/$comp.pid" ] || continue
    if pid=$(ks_live_pid "$state" "$comp"); then
      ks_log "stopping $comp (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid") names+=("$comp")
    else
      ks_log "$comp: not running (stale pid file)"
      rm -f "$state/pids/$comp.pid"
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for ((n = 0; n < 80; n++)); do
    ks_alive "${pids[@]}" || break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if ks_alive "${pids[$i]}"; then
      ks_log "${names[$i]} (pid ${pids[$i]}) still running after 8s; sending KILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    rm -f "$state/pids/${names[$i]}.pid"
  done
  for ((n = 0; n < 50; n++)); do ks_alive "${pids[@]}" || break; sleep 0.1; done
  ks_log "stopped ${names[*]} in $(ks_since "$t")s"
}

# True if any of the pids is still running (a zombie, not yet reaped by its parent, is not).
ks_alive() {
  local p st
  for p in "$@"; do
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || continue
    [ -n "$st" ] && [ "$st" != Z ] && return 0
  done
  return 1
}

# curl against the cluster's API server as the admin. Prints the body.
ks_api() { # state path [curl args...]
  local state=$1 path=$2; shift 2
  local port; port=$(sed -n 's/^APISERVER_PORT=//p' "$state/env")
  curl -sS --fail --max-time 5 \
    --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" \
    "$@" "https://127.0.0.1:$port$path"
}

# The components a state dir's cluster runs besides those of its mode (extra-components).
ks_extra_components() { # state
  [ -f "$1/extra-components" ] || return 0
  grep -v '^$' "$1/extra-components" || true
}

# True when the state dir holds a cluster that is up (in the given mode, full or no-kcm, if
# one is given, and running the given extra components, if any): marked ready, every
# component it should run alive, and the API server answering /readyz.
ks_healthy() { # state [mode [extra-component...]]
  local state=$1 mode=${2:-} comp
  shift $(($# < 2 ? $# : 2))
  [ -f "$state/ready" ] && [ -f "$state/env" ] && [ -f "$state/admin.kubeconfig" ] || return 1
  [ -z "$mode" ] || [ "$(cat "$state/mode" 2>/dev/null)" = "$mode" ] || return 1
  for comp in "$@"; do grep -qxF -- "$comp" "$state/extra-components" 2>/dev/null || return 1; done
  for comp in etcd kube-apiserver $(ks_extra_components "$state"); do
    ks_live_pid "$state" "$comp" >/dev/null || return 1
  done
  if [ "$(cat "$state/mode" 2>/dev/null)" = full ]; then
    ks_live_pid "$state" kube-controller-manager >/dev/null || return 1
  fi
  [ "$(ks_api "$state" /readyz 2>/dev/null)" = ok ]
}
