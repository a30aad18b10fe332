# shellcheck shell=bash
# Shared by the benchmarks. Sourced, not executed. Needs $kubectl and $work set.

# The walkthrough's own steps with kubectl for one tenant (namespace $1, ServiceAccount
# $1-sa unless $2 names it), ending with a kubeconfig in $work/$1.kubeconfig.
with_kubectl() { # ns [sa]
  local ns=$1 sa=${2:-$1-sa}
  "$kubectl" create namespace "$ns" >/dev/null
  "$kubectl" create serviceaccount "$sa" -n "$ns" >/dev/null
  cat <<YAML | "$kubectl" apply -f - >/dev/null
apiVersion: v1
kind: Secret
metadata:
  name: $sa
  namespace: $ns
  annotations:
    kubernetes.io/service-account.name: $sa
type: kubernetes.io/service-account-token
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: $sa
  namespace: $ns
rules:
- apiGroups: ["", "*"]
  resources: ["*"]
  verbs: [get, list, watch, create, update, patch, delete, deletecollection]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: $sa
  namespace: $ns
subjects:
- kind: ServiceAccount
  name: $sa
  namespace: $ns
roleRef:
  kind: Role
  name: $sa
  apiGroup: rbac.authorization.k8s.io
YAML
  "$kubectl" wait --for=jsonpath='{.data.token}' "secret/$sa" -n "$ns" --timeout=60s >/dev/null
  local token server ca out=$work/$ns.kubeconfig
  token=$("$kubectl" get secret "$sa" -n "$ns" -o 'jsonpath={.data.token}' | base64 -d)
  server=$("$kubectl" config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
  ca=$work/$ns.ca
  "$kubectl" config view --minify --raw -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$ca"
  KUBECONFIG=$out "$kubectl" config set-cluster c --server="$server" --certificate-authority="$ca" --embed-certs >/dev/null
  KUBECONFIG=$out "$kubectl" config set-credentials "$sa" --token="$token" >/dev/null
  KUBECONFIG=$out "$kubectl" config set-context c --cluster=c --user="$sa" --namespace="$ns" >/dev/null
  KUBECONFIG=$out "$kubectl" config use-context c >/dev/null
}


now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
# The time in microseconds, in $STAMP, from bash itself (5.0 or later): timing a span of a few
# milliseconds this way starts no process inside it (a `date` and a subshell added 1 to 2 ms
# to each measure, kscope's and kubectl's alike).
stamp() { STAMP=${EPOCHREALTIME//[!0-9]/}; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
