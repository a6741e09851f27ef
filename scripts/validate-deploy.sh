#!/usr/bin/env bash
# Validate the deployment files (deploy/ and k8s/) without a container engine or
# a cluster: schemas, syntax, and the cross-references between files that a typo
# would silently break.
#
#   scripts/validate-deploy.sh            # from anywhere in the repository
#   K8S_VERSION=1.35.0 scripts/validate-deploy.sh
#
# Needs python3 with pip; installs kubernetes-validate (and PyYAML) if missing.
# Uses promtool, nginx, hadolint, docker compose / docker-compose, kubectl and
# cargo when they are installed, and says "skip" when they are not.
# Prints one line per check and exits non-zero if any check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Kubernetes version the manifests are validated against.
K8S_VERSION=${K8S_VERSION:-1.37.0}
# Custom resources that kubernetes-validate has no schema for; they are checked
# structurally below instead. Any other kind without a schema is a failure.
CRD_KINDS=(ServiceMonitor)
# The build commands of `make build`; the Dockerfile must run exactly these.
BUILD_COMMANDS=(
    'cd web && npm ci && npm run build'
    'cargo build --release --locked -p livesupport'
)

passed=0 failed=0 skipped=0
pass() { echo "  ok    $*"; passed=$((passed + 1)); }
fail() { echo "  FAIL  $*"; failed=$((failed + 1)); }
skip() { echo "  skip  $*"; skipped=$((skipped + 1)); }
section() { echo; echo "== $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# Count the "ok …" / "FAIL …" / "skip …" lines a helper prints; echo the rest.
tally() {
    local line
    while IFS= read -r line; do
        case $line in
            "ok "*) pass "${line#ok }" ;;
            "FAIL "*) fail "${line#FAIL }" ;;
            "skip "*) skip "${line#skip }" ;;
            "") ;;
            *) echo "        $line" ;;
        esac
    done
}

# Run a Python check (the script on stdin, arguments after) and tally its lines.
run_python() {
    local out rc=0
    out=$(python3 - "$@" 2>&1) || rc=$?
    tally <<<"$out"
    if ((rc != 0)); then fail "python check exited with status $rc"; fi
}

# ---------------------------------------------------------------------------
section "tools"
have python3 || { echo "python3 is required" >&2; exit 2; }
if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "  installing PyYAML"
    python3 -m pip install --quiet --disable-pip-version-check PyYAML
fi
pass "PyYAML $(python3 -c 'import yaml; print(yaml.__version__)')"
if ! have kubernetes-validate; then
    echo "  installing kubernetes-validate"
    python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate
fi
# The console script may land outside PATH (a --user install); the module always works.
if have kubernetes-validate; then
    KV=(kubernetes-validate)
else
    KV=(python3 -m kubernetes_validate)
fi
pass "kubernetes-validate $("${KV[@]}" --version)"

mapfile -t yaml_files < <(find deploy k8s -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
mapfile -t json_files < <(find deploy -type f -name '*.json' | sort)
mapfile -t k8s_files < <(find k8s -maxdepth 1 -type f \( -name '*.yml' -o -name '*.yaml' \) \
    ! -name kustomization.yaml ! -name kustomization.yml | sort)

# ---------------------------------------------------------------------------
section "YAML and JSON parse"
run_python "${yaml_files[@]}" <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        print(f"ok {path} ({len(docs)} document{'s' if len(docs) != 1 else ''})")
    except Exception as e:
        print(f"FAIL {path}: {e}".replace("\n", " "))
PY
run_python "${json_files[@]}" <<'PY'
import json, sys
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            json.load(f)
        print(f"ok {path}")
    except Exception as e:
        print(f"FAIL {path}: {e}")
PY

# ---------------------------------------------------------------------------
section "Kubernetes manifests: kubernetes-validate --strict, Kubernetes $K8S_VERSION"
# kubernetes-validate only warns, and exits 0, for a kind it has no schema for,
# even with --strict (which rejects unknown fields). A misspelt kind or an
# apiVersion that does not exist would pass that way, so such a warning fails
# here unless the kind is one of CRD_KINDS.
validate_k8s() { # $1: file (or - for stdin), $2: label
    local out rc=0 line kind
    out=$("${KV[@]}" --strict -k "$K8S_VERSION" "$1" 2>&1) || rc=$?
    while IFS= read -r line; do
        case $line in
            INFO*" passed for resource "*)
                pass "$2: ${line#* passed for resource }" ;;
            *"Couldn't find schema for kind "*)
                kind=${line#*for kind }
                kind=${kind%% *}
                if [[ " ${CRD_KINDS[*]} " == *" $kind "* ]]; then
                    pass "$2: $kind is a custom resource, no schema (checked below)"
                else
                    fail "$2: $line"
                fi ;;
            "") ;;
            *) fail "$2: $line" ;;
        esac
    done <<<"$out"
    if ((rc != 0)) && ! grep -q '^ERROR\|^FATAL' <<<"$out"; then
        fail "$2: kubernetes-validate exited with status $rc"
    fi
}
for f in "${k8s_files[@]}"; do
    validate_k8s "$f" "$f"
