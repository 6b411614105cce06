#!/bin/sh
# Many tenants on Kubernetes, in order: the indexed Job (one pod per tenant), then the merge Job.
# Exits with the merge's exit code (the worst tenant's). Needs kubectl with access to the cluster,
# and cronjob.yaml applied once before (namespace and the annotated service account).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
ns=flowaudit
timeout="${FLOWAUDIT_PORTFOLIO_TIMEOUT:-14400}"   # seconds, as the Job's activeDeadlineSeconds

# Job specs are immutable: a new run replaces the previous Jobs (their pods and logs go with them).
kubectl -n "$ns" delete job flowaudit-portfolio flowaudit-portfolio-merge --ignore-not-found --wait=true
kubectl apply -f "$here/portfolio-indexed-job.yaml"

# Wait until a Job is Complete or Failed (a failed tenant, or findings, is a result too).
wait_job() {
  waited=0
  while :; do
    state="$(kubectl -n "$ns" get job "$1" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
    case " $state " in
      *" Complete "* | *" Failed "*) echo "job $1: $state"; return 0 ;;
    esac
    if [ "$waited" -ge "$2" ]; then
      echo "run-portfolio: job $1 did not finish in $2 s" >&2
      exit 3
    fi
    sleep 15
    waited=$((waited + 15))
  done
}
wait_job flowaudit-portfolio "$timeout"

kubectl apply -f "$here/portfolio-merge-job.yaml"
wait_job flowaudit-portfolio-merge 1800
kubectl -n "$ns" logs job/flowaudit-portfolio-merge
pod="$(kubectl -n "$ns" get pods -l job-name=flowaudit-portfolio-merge -o jsonpath='{.items[0].metadata.name}')"
code="$(kubectl -n "$ns" get pod "$pod" \
  -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')"
echo "portfolio exit code: ${code:-3}"
exit "${code:-3}"
