"""The Helm chart (helm/flowbot): it lints, renders valid Kubernetes objects for every CI variant, and
those objects do what the chart promises (probes, security, secrets, network policies, grace periods).

Every variant is rendered once per session (`helm template` is quick, but there are many checks);
the helm binary is the one `make install` puts next to the running Python.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.settings import Settings
from bot.slack.installations import check_oauth

CHART = Path(__file__).resolve().parents[2] / "helm" / "flowbot"
HELM = Path(sys.executable).parent / "helm"
RELEASE = "fb"
KUBE_VERSIONS = ("1.29.0", "1.33.0")
"""Kubernetes versions the manifests are validated against (kubernetes_validate ships their schemas)."""
VARIANTS = ("default", "socket", "external-redis", "ingress", "athena", "oauth")
SLACK_KEYS = {
    "FLOWBOT_SLACK_BOT_TOKEN",
    "FLOWBOT_SLACK_SIGNING_SECRET",
    "FLOWBOT_SLACK_APP_TOKEN",
    "FLOWBOT_SLACK_CLIENT_SECRET",
}
CLIENT_ID = "1111111111.2222222222"
OAUTH = ("--set-string", f"slack.oauth.clientId={CLIENT_ID}")
"""OAuth mode on the command line (a string: a YAML number would fail the schema)."""
ALLOWED = ("--set-string", r"config.FLOWBOT_ALLOWED_TEAMS=T0123ABCD\,E0123ABCD")
SETTINGS = {f"FLOWBOT_{name.upper()}" for name in Settings.model_fields}
POD_KINDS = {"Deployment", "StatefulSet"}
TMP = "/tmp"  # noqa: S108 - the emptyDir every container writes to, not a temporary file here

Doc = dict[str, Any]


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail("helm not found: run `make install`")
    done = subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed:\n{done.stderr}")
    return done


def variant_args(variant: str) -> list[str]:
    return [] if variant == "default" else ["-f", str(CHART / "ci" / f"{variant}-values.yaml")]


def template(*args: str) -> list[Doc]:
    out = helm("template", RELEASE, str(CHART), "--namespace", "flowbot", *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@functools.cache
def rendered(variant: str) -> tuple[Doc, ...]:
    return tuple(template(*variant_args(variant)))


def objects(docs: tuple[Doc, ...] | list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in objects(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(docs: tuple[Doc, ...] | list[Doc]) -> Iterator[tuple[str, Doc]]:
    for doc in docs:
        if doc["kind"] in POD_KINDS:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def env_of(container: Doc) -> dict[str, Any]:
    """name -> value, or the valueFrom of a variable set that way."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def configmap(docs: tuple[Doc, ...] | list[Doc]) -> dict[str, str]:
    return one(docs, "ConfigMap", f"{RELEASE}-flowbot")["data"]


def container(docs: tuple[Doc, ...] | list[Doc], deployment: str) -> Doc:
    spec = one(docs, "Deployment", f"{RELEASE}-flowbot-{deployment}")["spec"]["template"]["spec"]
    (found,) = spec["containers"]
    return found


def failure(*args: str) -> str:
    done = helm("template", RELEASE, str(CHART), *args, check=False)
    assert done.returncode != 0, f"helm template {' '.join(args)} should have failed"
    return done.stderr


# --- the chart is well formed -------------------------------------------------------------------


