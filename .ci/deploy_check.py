"""Checks deploy/: the Dockerfile with hadolint, every Kubernetes manifest
against the Kubernetes schemas (offline, kubernetes-validate), and that the
Dockerfile, the manifests and the binary agree on ports, probes, paths and
the user.

    python .ci/deploy_check.py target/release/kicer [--root DIR]

Run with the CI venv's python (.ci/requirements.txt): hadolint and
kubernetes-validate are looked up beside it. Exits 1 with one line per
problem, each saying what to change.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

# The oldest Kubernetes with native gRPC probes and CronJob timeZone as GA
# features, and the newest whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ["1.27.0", "1.37.0"]
# The data directory's volumeClaimTemplate in statefulset.yaml.
DATA_VOLUME = "data"


class Check:
    """Collects failures, so one run lists everything there is to fix."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def ok(self, condition: bool, passed: str, fix: str) -> bool:
        if condition:
            print(f"ok: {passed}")
        else:
            self.failures.append(fix)
            print(f"FAILED: {fix}")
        return condition


def tool(name: str) -> str:
    """The tool beside this venv's python, else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"FAILED: {name} is not installed: pip install -r .ci/requirements.txt into the venv that runs this script")
    return found


# --- the Dockerfile ---------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuations joined."""
    logical: list[str] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    stages: list[list[tuple[str, str]]] = []
    for line in logical:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest.strip()))
    return stages[-1] if stages else []


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in instructions:
        if word != "ENV":
            continue
        parts = shlex.split(rest)
        if parts and "=" not in parts[0]:  # the old `ENV KEY value` form
            env[parts[0]] = " ".join(parts[1:])
            continue
        for part in parts:
            key, _, value = part.partition("=")
            env[key] = value
    return env


def json_or_words(rest: str) -> list[str]:
    if rest.startswith("["):
        return json.loads(rest)
    return shlex.split(rest)


def port_of(address: str) -> int | None:
    match = re.fullmatch(r"(.+):(\d+)", address or "")
    return int(match.group(2)) if match else None


def host_of(address: str) -> str:
    return (address or "").rpartition(":")[0].strip("[]")


# --- the binary ---------------------------------------------------------------


