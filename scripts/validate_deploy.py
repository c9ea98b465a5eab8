#!/usr/bin/env python3
"""Checks the Kubernetes manifests in deploy/kubernetes/, offline; scripts/validate-deploy.sh
runs it in its virtualenv (kubernetes-validate, which bundles the Kubernetes JSON schemas).

    python scripts/validate_deploy.py            # check; exit 1 naming every failure
    python scripts/validate_deploy.py --update   # rewrite configmap.yaml and the checksum

What is checked:

- every file parses as YAML, and every document has apiVersion, kind and metadata.name;
- every built-in kind against the Kubernetes schemas of KUBERNETES_VERSIONS, strictly (an
  unknown field is an error); a kind with no bundled schema is an error, except the two
  handled below;
- the KServe InferenceService (no CRD schema is bundled): its required fields, and the
  Kubernetes types it embeds (the explainer's pod spec, the predictor's container fields)
  against the same schemas; the component fields KServe adds against a list of the known ones;
- kustomization.yaml: it lists every manifest but the examples and the adapter's rule, and
  only files that exist;
- the references between manifests: selectors and labels, port names, ConfigMap, PVC and
  Secret names and keys, the HPA's target and metric, the adapter rule's metric (and that
  Candor's source still registers it), CANDOR_* variables naming settings Candor reads (an
  unknown one is silently ignored by the server);
- configmap.yaml's candor.yaml is config/candor.yaml with server.host "0.0.0.0" (and the
  Deployment's checksum/candor.yaml annotation is its SHA-256);
- the Dockerfile's USER is the numeric UID:GID the pods run as.
"""

import argparse
import difflib
import hashlib
import json
import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from importlib import resources
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
CONFIG = ROOT / "config" / "candor.yaml"
DOCKERFILE = ROOT / "Dockerfile"
METRICS_SOURCE = ROOT / "Sources" / "CandorServer" / "Observability" / "ServiceMetrics.swift"
SETTINGS_SOURCE = ROOT / "Sources" / "CandorServer" / "Configuration" / "CandorConfiguration.swift"

# The oldest Kubernetes whose on-by-default fields cover what the manifests use
# (topologySpreadConstraints.matchLabelKeys and the PDB's unhealthyPodEvictionPolicy are
# beta, on by default, from 1.27), and the newest kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.27", "1.37")

# Files kustomization.yaml must not list: examples, and a resource of another component.
NOT_IN_KUSTOMIZATION = {
    "secrets.example.yaml": "example Secrets with placeholder values",
    "kserve-inferenceservice.yaml": "needs KServe's CRDs",
    "prometheus-adapter-rules.yaml": "prometheus-adapter's configuration, in its namespace",
}

CONFIGMAP_HEADER = """\
# Candor's configuration in the cluster: config/candor.yaml with one change, server.host
# "0.0.0.0" instead of "127.0.0.1", so that the Service and the kubelet's probes reach the
# pod. The Deployment's --host 0.0.0.0 says the same; the file says it too, so that what is
# mounted is what is in force. Environment variables in deployment.yaml override it
# (data.directory, workers.threads, audit.postgres_url, admin.token).
#
# GENERATED — do not edit by hand. Edit config/candor.yaml, then run
#   scripts/validate-deploy.sh --update
# which rewrites this file and the Deployment's checksum/candor.yaml annotation (a changed
# annotation is what makes `kubectl apply` restart the pods with the new file).
# scripts/validate-deploy.sh fails while they disagree.
"""

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


# ---------------------------------------------------------------------------- loading


def load_documents():
    """{file name: [documents]} for every .yaml file in deploy/kubernetes."""
    documents = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        try:
            documents[path.name] = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as error:
            fail(path.name, f"not valid YAML: {error}")
            continue
        for index, document in enumerate(documents[path.name]):
            where = f"{path.name} (document {index + 1})"
            if not isinstance(document, dict):
                fail(where, "not a mapping")
                continue
            for field in ("apiVersion", "kind"):
                if not isinstance(document.get(field), str):
                    fail(where, f"no {field}")
            if document.get("kind") != "Kustomization" and not (document.get("metadata") or {}).get("name"):
                fail(where, "no metadata.name")
    return documents