done

# ---------------------------------------------------------------------------
section "Kubernetes manifests: kustomization and cross-references"
run_python "${CRD_KINDS[*]}" "${k8s_files[@]}" <<'PY'
import os, sys, yaml

crd_kinds = set(sys.argv[1].split())
files = sys.argv[2:]
docs = []
for path in files:
    with open(path) as f:
        docs += [(path, d) for d in yaml.safe_load_all(f) if d]

def check(ok, what):
    print(("ok " if ok else "FAIL ") + what)

def find(kind, name=None):
    found = [d for _, d in docs if d.get("kind") == kind
             and (name is None or d.get("metadata", {}).get("name") == name)]
    return found[0] if found else None

def subset(small, big):
    return bool(small) and all(big.get(k) == v for k, v in small.items())

# kustomization.yaml lists every manifest but the examples, and nothing missing.
with open("k8s/kustomization.yaml") as f:
    kust = yaml.safe_load(f)
listed = set(kust.get("resources", []))
on_disk = {os.path.basename(p) for p in files}
for r in sorted(listed):
    check(os.path.exists(os.path.join("k8s", r)), f"kustomization.yaml: resource {r} exists")
for r in sorted(on_disk - listed):
    check(".example." in r, f"kustomization.yaml lists {r}" if ".example." not in r
          else f"kustomization.yaml leaves out {r} (an example, on purpose)")

dep = find("Deployment", "livesupport")
svc = find("Service", "livesupport")
check(dep is not None, "Deployment livesupport exists")
check(svc is not None, "Service livesupport exists")
if dep and svc:
    pod = dep["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    c = pod["spec"]["containers"][0]
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("http") == 5000, "Deployment: container port 5000 is named http")
    check(subset(dep["spec"]["selector"]["matchLabels"], pod_labels),
          "Deployment: selector matches its pod template")
    check(subset(svc["spec"]["selector"], pod_labels), "Service: selector matches the Deployment's pods")
    check(any(p.get("targetPort") in ("http", 5000) for p in svc["spec"]["ports"]),
          "Service: targets the http port")
    # /metrics has a port of its own (METRICS_BIND), which only Prometheus reaches.
    cm = find("ConfigMap", "livesupport-config") or {}
    metrics_bind = str(cm.get("data", {}).get("METRICS_BIND", ""))
    bind_port = metrics_bind.rpartition(":")[2]
    check(bind_port.isdigit() and ports.get("metrics") == int(bind_port),
          f"Deployment: container port 'metrics' is the ConfigMap's METRICS_BIND port ({metrics_bind or 'unset'})")
    check(ports.get("metrics") != ports.get("http"), "Deployment: the metrics port is not the http port")
    metrics_svc_ports = [p for p in svc["spec"]["ports"] if p.get("targetPort") in ("metrics", ports.get("metrics"))]
    check(len(metrics_svc_ports) == 1, "Service: one port targets the metrics port")
    ann = pod["metadata"].get("annotations", {})
    if "prometheus.io/port" in ann:
        check(ann["prometheus.io/port"] == str(ports.get("metrics")), "Deployment: the prometheus.io/port annotation is the metrics port")
    check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "Deployment: readiness probe is /readyz")
    check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "Deployment: liveness probe is /healthz")
    pre = c.get("lifecycle", {}).get("preStop", {})
    pre_s = pre.get("sleep", {}).get("seconds", 0)
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    # preStop sleep, then the drain window and the process's own 30 s exit deadline.
    check(grace > pre_s + 30, f"Deployment: grace period {grace}s > preStop {pre_s}s + 30s exit deadline")
    check(dep["spec"]["strategy"].get("rollingUpdate", {}).get("maxUnavailable") == 0,
          "Deployment: rolling update with maxUnavailable 0")
    for _, d in docs:
        if d.get("kind") not in ("Deployment", "Job"):
            continue
        spec = d["spec"]["template"]["spec"]
        name = f'{d["kind"]} {d["metadata"]["name"]}'
        psc = spec.get("securityContext", {})
        good = psc.get("runAsNonRoot") is True and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        for ct in spec["containers"]:
            sc = ct.get("securityContext", {})
            good = good and sc.get("readOnlyRootFilesystem") is True \
                and sc.get("allowPrivilegeEscalation") is False \
                and sc.get("capabilities", {}).get("drop") == ["ALL"] \
                and any(m["mountPath"] == "/tmp" for m in ct.get("volumeMounts", []))
        check(good, f"{name}: non-root, read-only root, no privilege escalation, no capabilities, seccomp, /tmp mounted")

