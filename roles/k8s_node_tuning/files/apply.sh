#!/bin/sh
# rtcstack.livekit k8s_node_tuning: applies the KEY=VALUE lines of sysctl.conf to the node's kernel. The pod is on
# the host network, so the net.* keys are the node's own; fs.*, vm.* and kernel.* keys are host-wide anyway.
# Keys named in "floor" are capacity keys: a higher value the kernel already has is kept. Prints one line per key
# and fails when a key is missing or reads back other than wanted.
set -u
set -f
dir=${1:-/etc/rtcstack/node-tuning}
root=${2:-/proc/sys}
floor=" $(cat "$dir/floor") "
nofile=$(cat "$dir/nofile")
failed=0
row() { printf '%-36s %-26s %-26s %s\n' "$1" "$2" "$3" "$4"; }
row key wanted applied status
while IFS='=' read -r key value; do
  case "$key" in '' | '#'*) continue ;; esac
  path=$root/$(echo "$key" | tr . /)
  if [ ! -e "$path" ]; then
    row "$key" "$value" - "FAILED: not in this kernel (load the module it belongs to, or drop the key)"
    failed=1
    continue
  fi
  # shellcheck disable=SC2046
  set -- $(cat "$path")
  now="$*"
  wanted=$value
  case "$floor" in *" $key "*)
    if [ "$now" -gt "$wanted" ] 2>/dev/null; then wanted=$now; fi ;;
  esac
  status=unchanged
  if [ "$now" != "$wanted" ]; then
    if echo "$wanted" > "$path" 2>/dev/null; then status=applied; else status="FAILED: the kernel refused it"; fi
  fi
  # shellcheck disable=SC2046
  set -- $(cat "$path")
  applied="$*"
  if [ "$applied" != "$wanted" ]; then
    [ "${status#FAILED}" = "$status" ] && status="FAILED: reads back $applied"
    failed=1
  fi
  row "$key" "$wanted" "$applied" "$status"
done < "$dir/sysctl.conf"
# Open files: a pod gets the container runtime's limit, not systemd's DefaultLimitNOFILE. (dash has ulimit -S/-H.)
# shellcheck disable=SC3045
row "nofile (this pod)" "$nofile:$nofile" "$(ulimit -Sn):$(ulimit -Hn)" "set by the container runtime, reported only"
exit $failed