def resources_of(documents, kind):
    return [(name, d) for name, docs in documents.items() for d in docs if isinstance(d, dict) and d.get("kind") == kind]


def only(documents, kind):
    """The one resource of a kind (a failure, and None, when there is not exactly one)."""
    found = resources_of(documents, kind)
    if len(found) != 1:
        fail("deploy/kubernetes", f"expected one {kind}, found {len(found)}")
        return None
    return found[0][1]


# ---------------------------------------------------------------------------- schemas


def schema_directory(version):
    bundled = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    return bundled / f"v{version}.0-local-strict"


def core_type_validator(version, definition):
    """A validator for one type of the bundled definitions, e.g. io.k8s.api.core.v1.PodSpec."""
    definitions = json.loads((schema_directory(version) / "_definitions.json").read_text())
    registry = Resource.from_contents(definitions) @ Registry()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://kubernetes.io/api/candor-check.json",
        "$ref": f"/api/_definitions.json#/$defs/{definition}",
    }
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check_schemas(documents):
    for name, docs in documents.items():
        for document in docs:
            if not isinstance(document, dict) or document.get("kind") in ("Kustomization", "InferenceService"):
                continue
            what = f"{name}: {document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(document, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    path = ".".join(str(p) for p in error.path) or "(top)"
                    fail(what, f"Kubernetes {version}: {path}: {error.message}")
                except kubernetes_validate.SchemaNotFoundError as error:
                    fail(what, error.message)


# ---------------------------------------------------------------------------- KServe

# ComponentExtensionSpec's fields (serving.kserve.io/v1beta1), which KServe adds beside the
# inline PodSpec of a predictor or explainer.
COMPONENT_EXTENSION = {
    "minReplicas": int, "maxReplicas": int, "scaleTarget": int, "scaleMetric": str,
    "containerConcurrency": int, "timeout": int, "canaryTrafficPercent": int,
    "logger": dict, "batcher": dict, "labels": dict, "annotations": dict,
    "deploymentStrategy": dict, "autoScaling": dict,
}
SCALE_METRICS = {"cpu", "memory", "concurrency", "rps"}
# ModelSpec's own fields; the rest of `model` is an inline Container.
MODEL_SPEC = {"modelFormat", "runtime", "storageUri", "protocolVersion", "storage"}


def split_component(where, component):
    """(component extension fields, the inline pod spec) of a predictor or explainer."""
    extension, pod = {}, {}
    for key, value in component.items():
        (extension if key in COMPONENT_EXTENSION else pod)[key] = value
    for key, value in extension.items():
        if not isinstance(value, COMPONENT_EXTENSION[key]) or isinstance(value, bool):
            fail(where, f"{key} must be of type {COMPONENT_EXTENSION[key].__name__}")
    if "scaleMetric" in extension and extension["scaleMetric"] not in SCALE_METRICS:
        fail(where, f"scaleMetric must be one of {sorted(SCALE_METRICS)}")
    return extension, pod


def validate_core(where, value, definition):
    for version in KUBERNETES_VERSIONS:
        for error in core_type_validator(version, definition).iter_errors(value):
            path = ".".join(str(p) for p in error.path) or "(top)"
            fail(where, f"Kubernetes {version} {definition.rsplit('.', 1)[-1]}: {path}: {error.message}")


def secrets_of(documents):
    """{Secret name: its keys} from secrets.example.yaml."""
    return {
        (d.get("metadata") or {}).get("name"): set((d.get("stringData") or {}) | (d.get("data") or {}))
        for _, d in resources_of(documents, "Secret")
    }