def test_the_ci_variants_are_the_ones_tested() -> None:
    files = {p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*-values.yaml")}
    assert files == set(VARIANTS) - {"default"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint_strict_passes(variant: str) -> None:
    done = helm("lint", "--strict", str(CHART), *variant_args(variant), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout, done.stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rendered_manifest_is_a_valid_kubernetes_object(variant: str) -> None:
    docs = rendered(variant)
    assert docs
    problems = []
    for doc in docs:
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                problems.append(
                    f"{doc['kind']}/{doc['metadata']['name']} (Kubernetes {version}): {exc.message}"
                )
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{doc['kind']}/{doc['metadata']['name']}: no schema in Kubernetes {version}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_carries_the_standard_labels(variant: str) -> None:
    for doc in rendered(variant):
        labels = doc["metadata"].get("labels", {})
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
            "helm.sh/chart",
        ):
            assert key in labels, f"{doc['kind']}/{doc['metadata']['name']} has no {key} label"
        assert doc["metadata"]["name"].startswith(f"{RELEASE}-flowbot")
        assert doc["metadata"]["namespace"] == "flowbot"


# --- modes and components ----------------------------------------------------------------------


def test_http_mode_serves_on_a_named_port_behind_a_cluster_ip_service() -> None:
    docs = rendered("default")
    bot = container(docs, "bot")
    assert bot["args"] == ["serve"]
    assert bot["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert configmap(docs)["FLOWBOT_HTTP_PORT"] == "3000"
    service = one(docs, "Service", f"{RELEASE}-flowbot-bot")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    pod_labels = one(docs, "Deployment", f"{RELEASE}-flowbot-bot")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert one(docs, "Deployment", f"{RELEASE}-flowbot-bot")["spec"]["replicas"] == 2
    assert not objects(docs, "Ingress")


def test_socket_mode_has_no_service_no_ingress_and_no_port() -> None:
    docs = rendered("socket")
    bot_deployment = one(docs, "Deployment", f"{RELEASE}-flowbot-bot")
    bot = container(docs, "bot")
    assert bot["args"] == ["serve", "--socket"]
    assert "ports" not in bot
    assert bot_deployment["spec"]["replicas"] == 1
    assert not objects(docs, "Ingress")
    components = {s["metadata"]["labels"]["app.kubernetes.io/component"] for s in objects(docs, "Service")}
    assert components == {"redis"}
    assert not [p for p in objects(docs, "PodDisruptionBudget") if p["metadata"]["name"].endswith("-bot")]
    policy = one(docs, "NetworkPolicy", f"{RELEASE}-flowbot-bot")
    assert policy["spec"]["ingress"] == [] and "Ingress" in policy["spec"]["policyTypes"]


def test_the_ingress_routes_to_the_bot_service_port() -> None:
    docs = rendered("ingress")
    service = one(docs, "Service", f"{RELEASE}-flowbot-bot")
    ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    (ingress,) = objects(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"][0]["secretName"] == "flowbot-tls"
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [p["path"] for p in paths] == ["/slack/events"]
    for path in paths:
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        port = backend["port"]
        assert port.get("name") in ports or port.get("number") in ports.values(), port


def test_the_bot_network_policy_narrows_ingress_to_the_controller_when_asked() -> None:
    policy = one(rendered("ingress"), "NetworkPolicy", f"{RELEASE}-flowbot-bot")
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    (default_rule,) = one(rendered("default"), "NetworkPolicy", f"{RELEASE}-flowbot-bot")["spec"]["ingress"]
    assert "from" not in default_rule  # from anywhere, but only to the HTTP port


def test_the_default_install_runs_redis_with_an_append_only_file_and_noeviction() -> None:
    docs = rendered("default")
    (redis,) = objects(docs, "StatefulSet")
    spec = redis["spec"]
    assert spec["replicas"] == 1
    assert spec["serviceName"] == f"{RELEASE}-flowbot-redis-headless"
    args = spec["template"]["spec"]["containers"][0]["args"]
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert options["--appendonly"] == "yes" and options["--appendfsync"] == "always"
    assert options["--maxmemory-policy"] == "noeviction" and options["--save"] == ""
    assert options["--dir"] == "/data"
    assert re.fullmatch(r"redis:7\.\d+\.\d+-alpine", spec["template"]["spec"]["containers"][0]["image"])
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    headless = one(docs, "Service", f"{RELEASE}-flowbot-redis-headless")
    assert headless["spec"]["clusterIP"] == "None"
    client = one(docs, "Service", f"{RELEASE}-flowbot-redis")
    assert client["spec"]["ports"][0]["port"] == 6379
    assert configmap(docs)["FLOWBOT_REDIS_URL"] == f"redis://{RELEASE}-flowbot-redis:6379/0"
    for probe in ("livenessProbe", "readinessProbe"):
        assert "redis-cli" in " ".join(spec["template"]["spec"]["containers"][0][probe]["exec"]["command"])
    assert not [p for p in objects(docs, "PodDisruptionBudget") if p["metadata"]["name"].endswith("-redis")]


def test_external_redis_from_a_secret_runs_no_redis_and_every_pod_reads_the_secret() -> None:
    docs = rendered("external-redis")
    assert not objects(docs, "StatefulSet")
    assert not [s for s in objects(docs, "Service") if "redis" in s["metadata"]["name"]]
    assert not [p for p in objects(docs, "NetworkPolicy") if p["metadata"]["name"].endswith("-redis")]
    assert "FLOWBOT_REDIS_URL" not in configmap(docs)
    for deployment in ("bot", "worker"):
        url = env_of(container(docs, deployment))["FLOWBOT_REDIS_URL"]
        assert url == {"secretKeyRef": {"name": "flowbot-redis", "key": "redis-url"}}
        egress = one(docs, "NetworkPolicy", f"{RELEASE}-flowbot-{deployment}")["spec"]["egress"]
        assert {
            "to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}],
            "ports": [{"port": 6380, "protocol": "TCP"}],
        } in egress


def test_external_redis_by_url_goes_in_the_config_map() -> None:
    docs = template(
        "--set", "redis.enabled=false", "--set", "redis.external.url=redis://cache.internal:6379/2"
    )
    assert not objects(docs, "StatefulSet")
    assert configmap(docs)["FLOWBOT_REDIS_URL"] == "redis://cache.internal:6379/2"
    for deployment in ("bot", "worker"):
        assert "FLOWBOT_REDIS_URL" not in env_of(container(docs, deployment))


def test_the_athena_variant_uses_irsa_and_no_data_volume() -> None:
    docs = rendered("athena")
    (account,) = objects(docs, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::012345678901:role/flowbot"
    )
    assert account["automountServiceAccountToken"] is False
    assert not objects(docs, "PersistentVolumeClaim")
    settings = configmap(docs)
    assert settings["FLOWBOT_ENGINE"] == "athena"
    assert settings["FLOWBOT_IOC_STORE"].startswith("s3://")
    assert "FLOWBOT_LOCAL_DATA_DIR" not in settings
    for name, spec in pod_specs(docs):
        if name.startswith("StatefulSet"):
            continue
        assert spec["serviceAccountName"] == account["metadata"]["name"]
        assert "initContainers" not in spec, f"{name} writes sample data on Athena"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert not any("persistentVolumeClaim" in v for v in volumes.values()), name
        (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] != "tmp"]
        assert mount["mountPath"] == settings["FLOWBOT_UNDELIVERED_DIR"]
        assert "emptyDir" in volumes[mount["name"]]


def test_the_local_engine_shares_one_data_volume_and_writes_sample_data_once() -> None:
    docs = rendered("default")
    (claim,) = objects(docs, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    settings = configmap(docs)
    assert settings["FLOWBOT_LOCAL_DATA_DIR"] == "/data/flowlogs"
    assert settings["FLOWBOT_IOC_STORE"] == "/data/iocs"
    assert settings["FLOWBOT_UNDELIVERED_DIR"] == "/data/undelivered"
    for name, spec in pod_specs(docs):
        if name.startswith("StatefulSet"):
            continue
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        (init,) = spec["initContainers"]
        assert init["image"] == spec["containers"][0]["image"]
        script = init["command"][-1]
        assert script.startswith("test -d /data/flowlogs/AWSLogs || flowbot sample-data /data/flowlogs")
        assert {"name": "data", "mountPath": "/data"} in init["volumeMounts"]

    without = template(
        "--set", "localData.sampleData=false", "--set", "localData.persistence.existingClaim=flowlogs"
    )
    assert not objects(without, "PersistentVolumeClaim")
    for name, spec in pod_specs(without):
        assert "initContainers" not in spec, name
        if not name.startswith("StatefulSet"):
            assert {"name": "data", "persistentVolumeClaim": {"claimName": "flowlogs"}} in spec["volumes"]


# --- security --------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_and_container_is_locked_down(variant: str) -> None:
    specs = list(pod_specs(rendered(variant)))
    assert specs
    for name, spec in specs:
        pod = spec["securityContext"]
        uid = 999 if name.startswith("StatefulSet") else 10001
        assert pod["runAsNonRoot"] is True, name
        assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (uid, uid, uid), name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, name  # no FLOWBOT_*_PORT=tcp://… from Services
        for each in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name} container {each['name']}"
            context = each["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["privileged"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            assert {"name": "tmp", "mountPath": TMP} in each["volumeMounts"], where
            if not name.startswith("StatefulSet"):
                assert env_of(each)["HOME"] == TMP, where
                assert {"name": "tmp", "emptyDir": {}} in spec["volumes"], where


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_pod_gets_only_the_slack_secrets_it_needs(variant: str) -> None:
    docs = rendered(variant)
    socket = variant == "socket"
    token = "FLOWBOT_SLACK_CLIENT_SECRET" if variant == "oauth" else "FLOWBOT_SLACK_BOT_TOKEN"
    needs = {
        "bot": {token, "FLOWBOT_SLACK_APP_TOKEN" if socket else "FLOWBOT_SLACK_SIGNING_SECRET"},
        "worker": {token},
    }
    secret = f"{RELEASE}-flowbot-slack" if variant == "ingress" else "flowbot-slack"
    for deployment, wanted in needs.items():
        env = env_of(container(docs, deployment))
        assert SLACK_KEYS & env.keys() == wanted, deployment
        for key in wanted:
            assert env[key]["secretKeyRef"]["name"] == secret, (deployment, key)
    assert not SLACK_KEYS & configmap(docs).keys()
    for name, spec in pod_specs(docs):
        if name.startswith("StatefulSet"):
            assert not [e for c in spec["containers"] for e in c.get("env", []) if e["name"] in SLACK_KEYS]


def test_a_secret_made_from_values_holds_exactly_the_tokens_given() -> None:
    docs = rendered("ingress")
    (secret,) = objects(docs, "Secret")
    assert secret["metadata"]["name"] == f"{RELEASE}-flowbot-slack"
    assert set(secret["data"]) == {"bot-token", "signing-secret"}
    assert not objects(rendered("default"), "Secret")  # by default the Secret is referenced, not made


def test_changing_the_settings_or_the_secret_rolls_the_pods() -> None:
    def checksums(docs: list[Doc] | tuple[Doc, ...]) -> dict[str, dict[str, str]]:
        return {
            name: {
                k: v
                for k, v in doc["spec"]["template"]["metadata"]["annotations"].items()
                if k.startswith("checksum/")
            }
            for doc in objects(docs, "Deployment")
            for name in [doc["metadata"]["name"]]
        }

    before = checksums(rendered("ingress"))
    config = checksums(template(*variant_args("ingress"), "--set-string", "config.FLOWBOT_LOG_LEVEL=DEBUG"))
    secret = checksums(template(*variant_args("ingress"), "--set", "slack.botToken=xoxb-another"))
    for name, sums in before.items():
        assert set(sums) == {"checksum/config", "checksum/secret"}, name
        assert config[name]["checksum/config"] != sums["checksum/config"], name
        assert secret[name]["checksum/secret"] != sums["checksum/secret"], name


@pytest.mark.parametrize("variant", ["default", "socket", "external-redis", "athena", "oauth"])
def test_network_policies_confine_every_pod(variant: str) -> None:
    docs = rendered(variant)
    policies = {p["metadata"]["name"]: p["spec"] for p in objects(docs, "NetworkPolicy")}
    for doc in docs:
        if doc["kind"] not in POD_KINDS:
            continue
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        labels = doc["spec"]["template"]["metadata"]["labels"]
        selecting = [
            p for p in policies.values() if p["podSelector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(selecting) == 1, f"{name} is selected by {len(selecting)} policies"
        assert set(selecting[0]["policyTypes"]) == {"Ingress", "Egress"}, name
    for component in ("bot", "worker"):
        egress = policies[f"{RELEASE}-flowbot-{component}"]["egress"]
        https = [r for r in egress if r.get("ports") == [{"port": 443, "protocol": "TCP"}]]
        assert https == [
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
                "ports": [{"port": 443, "protocol": "TCP"}],
            }
        ], component
        dns = [r for r in egress if {"port": 53, "protocol": "UDP"} in r.get("ports", [])]
        assert len(dns) == 1 and {"port": 53, "protocol": "TCP"} in dns[0]["ports"], component
        for rule in egress:  # nothing else leaves the pod on any port
            assert rule.get("ports"), f"{component} egress rule without ports: {rule}"
    assert policies[f"{RELEASE}-flowbot-worker"]["ingress"] == []


def test_the_redis_network_policy_admits_only_bot_and_worker_pods() -> None:
    docs = rendered("default")
    policy = one(docs, "NetworkPolicy", f"{RELEASE}-flowbot-redis")["spec"]
    (redis,) = objects(docs, "StatefulSet")
    assert (
        policy["podSelector"]["matchLabels"].items()
        <= redis["spec"]["template"]["metadata"]["labels"].items()
    )
    assert policy["egress"] == []
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    assert all(set(peer) == {"podSelector"} for peer in rule["from"]), "a peer reaches beyond the namespace"
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in POD_KINDS
    }
    admitted = {
        name
        for name, labels in pods.items()
        for peer in rule["from"]
        if peer["podSelector"]["matchLabels"].items() <= labels.items()
    }
    assert admitted == {f"{RELEASE}-flowbot-bot", f"{RELEASE}-flowbot-worker"}


# --- probes, grace and disruption ------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_flowbot_container_has_a_readiness_probe(variant: str) -> None:
    docs = rendered(variant)
    worker = container(docs, "worker")
    assert worker["readinessProbe"]["exec"]["command"] == ["flowbot", "worker", "--check"]
    assert worker["readinessProbe"]["periodSeconds"] == 30
    assert worker["readinessProbe"]["timeoutSeconds"] == 10
    assert "livenessProbe" not in worker  # a Redis outage must not restart workers mid-query
    bot = container(docs, "bot")
    if variant == "socket":
        assert bot["readinessProbe"]["exec"]["command"] == ["flowbot", "check"]
        assert not any("httpGet" in bot.get(p, {}) for p in ("livenessProbe", "readinessProbe"))
    else:
        assert bot["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert bot["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert "http" in {p["name"] for p in bot["ports"]}


@pytest.mark.parametrize(
    ("args", "timeout"),
    [
        ((), 600),
        (("--set-string", "config.FLOWBOT_QUERY_TIMEOUT_SECONDS=1800"), 1800),
        (
            (
                "--set-string",
                "config.FLOWBOT_QUERY_TIMEOUT_SECONDS=1800",
                "--set",
                "worker.terminationGracePeriodSeconds=1801",
            ),
            1800,
        ),
    ],
)
def test_workers_are_given_longer_than_the_longest_query_to_stop(args: tuple[str, ...], timeout: int) -> None:
    docs = template(*args)
    grace = one(docs, "Deployment", f"{RELEASE}-flowbot-worker")["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    assert grace > timeout
    assert int(configmap(docs).get("FLOWBOT_QUERY_TIMEOUT_SECONDS", "600")) == timeout


def test_disruption_budgets_keep_one_bot_and_let_one_worker_go_at_a_time() -> None:
    docs = rendered("default")
    budgets = {p["metadata"]["name"]: p["spec"] for p in objects(docs, "PodDisruptionBudget")}
    assert budgets[f"{RELEASE}-flowbot-bot"]["minAvailable"] == 1
    assert budgets[f"{RELEASE}-flowbot-worker"]["maxUnavailable"] == 1
    assert len(budgets) == 2
    single = template("--set", "bot.replicas=1")
    assert f"{RELEASE}-flowbot-bot" not in {
        p["metadata"]["name"] for p in objects(single, "PodDisruptionBudget")
    }


# --- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_flowbot_variable_is_a_flowbot_setting(variant: str) -> None:
    docs = rendered(variant)
    names = set(configmap(docs))
    for _, spec in pod_specs(docs):
        for each in spec.get("initContainers", []) + spec["containers"]:
            names |= {n for n in env_of(each) if n.startswith("FLOWBOT_")}
    unknown = {n for n in names if n.startswith("FLOWBOT_")} - SETTINGS
    assert not unknown, f"not fields of bot.settings.Settings: {sorted(unknown)}"
    assert all(n.startswith("FLOWBOT_") for n in configmap(docs))


def test_config_values_reach_the_config_map_and_override_the_chart() -> None:
    docs = template(
        "--set-string",
        "config.FLOWBOT_LOG_LEVEL=DEBUG",
        "--set-string",
        "config.FLOWBOT_LOCAL_DATA_DIR=/data/other",
    )
    settings = configmap(docs)
    assert settings["FLOWBOT_LOG_LEVEL"] == "DEBUG"
    assert settings["FLOWBOT_LOCAL_DATA_DIR"] == "/data/other"
    for deployment in ("bot", "worker"):
        assert container(docs, deployment)["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-flowbot"}}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--set", "bot.mode=socket", "--set", "ingress.enabled=true"), "bot.mode is socket"),
        (
            ("--set", "worker.terminationGracePeriodSeconds=600"),
            "worker.terminationGracePeriodSeconds (600) must be longer than "
            "FLOWBOT_QUERY_TIMEOUT_SECONDS (600)",
        ),
        (
            (
                "--set-string",
                "config.FLOWBOT_QUERY_TIMEOUT_SECONDS=1800",
                "--set",
                "worker.terminationGracePeriodSeconds=900",
            ),
            "must be longer than FLOWBOT_QUERY_TIMEOUT_SECONDS (1800)",
        ),
        (
            (
                "--set",
                "engine=athena",
                "--set-string",
                "config.FLOWBOT_FLOW_LOGS_BUCKET=logs",
                "--set-string",
                "config.FLOWBOT_IOC_STORE=/data/iocs",
            ),
            "FLOWBOT_IOC_STORE on S3",
        ),
        (
            ("--set", "engine=athena", "--set-string", "config.FLOWBOT_IOC_STORE=s3://iocs/x"),
            "needs config.FLOWBOT_FLOW_LOGS_BUCKET",
        ),
        (("--set", "redis.enabled=false"), "redis.external.url"),
        (
            ("--set", "redis.enabled=false", "--set", "redis.external.url=redis://:hunter2@cache:6379/0"),
            "/redis/external/url",
        ),
        (("--set", "slack.create=true", "--set", "slack.signingSecret=s"), "slack.botToken is empty"),
        (("--set", "slack.create=true", "--set", "slack.botToken=xoxb-1"), "slack.signingSecret is empty"),
        (
            ("--set", "bot.mode=socket", "--set", "slack.create=true", "--set", "slack.botToken=xoxb-1"),
            "slack.appToken is empty",
        ),
        (("--set", "slack.existingSecret="), "slack.existingSecret"),
        (("--set-string", "config.FLOWBOT_SLACK_BOT_TOKEN=xoxb-1"), "FLOWBOT_SLACK_BOT_TOKEN"),
        (("--set-string", "config.FLOWBOT_SLACK_SIGNING_SECRET=s"), "FLOWBOT_SLACK_SIGNING_SECRET"),
        (("--set-string", "config.LOG_LEVEL=DEBUG"), "LOG_LEVEL"),
        (("--set", "config.FLOWBOT_MAX_LIMIT=1000000"), "want string"),
        (("--set-string", "config.FLOWBOT_QUERY_TIMEOUT_SECONDS=ten"), "whole number of seconds"),
        (("--set", "engine=duckdb"), "/engine"),
        (("--set-string", "config.FLOWBOT_SLACK_CLIENT_SECRET=s"), "FLOWBOT_SLACK_CLIENT_SECRET"),
        (
            ("--set-string", f"config.FLOWBOT_SLACK_CLIENT_ID={CLIENT_ID}"),
            "config.FLOWBOT_SLACK_CLIENT_ID is set by the chart: use slack.oauth.clientId",
        ),
        (
            ("--set-string", "config.FLOWBOT_INSTALLATION_STORE=s3://slack/x"),
            "config.FLOWBOT_INSTALLATION_STORE is set by the chart",
        ),
        # OAuth mode
        (
            OAUTH,
            "slack.oauth.clientId is set (OAuth mode) but config.FLOWBOT_ALLOWED_TEAMS is empty",
        ),
        (
            (*OAUTH, "--set-string", r"config.FLOWBOT_ALLOWED_TEAMS=\, "),
            "config.FLOWBOT_ALLOWED_TEAMS is empty",
        ),
        (
            (*OAUTH, "--set-string", r"config.FLOWBOT_ALLOWED_TEAMS=T0123ABCD\,C0CHANNEL"),
            '"C0CHANNEL" is not a Slack workspace (T…) or Enterprise Grid org (E…) ID',
        ),
        (
            (*OAUTH, *ALLOWED, *variant_args("athena")),
            "engine athena in OAuth mode needs slack.oauth.installationStore on S3",
        ),
        (
            (*OAUTH, *ALLOWED, "--set", "slack.oauth.installationStore=/var/lib/slack"),
            "is a folder outside the data volume",
        ),
        (
            (*OAUTH, *ALLOWED, "--set", "slack.oauth.installationStore=slack"),
            "/slack/oauth/installationStore",
        ),
        (("--set-string", "slack.oauth.clientId=A0FLOWBOT"), "/slack/oauth/clientId"),
        (
            (*OAUTH, *ALLOWED, "--set", "slack.create=true", "--set", "slack.signingSecret=s"),
            "slack.create is true but slack.clientSecret is empty (OAuth mode needs it)",
        ),
    ],
)
def test_values_that_cannot_work_are_refused_with_the_reason(args: tuple[str, ...], message: str) -> None:
    assert message in failure(*args)


def test_slack_tokens_in_config_are_refused_even_without_the_schema() -> None:
    """The templates refuse them too, for `--skip-schema-validation`."""
    stderr = failure("--skip-schema-validation", "--set-string", "config.FLOWBOT_SLACK_APP_TOKEN=xapp-1")
    assert "config.FLOWBOT_SLACK_APP_TOKEN is a Slack secret" in stderr


# --- OAuth mode ----------------------------------------------------------------------------------------


def settings_of(
    docs: tuple[Doc, ...] | list[Doc], deployment: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The Settings a container reads: the ConfigMap, then its env (a Secret's key as a placeholder value)."""
    for name in [n for n in os.environ if n.startswith("FLOWBOT_")]:
        monkeypatch.delenv(name)  # only what the pod gets
    each = container(docs, deployment)
    assert each["envFrom"] == [{"configMapRef": {"name": f"{RELEASE}-flowbot"}}]
    env = dict(configmap(docs))
    for name, value in env_of(each).items():
        env[name] = f"from {value['secretKeyRef']['key']}" if isinstance(value, dict) else value
    return Settings(
        **{k.removeprefix("FLOWBOT_").lower(): v for k, v in env.items() if k.startswith("FLOWBOT_")}
    )


def test_oauth_mode_gives_the_app_and_the_workers_the_client_id_secret_and_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = rendered("oauth")
    settings = configmap(docs)
    assert settings["FLOWBOT_SLACK_CLIENT_ID"] == CLIENT_ID
    assert settings["FLOWBOT_INSTALLATION_STORE"] == "s3://example-flowbot-slack/flowbot"
    assert settings["FLOWBOT_ALLOWED_TEAMS"] == "T0123ABCD,E0123ABCD"
    for deployment in ("bot", "worker"):
        env = env_of(container(docs, deployment))
        assert env["FLOWBOT_SLACK_CLIENT_SECRET"] == {
            "secretKeyRef": {"name": "flowbot-slack", "key": "client-secret"}
        }, deployment
        assert "FLOWBOT_SLACK_BOT_TOKEN" not in env, deployment
        assert "FLOWBOT_SLACK_CLIENT_ID" not in env  # from the ConfigMap, like every setting
        read = settings_of(docs, deployment, monkeypatch)
        assert read.oauth_enabled and read.slack_bot_token is None
        check_oauth(read)  # what Flowbot checks before it opens the store: complete
    assert not {k for k in settings if "SECRET" in k or "TOKEN" in k}


def test_an_unquoted_client_id_is_refused(tmp_path: Path) -> None:
    """YAML reads `clientId: 1111111111.2222222222` as a number, which would reach Flowbot mangled."""
    values = tmp_path / "values.yaml"
    values.write_text(f"slack:\n  oauth:\n    clientId: {CLIENT_ID}\n")
    assert "at '/slack/oauth/clientId': got number, want string" in failure(*ALLOWED, "-f", str(values))


def test_oauth_mode_on_the_local_engine_keeps_installations_on_the_data_volume() -> None:
    docs = template(*OAUTH, *ALLOWED)
    assert configmap(docs)["FLOWBOT_INSTALLATION_STORE"] == "/data/slack"
    for deployment in ("bot", "worker"):  # both on the one data volume
        assert {"name": "data", "mountPath": "/data"} in container(docs, deployment)["volumeMounts"]
    elsewhere = template(*OAUTH, *ALLOWED, "--set", "slack.oauth.installationStore=/data/tenants/slack")
    assert configmap(elsewhere)["FLOWBOT_INSTALLATION_STORE"] == "/data/tenants/slack"
    socket = template(*OAUTH, *ALLOWED, "--set", "bot.mode=socket")
    bot = env_of(container(socket, "bot"))
    assert SLACK_KEYS & bot.keys() == {"FLOWBOT_SLACK_CLIENT_SECRET", "FLOWBOT_SLACK_APP_TOKEN"}


def test_one_token_mode_has_no_oauth_setting() -> None:
    for variant in ("default", "athena", "ingress"):
        docs = rendered(variant)
        assert not {"FLOWBOT_SLACK_CLIENT_ID", "FLOWBOT_INSTALLATION_STORE"} & configmap(docs).keys()
        for deployment in ("bot", "worker"):
            assert "FLOWBOT_SLACK_CLIENT_SECRET" not in env_of(container(docs, deployment))


def test_a_secret_made_from_values_in_oauth_mode_holds_the_client_secret_and_no_bot_token() -> None:
    docs = template(
        *OAUTH, *ALLOWED, "--set", "slack.create=true", "--set", "slack.clientSecret=not-a-real-secret",
        "--set", "slack.signingSecret=not-a-real-signing-secret",
    )  # fmt: skip
    (secret,) = objects(docs, "Secret")
    assert set(secret["data"]) == {"client-secret", "signing-secret"}
    for deployment in ("bot", "worker"):
        ref = env_of(container(docs, deployment))["FLOWBOT_SLACK_CLIENT_SECRET"]["secretKeyRef"]
        assert ref == {"name": f"{RELEASE}-flowbot-slack", "key": "client-secret"}


def test_in_oauth_mode_the_ingress_routes_the_install_page_and_the_redirect() -> None:
    def routes(docs: list[Doc] | tuple[Doc, ...]) -> list[tuple[str, str]]:
        (rule,) = one(docs, "Ingress", f"{RELEASE}-flowbot-bot")["spec"]["rules"]
        return [(p["path"], p["pathType"]) for p in rule["http"]["paths"]]

    assert routes(rendered("oauth")) == [
        ("/slack/events", "Prefix"),
        ("/slack/install", "Exact"),
        ("/slack/oauth_redirect", "Exact"),
    ]
    assert routes(rendered("ingress")) == [("/slack/events", "Prefix")]  # one-token mode: events only
    moved = template(
        *variant_args("oauth"), "--set-string", "config.FLOWBOT_SLACK_INSTALL_PATH=/install",
        "--set-string", "config.FLOWBOT_SLACK_REDIRECT_PATH=/slack/done",
    )  # fmt: skip
    assert routes(moved)[1:] == [("/install", "Exact"), ("/slack/done", "Exact")]
    covered = template(
        *variant_args("oauth"), "--set", "ingress.hosts[0].host=flowbot.example.org",
        "--set", "ingress.hosts[0].paths[0].path=/slack",
    )  # fmt: skip
    assert routes(covered) == [("/slack", "Prefix")]  # the Prefix path covers both
    for version in KUBE_VERSIONS:
        for doc in moved:
            kubernetes_validate.validate(doc, version, strict=True)


# --- documentation ---------------------------------------------------------------------------------


def leaf_paths(values: Any, prefix: str = "") -> Iterator[str]:
    """Every value a user may set, as a dotted path; lists and empty maps are leaves."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaf_paths(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


def test_the_chart_readme_documents_every_value() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    paths = set(leaf_paths(values))
    missing = sorted(paths - documented)
    assert not missing, f"values missing from helm/flowbot/README.md's table: {missing}"
    stale = sorted(p for p in documented - paths if not any(p.startswith(q + ".") for q in paths))
    assert not stale, f"README documents values that do not exist: {stale}"


def test_an_ingress_host_without_paths_routes_slack_events_only() -> None:
    """`--set ingress.hosts[0].host=…` replaces the default list: the path must not go with it."""
    docs = template("--set", "ingress.enabled=true", "--set", "ingress.hosts[0].host=flowbot.example.org")
    (rule,) = one(docs, "Ingress", f"{RELEASE}-flowbot-bot")["spec"]["rules"]
    assert rule["host"] == "flowbot.example.org"
    assert [(p["path"], p["pathType"]) for p in rule["http"]["paths"]] == [("/slack/events", "Prefix")]
    for version in KUBE_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)