pdb = find("PodDisruptionBudget")
if pdb and dep:
    check(subset(pdb["spec"]["selector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]),
          "PodDisruptionBudget: selector matches the Deployment's pods")
hpa = find("HorizontalPodAutoscaler")
if hpa and dep:
    t = hpa["spec"]["scaleTargetRef"]
    check(t["kind"] == "Deployment" and t["name"] == dep["metadata"]["name"], "HorizontalPodAutoscaler: targets the Deployment")
ing = find("Ingress")
if ing and svc:
    backends = [p["backend"]["service"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
    svc_ports = {p.get("name") for p in svc["spec"]["ports"]} | {p["port"] for p in svc["spec"]["ports"]}
    check(all(b["name"] == svc["metadata"]["name"] and (b["port"].get("name") or b["port"].get("number")) in svc_ports
              for b in backends), "Ingress: backends are the Service and one of its ports")
    metrics_ports = {p.get("name") for p in svc["spec"]["ports"] if p.get("targetPort") == "metrics"} \
        | {p["port"] for p in svc["spec"]["ports"] if p.get("targetPort") == "metrics"}
    check(not any((b["port"].get("name") or b["port"].get("number")) in metrics_ports for b in backends),
          "Ingress: never routes to the metrics port (/metrics stays off the public surface)")
    cm = find("ConfigMap", "livesupport-config")
    if cm:
        public = cm.get("data", {}).get("PUBLIC_URL", "")
        hosts = [r.get("host") for r in ing["spec"]["rules"]]
        check(any(public in (f"https://{h}", f"http://{h}") for h in hosts),
              f"Ingress: a rule's host is the ConfigMap's PUBLIC_URL ({public})")
    ann = ing["metadata"].get("annotations", {})
    check(all(int(ann.get(f"nginx.ingress.kubernetes.io/proxy-{k}-timeout", 0)) >= 3600 for k in ("read", "send")),
          "Ingress: WebSocket read/send timeouts >= 3600 s")

# Custom resources: no schema, so at least the fields that make them work.
for path, d in docs:
    if d.get("kind") not in crd_kinds:
        continue
    if d["kind"] == "ServiceMonitor":
        spec = d.get("spec", {})
        eps = spec.get("endpoints", [])
        check(d.get("apiVersion") == "monitoring.coreos.com/v1", f"{path}: ServiceMonitor apiVersion monitoring.coreos.com/v1")
        check(bool(d.get("metadata", {}).get("name")), f"{path}: ServiceMonitor has a name")
        check(bool(eps) and all(e.get("path", "/metrics") == "/metrics" for e in eps), f"{path}: scrapes /metrics")
        if svc:
            check(subset(spec.get("selector", {}).get("matchLabels", {}), svc["metadata"].get("labels", {})),
                  f"{path}: selector matches the Service's labels")
            names = {p.get("name") for p in svc["spec"]["ports"]}
            check(all(e.get("port") in names for e in eps), f"{path}: endpoint port is a named Service port")
            metrics_names = {p.get("name") for p in svc["spec"]["ports"] if p.get("targetPort") == "metrics"}
            check(bool(eps) and all(e.get("port") in metrics_names for e in eps),
                  f"{path}: scrapes the Service port that targets the metrics port")
    else:
        print(f"skip {path}: no structural check for {d['kind']}")
PY

if have kubectl; then
    if rendered=$(kubectl kustomize k8s 2>&1); then
        pass "kubectl kustomize k8s renders"
        tmp=$(mktemp)
        printf '%s\n' "$rendered" >"$tmp"
        validate_k8s "$tmp" "kustomize output"
        rm -f "$tmp"
    else
        fail "kubectl kustomize k8s: $rendered"
    fi
else
    skip "kubectl kustomize k8s (kubectl not installed)"
fi

# ---------------------------------------------------------------------------
section "docker-compose.yml, nginx.conf, prometheus.yml"
run_python <<'PY'
import re, yaml, os
with open("deploy/docker-compose.yml") as f:
    compose = yaml.safe_load(f)
services = compose.get("services", {})

def check(ok, what):
    print(("ok " if ok else "FAIL ") + what)

for s in ("postgres", "redis", "migrate", "lb", "prometheus", "grafana"):
    check(s in services, f"compose: service {s}")
check(str(services.get("postgres", {}).get("image", "")).startswith("postgres:16"), "compose: PostgreSQL 16")
check(str(services.get("redis", {}).get("image", "")).startswith("redis:7"), "compose: Redis 7")
check(services.get("migrate", {}).get("command") == ["migrate"], "compose: migrate runs `livesupport migrate`")

nodes = sorted(s for s in services if re.fullmatch(r"livesupport-\d+", s))
check(len(nodes) >= 3, f"compose: {len(nodes)} livesupport nodes")
envs = {n: services[n].get("environment", {}) for n in nodes}
for n, env in envs.items():
    missing = [k for k in ("DATABASE_URL", "REDIS_URL", "TOKEN_SECRET", "PUBLIC_URL", "NODE_ID", "LOG_FORMAT") if k not in env]
    check(not missing, f"compose: {n} sets DATABASE_URL, REDIS_URL, TOKEN_SECRET, PUBLIC_URL, NODE_ID, LOG_FORMAT"
          + (f" (missing {', '.join(missing)})" if missing else ""))
    check(str(env.get("DATABASE_URL", "")).startswith("postgres://") and str(env.get("REDIS_URL", "")).startswith("redis://"),
          f"compose: {n} uses PostgreSQL and Redis")
    dep = services[n].get("depends_on", {})
    check(isinstance(dep, dict) and dep.get("migrate", {}).get("condition") == "service_completed_successfully",
          f"compose: {n} starts after migrate succeeded")
check(len({str(e.get("NODE_ID")) for e in envs.values()}) == len(nodes), "compose: every node has its own NODE_ID")
metrics_binds = {str(e.get("METRICS_BIND", "")) for e in envs.values()}
metrics_port = next(iter(metrics_binds)).rpartition(":")[2] if len(metrics_binds) == 1 else ""
check(metrics_port.isdigit() and metrics_port != "5000",
      f"compose: every node serves /metrics on a port of its own (METRICS_BIND: {', '.join(sorted(metrics_binds))})")
check(len({str(e.get("TOKEN_SECRET")) for e in envs.values()}) == 1, "compose: every node has the same TOKEN_SECRET")

# Bind mounts point at files that exist.
for name, s in services.items():
    for v in s.get("volumes", []):
        src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
        if src.startswith("."):
            check(os.path.exists(os.path.join("deploy", src)), f"compose: {name} mounts {src}, which exists")

# nginx and Prometheus know every node.
with open("deploy/nginx.conf") as f:
    nginx = f.read()
upstream = re.search(r"upstream\s+\w+\s*\{(.*?)\}", nginx, re.S)
servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", upstream.group(1), re.M) if upstream else []
check(sorted(h for h, _ in servers) == nodes and all(p == "5000" for _, p in servers),
      "nginx.conf: the upstream is exactly the compose nodes, port 5000")
check(not re.search(r"^\s*(ip_hash|hash|sticky)\b", upstream.group(1) if upstream else "", re.M), "nginx.conf: no sticky sessions")
for needle, what in [
    (r"proxy_set_header\s+Upgrade\s+\$http_upgrade", "Upgrade header"),
    (r"proxy_set_header\s+Connection\s+\$connection_upgrade", "Connection header"),
    (r"proxy_http_version\s+1\.1", "HTTP/1.1 to the upstream"),
    (r"proxy_set_header\s+X-Forwarded-For\s", "X-Forwarded-For"),
]:
    check(re.search(needle, nginx) is not None, f"nginx.conf: {what}")
m = re.search(r"proxy_read_timeout\s+(\d+)s?;", nginx)
check(m is not None and int(m.group(1)) >= 300, "nginx.conf: proxy_read_timeout well above the 60 s idle close")

with open("deploy/prometheus.yml") as f:
    prom = yaml.safe_load(f)
targets = sorted(t for job in prom.get("scrape_configs", []) if job.get("job_name") == "livesupport"
                 for sc in job.get("static_configs", []) for t in sc.get("targets", []))
check(sorted(t.split(":")[0] for t in targets) == nodes, "prometheus.yml: scrapes every compose node")
check(bool(targets) and all(t.rpartition(":")[2] == metrics_port for t in targets),
      f"prometheus.yml: scrapes the nodes' metrics port ({metrics_port}), not the one the load balancer uses")
PY

compose_cmd=()
if have docker && docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
elif have docker-compose; then
    compose_cmd=(docker-compose)
fi
if ((${#compose_cmd[@]})); then
    if out=$("${compose_cmd[@]}" -f deploy/docker-compose.yml config --quiet 2>&1); then
        pass "${compose_cmd[*]} config: docker-compose.yml is a valid compose file"
    else
        fail "${compose_cmd[*]} config: $out"
    fi
else
    skip "compose schema check (no docker compose or docker-compose)"
fi

if have nginx; then
    # nginx -t resolves upstream host names, which exist only inside compose:
    # test a copy that points them at 127.0.0.1.
    tmp=$(mktemp -d)
    sed -E 's/server +livesupport-[0-9]+:/server 127.0.0.1:/' deploy/nginx.conf >"$tmp/nginx.conf"
    if out=$(nginx -t -q -p "$tmp" -c "$tmp/nginx.conf" -g "pid $tmp/nginx.pid;" 2>&1); then
        pass "nginx -t: nginx.conf"
    else
        fail "nginx -t: $out"
    fi
    rm -rf "$tmp"
else
    skip "nginx -t (nginx not installed)"
fi

if have promtool; then
    for args in "check config deploy/prometheus.yml" "check rules deploy/alerts.yml" "test rules deploy/alerts.test.yml"; do
        # shellcheck disable=SC2086 # word splitting of args is intended
        if out=$(promtool $args 2>&1); then pass "promtool $args"; else fail "promtool $args: $out"; fi
    done
else
    skip "promtool check config / check rules / test rules (promtool not installed)"
fi

# ---------------------------------------------------------------------------
section "Grafana"
run_python "${json_files[@]}" <<'PY'
import json, sys
for path in sys.argv[1:]:
    if "/dashboards/" not in path:
        continue
    with open(path) as f:
        d = json.load(f)
    panels = [p for p in d.get("panels", []) if p.get("type") != "row"]
    exprs = [t.get("expr", "") for p in panels for t in p.get("targets", [])]
    print(("ok " if d.get("uid") and d.get("title") else "FAIL ") + f"{path}: has a uid and a title")
    print(("ok " if panels and all(exprs) else "FAIL ") + f"{path}: {len(panels)} panels, every target has a query")
    ids = [p.get("id") for p in d.get("panels", [])]
    print(("ok " if len(ids) == len(set(ids)) else "FAIL ") + f"{path}: panel ids are unique")
PY
if have promtool; then
    # Dashboard queries parse as PromQL: wrap them as recording rules for promtool.
    tmp=$(mktemp --suffix=.yml)
    python3 - "$tmp" "${json_files[@]}" <<'PY'
import json, sys, yaml
rules = []
for path in sys.argv[2:]:
    if "/dashboards/" not in path:
        continue
    for p in json.load(open(path)).get("panels", []):
        for t in p.get("targets", []):
            expr = t["expr"].replace("$__rate_interval", "5m").replace("$instance", ".*")
            rules.append({"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": expr})
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[1], "w"))
PY
    if out=$(promtool check rules "$tmp" 2>&1); then
        pass "promtool: every dashboard query parses as PromQL"
    else
        fail "promtool: dashboard queries: $out"
    fi
    rm -f "$tmp"
else
    skip "dashboard PromQL parse (promtool not installed)"
fi

# ---------------------------------------------------------------------------
section "Dockerfile"
# Comments do not count: the command has to be in an instruction.
dockerfile_code=$(grep -v '^[[:space:]]*#' deploy/Dockerfile)
for cmd in "${BUILD_COMMANDS[@]}"; do
    if grep -qF -- "$cmd" <<<"$dockerfile_code"; then
        pass "deploy/Dockerfile runs: $cmd"
    else
        fail "deploy/Dockerfile does not run the make build command: $cmd"
    fi
done
# And the other side: what `make build` would run (-n: print only; -B: as if
# nothing were up to date) must still be these. The Makefile may split a command
# or add flags (it runs `npm ci` only when node_modules is stale, with
# --no-audit), so each `&&`-part is looked for on its own.
if [[ -f Makefile ]] && have make; then
    if make_out=$(make -n -B build 2>&1); then
        # Join continued lines and squeeze blanks, so that layout does not matter.
        make_out=$(sed -e ':a' -e '/\\$/N; s/\\\n[[:space:]]*/ /; ta' <<<"$make_out" | tr -s ' \t' ' ')
        for cmd in "${BUILD_COMMANDS[@]}"; do
            missing=()
            while IFS= read -r part; do
                grep -qF -- "$part" <<<"$make_out" || missing+=("$part")
            done <<<"${cmd// && /$'\n'}"
            if ((${#missing[@]} == 0)); then
                pass "make build runs the same: $cmd"
            else
                fail "make build no longer runs '${missing[*]}' of: $cmd (change BUILD_COMMANDS here and deploy/Dockerfile with it)"
            fi
        done
    else
        fail "make -n -B build: $make_out"
    fi
else
    skip "comparison with make build (no Makefile, or no make)"
fi

if grep -qE '^HEALTHCHECK .*/healthz' <<<"$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' deploy/Dockerfile)"; then
    pass "deploy/Dockerfile: HEALTHCHECK probes /healthz"
else
    fail "deploy/Dockerfile: no HEALTHCHECK on /healthz"
fi
last_user=$(grep -E '^USER ' deploy/Dockerfile | tail -n1 | awk '{print $2}')
if [[ $last_user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]; then
    pass "deploy/Dockerfile: runs as numeric non-root user $last_user"
else
    fail "deploy/Dockerfile: final USER '$last_user' is not a numeric non-root uid"
fi
if have hadolint; then
    if out=$(hadolint deploy/Dockerfile 2>&1); then pass "hadolint deploy/Dockerfile"; else fail "hadolint: $out"; fi
else
    skip "hadolint (not installed)"
fi
if have cargo; then
    # The dependency-caching stage: the skeleton must be a workspace cargo can load.
    tmp=$(mktemp -d) out=""
    if sh deploy/cargo-skeleton.sh . "$tmp" >/dev/null 2>&1 \
        && out=$(cd "$tmp" && cargo metadata --no-deps --format-version 1 2>&1 >/dev/null); then
        pass "deploy/cargo-skeleton.sh: the skeleton is a workspace cargo can load"
    else
        fail "deploy/cargo-skeleton.sh: ${out:-the script failed}"
    fi
    rm -rf "$tmp"
else
    skip "cargo-skeleton check (cargo not installed)"
fi

# ---------------------------------------------------------------------------
echo
echo "validate-deploy: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