def check_inference_service(name, isvc, secrets):
    where = f"{name}: InferenceService/{(isvc.get('metadata') or {}).get('name')}"
    if isvc.get("apiVersion") != "serving.kserve.io/v1beta1":
        fail(where, "apiVersion must be serving.kserve.io/v1beta1")
    unknown = set(isvc) - {"apiVersion", "kind", "metadata", "spec"}
    if unknown:
        fail(where, f"unknown top-level fields {sorted(unknown)}")
    validate_core(where + " metadata", isvc.get("metadata") or {}, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    spec = isvc.get("spec") or {}
    unknown = set(spec) - {"predictor", "explainer", "transformer"}
    if unknown:
        fail(where, f"unknown spec fields {sorted(unknown)}")

    predictor = spec.get("predictor")
    if not isinstance(predictor, dict):
        fail(where, "spec.predictor is required")
        predictor = {}
    _, pod = split_component(where + " spec.predictor", predictor)
    model = pod.pop("model", None)
    if model is None and not pod.get("containers"):
        fail(where, "spec.predictor needs a model or containers")
    storage_uri = None
    if model is not None:
        if not isinstance(model, dict) or not isinstance((model.get("modelFormat") or {}).get("name"), str):
            fail(where, "spec.predictor.model.modelFormat.name is required")
            model = model if isinstance(model, dict) else {}
        storage_uri = model.get("storageUri")
        if not isinstance(storage_uri, str) or not re.match(r"^[a-z0-9]+://", storage_uri):
            fail(where, "spec.predictor.model.storageUri must be a URI (pvc://, s3://, gs://, …)")
        container = {k: v for k, v in model.items() if k not in MODEL_SPEC}
        validate_core(where + " spec.predictor.model", {"name": "kserve-container", **container}, "io.k8s.api.core.v1.Container")
    validate_core(where + " spec.predictor", {"containers": [], **pod}, "io.k8s.api.core.v1.PodSpec")

    explainer = spec.get("explainer")
    if not isinstance(explainer, dict):
        fail(where, "spec.explainer is required (Candor is the explainer)")
        return
    extension, pod = split_component(where + " spec.explainer", explainer)
    if "minReplicas" in extension and "maxReplicas" in extension and extension["minReplicas"] > extension["maxReplicas"]:
        fail(where, "spec.explainer: minReplicas exceeds maxReplicas")
    containers = pod.get("containers") or []
    if len(containers) != 1:
        fail(where, "spec.explainer.containers must hold exactly the Candor container")
    validate_core(where + " spec.explainer", pod, "io.k8s.api.core.v1.PodSpec")
    for container in containers:
        command = " ".join(container.get("command") or []) + " " + " ".join(container.get("args") or [])
        # Without a command, the image's ENTRYPOINT ["candor"] takes the args.
        runs_entrypoint = not container.get("command") and (container.get("args") or [None])[0] == "serve"
        if "candor serve" not in command and not runs_entrypoint:
            fail(where, "the explainer container must run `candor serve`")
        check_container_references(where + " explainer", container, pod.get("volumes") or [], secrets)
    # Candor loads its own copy of the model: from the storage the predictor reads.
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod.get("volumes") or [] if "persistentVolumeClaim" in v}
    if storage_uri and storage_uri.startswith("pvc://"):
        claim = storage_uri[len("pvc://"):].split("/")[0]
        if claim not in claims:
            fail(where, f"the explainer does not mount the predictor's claim {claim!r} (it mounts {sorted(claims)})")
    # KServe puts the InferenceService's name in the URL; Candor serves the model of that name.
    model_name = (isvc.get("metadata") or {}).get("name") or ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", model_name):
        fail(where, f"{model_name!r} is not a Candor model name")


# ---------------------------------------------------------------------------- kustomization


def check_kustomization(documents):
    kustomizations = resources_of(documents, "Kustomization")
    if len(kustomizations) != 1 or kustomizations[0][0] != "kustomization.yaml":
        fail("kustomization.yaml", "expected one Kustomization, in kustomization.yaml")
        return
    kustomization = kustomizations[0][1]
    if kustomization.get("apiVersion") != "kustomize.config.k8s.io/v1beta1":
        fail("kustomization.yaml", "apiVersion must be kustomize.config.k8s.io/v1beta1")
    listed = kustomization.get("resources") or []
    for entry in listed:
        if not (DEPLOY / entry).is_file():
            fail("kustomization.yaml", f"lists {entry}, which does not exist")
        if entry in NOT_IN_KUSTOMIZATION:
            fail("kustomization.yaml", f"lists {entry}: {NOT_IN_KUSTOMIZATION[entry]}")
    for name in documents:
        if name != "kustomization.yaml" and name not in NOT_IN_KUSTOMIZATION and name not in listed:
            fail("kustomization.yaml", f"does not list {name}")