def help_text(binary: str, *args: str) -> str | None:
    done = subprocess.run([binary, *args, "--help"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


# --- the manifests ------------------------------------------------------------


def load_manifests(directory: Path) -> dict[str, list[dict]]:
    docs: dict[str, list[dict]] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs[path.name] = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def find(docs: dict[str, list[dict]], kind: str) -> list[tuple[str, dict]]:
    return [(name, d) for name, ds in docs.items() for d in ds if d.get("kind") == kind]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kicer", help="the kicer binary, e.g. target/release/kicer")
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path,
                        help="the repository (default: the one holding this script)")
    args = parser.parse_args()
    root: Path = args.root
    dockerfile = root / "deploy" / "Dockerfile"
    kube = root / "deploy" / "kubernetes"
    check = Check()

    print("-- hadolint (fails on warnings and errors)")
    done = subprocess.run([tool("hadolint"), "--no-color", "--failure-threshold", "warning", str(dockerfile)],
                          capture_output=True, text=True)
    if done.stdout.strip():
        print(done.stdout.rstrip())
    check.ok(done.returncode == 0, "hadolint finds nothing to fix in deploy/Dockerfile",
             f"hadolint: fix the findings above in deploy/Dockerfile (rules: https://github.com/hadolint/hadolint#rules), exit {done.returncode} {done.stderr.strip()}")

    print(f"-- Kubernetes schemas, strict, offline (kubernetes-validate, Kubernetes {', '.join(KUBERNETES_VERSIONS)})")
    manifests = sorted(p for p in kube.glob("*.yaml") if p.name != "kustomization.yaml")
    command = [tool("kubernetes-validate"), "--strict", "--quiet"]
    for version in KUBERNETES_VERSIONS:
        command += ["-k", version]
    done = subprocess.run(command + [str(p) for p in manifests], capture_output=True, text=True)
    if (done.stdout + done.stderr).strip():
        print((done.stdout + done.stderr).rstrip())
    check.ok(done.returncode == 0 and bool(manifests),
             f"{len(manifests)} manifests match the schemas: {', '.join(p.name for p in manifests)}",
             "a manifest in deploy/kubernetes does not match the Kubernetes schema: fix the field named above (a typo, a wrong type or a field that does not exist)")

    print("-- the Dockerfile, the manifests and the binary agree")
    serve_help = help_text(args.kicer, "serve")
    if serve_help is None:
        check.ok(False, "", f"`{args.kicer} serve --help` failed: pass the path of a built kicer binary")
        return report(check)
    match = re.search(r"--listen <IP:PORT>\s+Address to listen on \[default: ([^\]]+)\]", serve_help)
    default_port = port_of(match.group(1)) if match else None
    check.ok(default_port is not None, f"kicer serve listens on port {default_port} by default",
             "cannot read the default port from `kicer serve --help` (`--listen … [default: IP:PORT]`): update the pattern in .ci/deploy_check.py")

    instructions = dockerfile_instructions(dockerfile)
    env = dockerfile_env(instructions)
    for name in ("KICER_LISTEN", "KICER_DATA_DIR", "KICER_METRICS_LISTEN", "KICER_CONFIG"):
        check.ok(name in env, f"Dockerfile sets {name}={env.get(name)}",
                 f"deploy/Dockerfile: add ENV {name}=… to the runtime stage")
        check.ok(f"[env: {name}=" in serve_help, f"kicer serve reads {name}",
                 f"deploy/Dockerfile sets {name}, which `kicer serve --help` does not list: rename it to the variable the binary reads")
    check.ok("KICER_INSECURE" not in env, "the image keeps the loopback-without-clients guard",
             "deploy/Dockerfile: remove KICER_INSECURE; the image must refuse to listen beyond loopback without [[clients]]")
    grpc_port = port_of(env.get("KICER_LISTEN", ""))
    metrics_port = port_of(env.get("KICER_METRICS_LISTEN", ""))
    data_dir = env.get("KICER_DATA_DIR", "")
    config_path = env.get("KICER_CONFIG", "")
    check.ok(grpc_port == default_port, f"KICER_LISTEN port {grpc_port} == the binary's default {default_port}",
             f"deploy/Dockerfile: KICER_LISTEN's port is {grpc_port}, the binary's default is {default_port}: use {default_port} (or change both, and the manifests)")
    check.ok(host_of(env.get("KICER_LISTEN", "")) in ("0.0.0.0", "::"), "KICER_LISTEN accepts connections from outside the container",
             "deploy/Dockerfile: KICER_LISTEN must listen on 0.0.0.0 (a container's loopback is unreachable from outside)")
    exposed = {int(p.split("/")[0]) for word, rest in instructions if word == "EXPOSE" for p in rest.split()}
    check.ok(exposed == {grpc_port, metrics_port}, f"EXPOSE {sorted(exposed)} == the KICER_LISTEN and KICER_METRICS_LISTEN ports",
             f"deploy/Dockerfile: EXPOSE {sorted(exposed)} must be exactly the ports of KICER_LISTEN ({grpc_port}) and KICER_METRICS_LISTEN ({metrics_port})")
    volumes = [v for word, rest in instructions if word == "VOLUME" for v in json_or_words(rest)]
    check.ok(data_dir in volumes, f"VOLUME {volumes} holds KICER_DATA_DIR {data_dir}",
             f"deploy/Dockerfile: VOLUME {volumes} must include KICER_DATA_DIR ({data_dir})")
    users = [rest for word, rest in instructions if word == "USER"]
    user_match = re.fullmatch(r"(\d+):(\d+)", users[-1]) if users else None
    uid, gid = (int(user_match.group(1)), int(user_match.group(2))) if user_match else (None, None)
    check.ok(user_match is not None and uid != 0, f"USER {uid}:{gid}",
             "deploy/Dockerfile: end the runtime stage with USER UID:GID, numeric and not 0, so Kubernetes' runAsNonRoot can verify it")
    health = [rest for word, rest in instructions if word == "HEALTHCHECK"]
    health_cmd = json_or_words(health[-1].split("CMD", 1)[1].strip()) if health and "CMD" in health[-1] else []
    server = health_cmd[health_cmd.index("--server") + 1] if "--server" in health_cmd else ""
    check.ok(health_cmd[:2] == ["kicer", "health"] and port_of(urlsplit(server).netloc) == grpc_port,
             f"HEALTHCHECK {' '.join(health_cmd)}",
             f"deploy/Dockerfile: HEALTHCHECK must be CMD [\"kicer\", \"health\", \"--server\", \"http://127.0.0.1:{grpc_port}\"] (found {health_cmd})")
    check.ok(help_text(args.kicer, "health") is not None, "the binary has `kicer health`",
             f"the HEALTHCHECK runs `kicer health`, which `{args.kicer}` does not have: build a kicer with it, or change the HEALTHCHECK")

    docs = load_manifests(kube)
    sets = find(docs, "StatefulSet")
    if not check.ok(len(sets) == 1, "one StatefulSet", "deploy/kubernetes: keep exactly one StatefulSet (kicer's)"):
        return report(check)
    sts = sets[0][1]
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    check.ok(spec.get("replicas") == 1, "replicas: 1 (sled has one writer)",
             "statefulset.yaml: replicas must be 1: sled is a single-writer store; a second pod cannot open it")
    containers = {c["name"]: c for c in pod.get("containers", [])}
    container = containers.get("kicer")
    if not check.ok(container is not None, "a container named kicer", "statefulset.yaml: name the server's container `kicer`"):
        return report(check)
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    check.ok(ports.get("grpc") == grpc_port and ports.get("metrics") == metrics_port and set(ports.values()) == exposed,
             f"container ports {ports} == Dockerfile EXPOSE {sorted(exposed)}",
             f"statefulset.yaml: container ports {ports} must be grpc: {grpc_port} and metrics: {metrics_port} (KICER_LISTEN, KICER_METRICS_LISTEN) and equal the Dockerfile's EXPOSE {sorted(exposed)}: change whichever side is wrong")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe is None and probe_name == "startupProbe":
            continue
        check.ok(probe is not None and set(probe) & {"grpc", "httpGet", "tcpSocket", "exec"} == {"grpc"}
                 and probe["grpc"].get("port") == grpc_port,
                 f"{probe_name} is a gRPC probe on port {grpc_port}",
                 f"statefulset.yaml: {probe_name} must be `grpc: {{port: {grpc_port}}}` (grpc.health.v1 answers without a token), found {probe}")
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    templates = [t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])]
    check.ok(DATA_VOLUME in templates and mounts.get(DATA_VOLUME, {}).get("mountPath") == data_dir,
             f"volumeClaimTemplate {DATA_VOLUME} mounted at KICER_DATA_DIR {data_dir}",
             f"statefulset.yaml: mount the volumeClaimTemplate `{DATA_VOLUME}` at {data_dir} (KICER_DATA_DIR in the Dockerfile)")
    security = pod.get("securityContext", {})
    check.ok(security.get("runAsNonRoot") is True and security.get("runAsUser") == uid
             and security.get("runAsGroup") == gid and security.get("fsGroup") == gid,
             f"runAsNonRoot, runAsUser {uid}, runAsGroup/fsGroup {gid} == Dockerfile USER",
             f"statefulset.yaml: pod securityContext needs runAsNonRoot: true, runAsUser: {uid}, runAsGroup: {gid}, fsGroup: {gid} (the Dockerfile's USER)")
    check.ok(container.get("securityContext", {}).get("readOnlyRootFilesystem") is True,
             "readOnlyRootFilesystem", "statefulset.yaml: set readOnlyRootFilesystem: true on the kicer container (it writes only into its data directory)")
    env_names = {e["name"] for e in container.get("env", [])}
    check.ok("KICER_INSECURE" not in env_names, "the StatefulSet keeps the loopback-without-clients guard",
             "statefulset.yaml: remove KICER_INSECURE; give the server [[clients]] in the kicer-config Secret instead")

    secrets = {d["metadata"]["name"]: d for _, d in find(docs, "Secret")}
    config_found = False
    for volume in pod.get("volumes", []):
        secret = volume.get("secret")
        mount = mounts.get(volume["name"])
        if not secret or not mount:
            continue
        for item in secret.get("items", []):
            # With subPath the mount is the file itself; without, the
            # Secret's items are files in the mounted directory.
            if mount.get("subPath"):
                path = mount["mountPath"] if mount["subPath"] == item["path"] else None
            else:
                path = str(Path(mount["mountPath"]) / item["path"])
            if path == config_path:
                config_found = True
                example = secrets.get(secret["secretName"], {})
                text = (example.get("stringData") or {}).get(item["key"])
                check.ok(text is not None, f"Secret {secret['secretName']} key {item['key']} is mounted at KICER_CONFIG {config_path}",
                         f"secret.example.yaml: define Secret {secret['secretName']} with stringData key {item['key']} (the config mounted at {config_path})")
                if text is not None:
                    try:
                        clients = tomllib.loads(text).get("clients", [])
                    except tomllib.TOMLDecodeError as e:
                        clients = None
                        check.ok(False, "", f"secret.example.yaml: {item['key']} is not valid TOML: {e}")
                    if clients is not None:
                        check.ok(len(clients) > 0, f"the example config lists {len(clients)} [[clients]]",
                                 f"secret.example.yaml: {item['key']} needs [[clients]] blocks, or the server refuses to listen on {env.get('KICER_LISTEN')}")
    check.ok(config_found, f"a Secret is mounted at KICER_CONFIG {config_path}",
             f"statefulset.yaml: mount a Secret holding kicer.toml so that it appears at {config_path} (KICER_CONFIG in the Dockerfile)")

    labels = spec["template"]["metadata"].get("labels", {})
    services = {d["metadata"]["name"]: d for _, d in find(docs, "Service")}
    grpc_service = metrics_service = None
    for name, service in services.items():
        selector = service["spec"].get("selector", {})
        selects = bool(selector) and all(labels.get(k) == v for k, v in selector.items())
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            if target in ("grpc", grpc_port) and selects:
                grpc_service = (name, port["port"])
            if target in ("metrics", metrics_port) and selects:
                metrics_service = (name, port["port"], service["metadata"].get("annotations", {}))
    check.ok(grpc_service is not None and grpc_service[1] == grpc_port,
             f"Service {grpc_service and grpc_service[0]} serves gRPC on {grpc_port}",
             f"services.yaml: add a Service selecting {labels} with port {grpc_port} → targetPort grpc")
    check.ok(spec.get("serviceName") in services, f"serviceName {spec.get('serviceName')} is a Service here",
             f"statefulset.yaml: serviceName {spec.get('serviceName')} names no Service in deploy/kubernetes")
    if check.ok(metrics_service is not None and metrics_service[1] == metrics_port,
                f"Service {metrics_service and metrics_service[0]} serves metrics on {metrics_port} (KICER_METRICS_LISTEN)",
                f"services.yaml: add a metrics Service selecting {labels} with port {metrics_port} (KICER_METRICS_LISTEN's port) → targetPort metrics"):
        annotations = metrics_service[2]
        check.ok(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == str(metrics_port),
                 "the metrics Service carries the Prometheus scrape annotations",
                 f"services.yaml: annotate {metrics_service[0]} with prometheus.io/scrape: \"true\" and prometheus.io/port: \"{metrics_port}\"")
        check.ok(grpc_service is None or metrics_service[0] != grpc_service[0], "metrics have a Service of their own",
                 "services.yaml: put the metrics port (no token) in a Service of its own, not beside gRPC")

    jobs = find(docs, "CronJob")
    if check.ok(len(jobs) == 1, "one backup CronJob", "backup-cronjob.yaml: define one CronJob running `kicer backup`"):
        job_pod = jobs[0][1]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        job = job_pod["containers"][0]
        job_env = {e["name"]: e for e in job.get("env", [])}
        url = urlsplit(job_env.get("KICER_SERVER", {}).get("value", ""))
        check.ok(grpc_service is not None and url.hostname == grpc_service[0] and url.port == grpc_service[1],
                 f"the CronJob's KICER_SERVER {url.geturl()} is the gRPC Service",
                 f"backup-cronjob.yaml: set env KICER_SERVER to http://{grpc_service and grpc_service[0]}:{grpc_port} (the gRPC Service)")
        ref = job_env.get("KICER_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {})
        check.ok(ref.get("key") in (secrets.get(ref.get("name"), {}).get("stringData") or {}),
                 f"KICER_TOKEN comes from Secret {ref.get('name')} key {ref.get('key')}",
                 "backup-cronjob.yaml: take KICER_TOKEN from a secretKeyRef whose Secret and key secret.example.yaml defines")
        command = " ".join(job.get("command", []) + job.get("args", []))
        check.ok("kicer backup --to" in command, "the CronJob runs kicer backup --to",
                 "backup-cronjob.yaml: the container must run `kicer backup --to /backups/…`")
        claims = {d["metadata"]["name"] for _, d in find(docs, "PersistentVolumeClaim")}
        backup_volumes = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in job_pod.get("volumes", [])}
        backup_mount = next((m for m in job.get("volumeMounts", []) if m["mountPath"] == "/backups"), None)
        check.ok(backup_mount is not None and backup_volumes.get(backup_mount["name"]) in claims,
                 "/backups is a PersistentVolumeClaim defined here",
                 "backup-cronjob.yaml: mount a PersistentVolumeClaim (defined in deploy/kubernetes) at /backups")
        job_security = job_pod.get("securityContext", {})
        check.ok(job_security.get("runAsUser") == uid and job_security.get("runAsNonRoot") is True,
                 f"the CronJob runs as {uid}", f"backup-cronjob.yaml: securityContext runAsNonRoot: true, runAsUser: {uid} (the Dockerfile's USER)")

    kustomization = yaml.safe_load((kube / "kustomization.yaml").read_text())
    listed = set(kustomization.get("resources", []))
    expected = {p.name for p in manifests if not p.name.endswith(".example.yaml")}
    check.ok(listed == expected, f"kustomization.yaml lists {sorted(listed)}",
             f"kustomization.yaml: resources must be exactly {sorted(expected)} (every manifest but the *.example.yaml ones), found {sorted(listed)}")
    image_names = {i["name"] for i in kustomization.get("images", [])}
    check.ok(container["image"].split(":")[0] in image_names, f"kustomization.yaml sets the image {container['image']}",
             f"kustomization.yaml: add images: - name: {container['image']} with newName/newTag")
    return report(check)


def report(check: Check) -> int:
    if check.failures:
        print(f"\n{len(check.failures)} problem(s) in deploy/; fix:")
        for failure in check.failures:
            print(f"  - {failure}")
        return 1
    print("\ndeploy/: Dockerfile, manifests and binary agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
