#!/bin/sh
# Runs "$@" and stops it as soon as our stdin closes: the launcher holds the other end of that
# pipe, so whether it exits cleanly, crashes or is SIGKILLed, the component goes with it and no
# etcd or kube-apiserver is left behind.
# A background list's stdin is /dev/null unless redirected explicitly: keep the pipe on fd 3.
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
(
  cat <&3 >/dev/null
  kill -TERM "$child" 2>/dev/null
  i=0
  while kill -0 "$child" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 100 ] && { kill -KILL "$child" 2>/dev/null; break; }
    sleep 0.1
  done
) &
exec 3<&-
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
status=0
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
  status=$?
done
exit "$status"