# ---------------------------------------------------------------------------- references


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def candor_settings():
    """Every CANDOR_SECTION_KEY variable Candor reads: its settingNames list, where
    CandorConfiguration.applyEnvironment looks a variable up (and skips it when absent)."""
    source = SETTINGS_SOURCE.read_text() if SETTINGS_SOURCE.is_file() else ""
    block = re.search(r"static let settingNames[^=]*=\s*\[(.*?)\]", source, flags=re.DOTALL)
    pairs = re.findall(r'\("(\w+)",\s*"(\w+)"\)', block.group(1)) if block else []
    if not pairs:
        fail(str(SETTINGS_SOURCE.relative_to(ROOT)), "no settingNames list found to check CANDOR_ variables against")
    return {f"CANDOR_{section}_{key}".upper() for section, key in pairs}


def check_container_references(where, container, volumes, secrets=None):
    """Port names, mounts and CANDOR_* variables of one container."""
    ports = {p.get("name") for p in container.get("ports") or []}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        port = ((container.get(probe) or {}).get("httpGet") or {}).get("port")
        if isinstance(port, str) and port not in ports:
            fail(where, f"{probe} uses port {port!r}, which the container does not name")
    volume_names = {v.get("name") for v in volumes}
    mounts = {m.get("mountPath"): m for m in container.get("volumeMounts") or []}
    for mount in mounts.values():
        if mount.get("name") not in volume_names:
            fail(where, f"mounts volume {mount.get('name')!r}, which the pod does not define")
    security = container.get("securityContext") or {}
    if security.get("readOnlyRootFilesystem") is not True:
        fail(where, "readOnlyRootFilesystem must be true")
    env = {e.get("name"): e for e in container.get("env") or []}
    data = (env.get("CANDOR_DATA_DIRECTORY") or {}).get("value")
    if data is None or data not in mounts:
        fail(where, "CANDOR_DATA_DIRECTORY must name a mounted (writable) volume")
    if "/tmp" not in mounts:
        fail(where, "/tmp must be a mounted volume (the root filesystem is read-only)")
    settings = candor_settings()
    for name, variable in env.items():
        if name.startswith("CANDOR_") and name not in settings:
            fail(where, f"{name} is not a setting Candor reads (CandorConfiguration.settingNames); it would be ignored")
        reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
        if reference and secrets is not None:
            keys = secrets.get(reference.get("name"))
            if keys is None:
                fail(where, f"{name}: Secret {reference.get('name')!r} is not in secrets.example.yaml")
            elif reference.get("key") not in keys:
                fail(where, f"{name}: Secret {reference.get('name')!r} has no key {reference.get('key')!r} in secrets.example.yaml")


def check_references(documents, configmap_name):
    deployment = only(documents, "Deployment")
    service = only(documents, "Service")
    hpa = only(documents, "HorizontalPodAutoscaler")
    pdb = only(documents, "PodDisruptionBudget")
    pvc = only(documents, "PersistentVolumeClaim")
    if None in (deployment, service, hpa, pdb, pvc):
        return
    secrets = secrets_of(documents)
    spec = deployment.get("spec") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    pod = template.get("spec") or {}
    name = (deployment.get("metadata") or {}).get("name")

    if not labels_match((spec.get("selector") or {}).get("matchLabels"), labels):
        fail("deployment.yaml", "selector does not match the pod's labels")
    if not labels_match((service.get("spec") or {}).get("selector"), labels):
        fail("service.yaml", "selector does not match the Deployment's pod labels")
    if not labels_match(((pdb.get("spec") or {}).get("selector") or {}).get("matchLabels"), labels):
        fail("pdb.yaml", "selector does not match the Deployment's pod labels")
    for constraint in pod.get("topologySpreadConstraints") or []:
        if not labels_match((constraint.get("labelSelector") or {}).get("matchLabels"), labels):
            fail("deployment.yaml", f"topology spread over {constraint.get('topologyKey')} does not select the pods")
    if "replicas" in spec:
        fail("deployment.yaml", "sets replicas, which the HPA owns (every apply would reset it)")

    containers = pod.get("containers") or []
    if len(containers) != 1:
        fail("deployment.yaml", "expected one container")
        return
    container = containers[0]
    volumes = pod.get("volumes") or []
    check_container_references("deployment.yaml", container, volumes, secrets)
    ports = {p.get("name") for p in container.get("ports") or []}
    for port in (service.get("spec") or {}).get("ports") or []:
        if isinstance(port.get("targetPort"), str) and port["targetPort"] not in ports:
            fail("service.yaml", f"targetPort {port['targetPort']!r} is not a port the container names")

    by_name = {v.get("name"): v for v in volumes}
    mounts = {m.get("name"): m.get("mountPath") for m in container.get("volumeMounts") or []}
    config_volumes = [v for v in volumes if "configMap" in v]
    if [v["configMap"].get("name") for v in config_volumes] != [configmap_name]:
        fail("deployment.yaml", f"must mount the ConfigMap {configmap_name!r} (configmap.yaml)")
    else:
        args = container.get("args") or []
        config_path = args[args.index("--config") + 1] if "--config" in args[:-1] else None
        if config_path != f"{mounts.get(config_volumes[0]['name'])}/candor.yaml":
            fail("deployment.yaml", f"--config {config_path} is not candor.yaml in the ConfigMap's mount")
    claim = ((by_name.get("models") or {}).get("persistentVolumeClaim") or {}).get("claimName")
    if claim != (pvc.get("metadata") or {}).get("name"):
        fail("deployment.yaml", f"the models volume claims {claim!r}, not the PVC of pvc.yaml")
    if mounts.get("models") != "/app/models":
        fail("deployment.yaml", "the models volume must be mounted at /app/models (models.directory, relative to /app)")

    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if (target.get("kind"), target.get("name")) != ("Deployment", name):
        fail("hpa.yaml", f"scaleTargetRef is not Deployment/{name}")
    check_queue_metric(documents, hpa)


def check_queue_metric(documents, hpa):
    """The HPA's Pods metric is the one the adapter rule serves, from the series Candor exports."""
    wanted = [m["pods"]["metric"]["name"] for m in (hpa.get("spec") or {}).get("metrics") or [] if m.get("type") == "Pods"]
    adapters = resources_of(documents, "ConfigMap")
    rules = []
    for name, configmap in adapters:
        if name == "prometheus-adapter-rules.yaml":
            try:
                rules = (yaml.safe_load((configmap.get("data") or {}).get("config.yaml", "")) or {}).get("rules") or []
            except yaml.YAMLError as error:
                fail(name, f"config.yaml is not valid YAML: {error}")
    served = {}
    for rule in rules:
        for field in ("seriesQuery", "resources", "name", "metricsQuery"):
            if field not in rule:
                fail("prometheus-adapter-rules.yaml", f"a rule has no {field}")
        overrides = (rule.get("resources") or {}).get("overrides") or {}
        if {"namespace", "pod"} - set(overrides):
            fail("prometheus-adapter-rules.yaml", "a rule must map the namespace and pod labels to resources")
        series = re.match(r"^'?([a-zA-Z_:][a-zA-Z0-9_:]*)", rule.get("seriesQuery", ""))
        served[(rule.get("name") or {}).get("as")] = series.group(1) if series else None
    source = METRICS_SOURCE.read_text() if METRICS_SOURCE.is_file() else ""
    for metric in wanted:
        if metric not in served:
            fail("hpa.yaml", f"the Pods metric {metric!r} is not served by prometheus-adapter-rules.yaml")
        elif f'label: "{served[metric]}"' not in source:
            fail("prometheus-adapter-rules.yaml", f"{served[metric]!r} is not a metric of {METRICS_SOURCE.relative_to(ROOT)}")


# ---------------------------------------------------------------------------- ConfigMap


def in_cluster_config():
    """config/candor.yaml with server.host "0.0.0.0"."""
    lines = CONFIG.read_text().splitlines(keepends=True)
    section, replaced = None, False
    for index, line in enumerate(lines):
        header = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):\s*(#.*)?$", line)
        if header:
            section = header.group(1)
        host = re.match(r'^(\s+host:\s*)("[^"]*"|\S+)(\s*#.*)?$', line.rstrip("\n"))
        if section == "server" and host and not replaced:
            lines[index] = f'{host.group(1)}"0.0.0.0"{host.group(3) or ""}\n'
            replaced = True
    text = "".join(lines)
    if not replaced or (yaml.safe_load(text).get("server") or {}).get("host") != "0.0.0.0":
        raise SystemExit("validate-deploy: config/candor.yaml has no server.host line to set to 0.0.0.0")
    return text


def configmap_text(config):
    body = "".join(f"    {line}" if line.strip() else "\n" for line in config.splitlines(keepends=True))
    return (
        CONFIGMAP_HEADER
        + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: candor-config\n  labels:\n"
        + "    app.kubernetes.io/name: candor\ndata:\n  candor.yaml: |\n"
        + body
    )


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


ANNOTATION = re.compile(r"(checksum/candor\.yaml:\s*)(\S+)")


def update():
    config = in_cluster_config()
    text = configmap_text(config)
    if (yaml.safe_load(text).get("data") or {}).get("candor.yaml") != config:
        raise SystemExit("validate-deploy: config/candor.yaml does not survive a YAML block scalar (trailing blank lines?)")
    (DEPLOY / "configmap.yaml").write_text(text)
    deployment = (DEPLOY / "deployment.yaml").read_text()
    if not ANNOTATION.search(deployment):
        raise SystemExit("validate-deploy: deployment.yaml has no checksum/candor.yaml annotation to update")
    (DEPLOY / "deployment.yaml").write_text(ANNOTATION.sub(lambda m: m.group(1) + sha256(config), deployment, count=1))
    print(f"validate-deploy: wrote configmap.yaml and the checksum {sha256(config)[:12]}… from config/candor.yaml")


def check_configmap(documents):
    """The ConfigMap's name, after checking it holds config/candor.yaml (host 0.0.0.0)."""
    configmaps = [d for _, d in resources_of(documents, "ConfigMap") if d in documents.get("configmap.yaml", [])]
    if len(configmaps) != 1:
        fail("configmap.yaml", "expected one ConfigMap")
        return None
    embedded = (configmaps[0].get("data") or {}).get("candor.yaml")
    expected = in_cluster_config()
    fix = "run scripts/validate-deploy.sh --update"
    if embedded != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), (embedded or "").splitlines(keepends=True),
                "config/candor.yaml (host 0.0.0.0)", "configmap.yaml candor.yaml", n=1))
        fail("configmap.yaml", f"candor.yaml is not config/candor.yaml with host 0.0.0.0 ({fix}):\n{diff}")
    deployment = only(documents, "Deployment") or {}
    annotations = ((deployment.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {}
    if annotations.get("checksum/candor.yaml") != sha256(embedded or ""):
        fail("deployment.yaml", f"checksum/candor.yaml is not the SHA-256 of the ConfigMap's candor.yaml ({fix})")
    return (configmaps[0].get("metadata") or {}).get("name")


# ---------------------------------------------------------------------------- Dockerfile


def check_dockerfile_user(documents):
    deployment = only(documents, "Deployment") or {}
    context = (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("securityContext") or {}
    users = re.findall(r"^\s*USER\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    expected = f"{context.get('runAsUser')}:{context.get('runAsGroup')}"
    if not users:
        fail("Dockerfile", f"no USER; the image must run as {expected}")
    elif users[-1] not in (expected, str(context.get("runAsUser"))):
        fail("Dockerfile", f"USER {users[-1]}: must be {expected}, the numeric UID:GID deployment.yaml runs as "
             "(runAsNonRoot can only verify a numeric USER)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite configmap.yaml and the checksum from config/candor.yaml")
    if parser.parse_args().update:
        update()
        return 0
    documents = load_documents()
    check_schemas(documents)
    for name, isvc in resources_of(documents, "InferenceService"):
        check_inference_service(name, isvc, secrets_of(documents))
    check_kustomization(documents)
    configmap_name = check_configmap(documents)
    check_references(documents, configmap_name)
    check_dockerfile_user(documents)
    count = sum(len(docs) for docs in documents.values())
    if failures:
        for failure in dict.fromkeys(failures):  # once each, in order
            print(f"validate-deploy: FAILED {failure}", file=sys.stderr)
        return 1
    print(f"validate-deploy: {count} resources in {len(documents)} files valid against Kubernetes "
          f"{' and '.join(KUBERNETES_VERSIONS)} (strict), references and config/candor.yaml consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
