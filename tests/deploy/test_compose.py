"""deploy/compose.yaml, checked as far as a machine without a Docker engine allows.

The file parses and interpolates with the values of env.example; every file and folder it mounts or builds
from is in the repository; the command and environment it gives the ingest are what `posture ingest` (its
click parameters, `posture.settings`) accepts, and point at the broker and InfluxDB it defines; Grafana gets
every environment variable the provisioning files in dashboards/provisioning/ use; InfluxDB's init script
only uses variables it is given. The broker's config and ACLs run in a real Mosquitto: test_broker.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import typer
import yaml

from dashboards.ingest import BrokerAddress, IngestOptions
from posture.commands import ingest as ingest_command
from posture.settings import ENV_PREFIX, Settings, load_settings, secrets_from_env
from tests.deploy.deployment import (
    DEPLOY,
    ENV_EXAMPLE,
    HEALTHCHECK,
    MOSQUITTO_CONF,
    REPO,
    InterpolationError,
    bind_mounts,
    compose_variable_uses,
    environment,
    ingest_services,
    interpolate,
    load_compose,
    load_healthcheck,
    read_env_file,
    repo_path,
    variable_uses,
)

SERVICES = {"mosquitto", "influxdb", "grafana", "ingest"}
PROVISIONING = REPO / "dashboards" / "provisioning"
#: Set by the influxdb:2 image for its init scripts (besides the DOCKER_INFLUXDB_INIT_* it is given).
INFLUX_INIT_PROVIDED = {
    "DOCKER_INFLUXDB_INIT_ORG_ID",
    "DOCKER_INFLUXDB_INIT_BUCKET_ID",
    "DOCKER_INFLUXDB_INIT_USER_ID",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def ingest_cli() -> Any:
    """`posture ingest` as click sees it (the options the compose command must use)."""
    app = typer.Typer(add_completion=False)
    ingest_command.register(app)
    return typer.main.get_command(app)


def parsed_ingest_command(service: dict[str, Any]) -> dict[str, Any]:
    """The ingest service's command, parsed by the real command's parser (nothing runs)."""
    command = service["command"]
    assert command[:3] == ["python", "-m", "posture.commands.ingest"], command
    cli = ingest_cli()
    with cli.make_context("ingest", list(command[3:])) as ctx:
        return dict(ctx.params)


# --- the file ----------------------------------------------------------------------------------------------


def test_compose_parses_and_runs_the_four_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= SERVICES
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        if name in {"mosquitto", "influxdb", "grafana"}:
            check = service["healthcheck"]
            assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
    for name, service in ingest_services(compose).items():
        assert service["depends_on"] == {
            "mosquitto": {"condition": "service_healthy"},
            "influxdb": {"condition": "service_healthy"},
        }, name
        assert service["stop_signal"] == "SIGTERM"  # the ingest flushes and exits 0 on SIGTERM
    assert services["grafana"]["depends_on"] == {"influxdb": {"condition": "service_healthy"}}
    # A single runner starts one ingest; the club profile adds more.
    assert "profiles" not in services["ingest"]
    assert all(s.get("profiles") == ["club"] for n, s in ingest_services(compose).items() if n != "ingest")


def test_every_variable_comes_from_env_example_or_has_a_default() -> None:
    example = read_env_file(ENV_EXAMPLE)
    uses = compose_variable_uses()
    missing = {use.name for use in uses if not use.has_default and use.name not in example}
    assert not missing, f"compose.yaml uses {sorted(missing)}: add them to env.example"
    unused = set(example) - {use.name for use in uses}
    assert not unused, f"env.example sets {sorted(unused)}, which compose.yaml never uses"
    # Secrets have no default: compose refuses to start without them instead of using a known value.
    required = {use.name for use in uses if use.required}
    assert {"INFLUXDB_ADMIN_TOKEN", "INGEST_MQTT_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} <= required
    with pytest.raises(InterpolationError, match="INGEST_MQTT_PASSWORD"):
        load_compose({**example, "INGEST_MQTT_PASSWORD": ""})


def test_env_example_secrets_are_placeholders_and_git_ignores_the_real_ones() -> None:
    example = read_env_file(ENV_EXAMPLE)
    for key, value in example.items():
        if key.endswith(("PASSWORD", "TOKEN")):
            assert value.startswith("change-me") or value == "", key
    ignored = subprocess.run(
        [
            "git",
            "check-ignore",
            "deploy/.env",
            "deploy/mosquitto/users/passwd",
            "deploy/mosquitto/certs/server.key",
            "deploy/mosquitto/config/conf.d/tls.conf",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert len(ignored.stdout.split()) == 4, ignored.stdout + ignored.stderr


def test_interpolation_follows_compose() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $SET $$SET", env) == "x d  d x $SET"
    with pytest.raises(InterpolationError):
        interpolate("${EMPTY:?needed}", env)
    assert interpolate("${EMPTY?needed}", env) == ""
    # nested: the default is itself interpolated, and only when it is used
    assert interpolate("${UNSET:-${SET}} ${SET:-${UNSET:?unused}}", env) == "x x"
    with pytest.raises(InterpolationError, match="needed"):
        interpolate("${UNSET:-${EMPTY:?needed}}", env)


# --- what it mounts and builds from ------------------------------------------------------------------------


def test_every_mounted_file_or_folder_is_in_the_repository(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for mount in bind_mounts(service):
            if mount.source == PROVISIONING and not PROVISIONING.exists():
                continue  # checked (or reported as not yet there) by the Grafana tests below
            assert mount.source.exists(), f"{name} mounts {mount.source}, which is not in the repository"
            assert REPO in mount.source.parents, f"{name} mounts {mount.source} from outside the repository"
    # Config, scripts and provisioning are read-only in the containers; only the password file's folder is
    # written (mosquitto_passwd runs in the container, docs/deployment.md).
    writable = {
        (name, str(m.target))
        for name, s in compose["services"].items()
        for m in bind_mounts(s)
        if not m.read_only
    }
    assert writable == {("mosquitto", "/mosquitto/users")}


def test_the_ingest_image_builds_from_files_in_the_repository(compose: dict[str, Any]) -> None:
    for service in ingest_services(compose).values():
        context = (DEPLOY / service["build"]["context"]).resolve()
        assert context == REPO
        dockerfile = context / service["build"]["dockerfile"]
        assert dockerfile == DEPLOY / "Dockerfile"
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    sources = [
        source
        for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
        for source in line.split()[:-1]
    ]
    for source in sources:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which is not in the repository"
    # Everything `pip install .` needs: the packages pyproject.toml finds, its readme and license files.
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {source.rstrip("/") for source in sources}
    found = project["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {pattern.rstrip("*") for pattern in found}
    needed |= {"pyproject.toml", project["project"]["readme"], *project["project"]["license-files"]}
    assert needed <= copied
    # The build context's ignore file lets in exactly what is copied, so deploy/.env never reaches a build.
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert next(line for line in ignore if not line.startswith("#")) == "**"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert allowed == copied


# --- the ingest: flags and environment ---------------------------------------------------------------------


def test_the_ingest_command_uses_only_flags_posture_ingest_has(compose: dict[str, Any]) -> None:
    services = compose["services"]
    influx_env = environment(services["influxdb"])
    client_ids = []
    for name, service in ingest_services(compose).items():
        params = parsed_ingest_command(service)
        broker = BrokerAddress.from_url(params["mqtt"])
        assert broker.host == "mosquitto", name
        assert f"listener {broker.port}\n" in MOSQUITTO_CONF.read_text(encoding="utf-8")
        assert not broker.tls  # inside compose's network; runners use TLS from outside (docs/deployment.md)
        assert params["influx_url"] == "http://influxdb:8086", name
        assert params["org"] == influx_env["DOCKER_INFLUXDB_INIT_ORG"]
        assert params["bucket"] == influx_env["DOCKER_INFLUXDB_INIT_BUCKET"]
        assert params["share_group"] == "ingest"  # all ingests share one subscription
        client_ids.append(params["client_id"])
    assert len(set(client_ids)) == len(client_ids), "every ingest needs its own client id (its session)"
    # `python -m posture.commands.ingest`: the command's own entry point, which logs at INFO
    assert callable(ingest_command.main)


def test_the_ingest_healthcheck_asks_about_this_ingest(compose: dict[str, Any]) -> None:
    """Each ingest's healthcheck runs the mounted script about its own client id, on its broker."""
    parser = load_healthcheck().argument_parser()
    for name, service in ingest_services(compose).items():
        params = parsed_ingest_command(service)
        command = service["healthcheck"]["test"]
        assert command[:3] == ["CMD", "python", "/opt/posture/healthcheck.py"], name
        assert repo_path(bind_mounts(service), command[2]) == HEALTHCHECK
        args = parser.parse_args(command[3:])
        assert args.client_id == params["client_id"], name
        assert args.mqtt == params["mqtt"], name
        # a healthy ingest republishes its status periodically; the check allows a few missed ones
        assert args.max_age >= 3 * IngestOptions().status_interval_s


def known_environment_variables() -> set[str]:
    """Every POSTURE_* variable `posture.settings` reads: settings, the two folders, the secrets."""
    names = {ENV_PREFIX + f.name.upper() for f in fields(Settings)} - {f"{ENV_PREFIX}THRESHOLDS"}
    names |= {f"{ENV_PREFIX}CONFIG_DIR", f"{ENV_PREFIX}DATA_DIR"}
    secrets = {"MQTT_USERNAME", "MQTT_PASSWORD", "INFLUX_TOKEN"}
    for name in secrets:  # the secrets' names are checked against secrets_from_env, not trusted
        assert any(value == "probe" for value in _secret_values({ENV_PREFIX + name: "probe"}))
    return names | {ENV_PREFIX + name for name in secrets}


def _secret_values(env: dict[str, str]) -> list[object]:
    found = secrets_from_env(env)
    return [getattr(found, f.name) for f in fields(found)]


def test_the_ingest_environment_is_what_posture_reads(compose: dict[str, Any]) -> None:
    influx_env = environment(compose["services"]["influxdb"])
    for name, service in ingest_services(compose).items():
        env = environment(service)
        unknown = {key for key in env if key.startswith(ENV_PREFIX)} - known_environment_variables()
        assert not unknown, f"{name} sets {sorted(unknown)}, which posture does not read"
        secrets = secrets_from_env(env)
        assert secrets.mqtt_username == "ingest"  # the ACL file's `user ingest`
        assert secrets.mqtt_password == read_env_file(ENV_EXAMPLE)["INGEST_MQTT_PASSWORD"]
        assert secrets.influx_token == influx_env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"]
        tightened = load_compose({**read_env_file(ENV_EXAMPLE), "INGEST_INFLUX_TOKEN": "write-only"})
        assert secrets_from_env(environment(tightened["services"][name])).influx_token == "write-only"
        load_settings({**env, "POSTURE_CONFIG_DIR": "/nonexistent"})  # every value parses


def test_the_ingest_has_no_flag_the_compose_command_must_set_but_does_not(compose: dict[str, Any]) -> None:
    """Flags the ingest cannot run without (docs/design.md's live-run contract) are all given."""
    given = {token for token in compose["services"]["ingest"]["command"] if token.startswith("--")}
    options = {opt for param in ingest_cli().params for opt in param.opts}
    assert {"--mqtt", "--influx-url", "--org", "--bucket", "--client-id", "--share-group"} <= given <= options


# --- InfluxDB's init script --------------------------------------------------------------------------------


def init_scripts(compose: dict[str, Any]) -> list[Path]:
    folder = repo_path(bind_mounts(compose["services"]["influxdb"]), "/docker-entrypoint-initdb.d")
    assert folder is not None
    assert folder.is_dir()
    return sorted(folder.glob("*.sh"))


def test_influxdb_init_scripts_run_and_use_only_what_they_are_given(compose: dict[str, Any]) -> None:
    scripts = init_scripts(compose)
    assert scripts
    given = set(environment(compose["services"]["influxdb"])) | INFLUX_INIT_PROVIDED
    for script in scripts:
        # The image runs only executable scripts; git keeps the mode.
        assert os.access(script, os.X_OK), f"{script} is not executable"
        mode = subprocess.run(
            ["git", "ls-files", "-s", str(script.relative_to(REPO))], cwd=REPO, capture_output=True, text=True
        ).stdout
        assert not mode or mode.startswith("100755"), mode
        subprocess.run(["bash", "-n", str(script)], check=True)
        used = {use.name for use in variable_uses(script.read_text(encoding="utf-8"))}
        assert used <= given, f"{script.name} uses {sorted(used - given)}, which the container does not set"


def test_grafana_reads_the_database_the_init_script_maps(compose: dict[str, Any]) -> None:
    influx_env = environment(compose["services"]["influxdb"])
    grafana_env = environment(compose["services"]["grafana"])
    script = "\n".join(path.read_text(encoding="utf-8") for path in init_scripts(compose))
    assert '--db "${DOCKER_INFLUXDB_INIT_BUCKET}"' in script
    assert grafana_env["POSTURE_INFLUX_BUCKET"] == influx_env["DOCKER_INFLUXDB_INIT_BUCKET"]
    assert grafana_env["POSTURE_INFLUX_URL"] == "http://influxdb:8086"
    # the admin token until the user makes a read-only one and sets GRAFANA_INFLUX_TOKEN
    assert grafana_env["POSTURE_INFLUX_TOKEN"] == influx_env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"]
    tightened = load_compose({**read_env_file(ENV_EXAMPLE), "GRAFANA_INFLUX_TOKEN": "read-only"})
    assert environment(tightened["services"]["grafana"])["POSTURE_INFLUX_TOKEN"] == "read-only"


# --- Grafana's provisioning ---------------------------------------------------------------------------------

#: Grafana expands $VAR, ${VAR} and $__env{VAR} in provisioning files, keeps $$ as a literal dollar, and has
#: macros of its own ($__file{...}, $__vault{...}); its "Provisioning" documentation.
_GRAFANA_VARIABLE = re.compile(r"\$(?:(\$)|__env\{(\w+)\}|__\w+\{[^}]*\}|\{(\w+)\}|([A-Za-z_]\w*))")


def interpolated_strings(path: Path) -> list[str]:
    """The strings of a provisioning file that Grafana interpolates.

    In alert rules, Grafana interpolates neither the queries (`data`: their $timeFilter and math expressions
    stay) nor the annotations (Grafana's "File provisioning" documentation, "Template variable interpolation";
    grafana/grafana#54975, #82774); everything else, labels included, is interpolated.
    """
    tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in tree.get("groups", []) if isinstance(tree, dict) else []:
        group["rules"] = [
            {key: value for key, value in rule.items() if key not in {"data", "annotations"}}
            for rule in group.get("rules", [])
        ]
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(tree)
    return found


def provisioning_files() -> list[Path]:
    assert PROVISIONING.is_dir(), "the Grafana provisioning is generated into dashboards/provisioning/"
    return sorted(p for p in PROVISIONING.rglob("*") if p.suffix in {".yaml", ".yml"})


def grafana_mount(compose: dict[str, Any]) -> PurePosixPath:
    mounts = [m for m in bind_mounts(compose["services"]["grafana"]) if m.source == PROVISIONING]
    assert len(mounts) == 1
    assert mounts[0].read_only
    assert mounts[0].target == PurePosixPath("/etc/grafana/provisioning")  # where Grafana looks by default
    return mounts[0].target


def test_grafana_is_given_every_variable_its_provisioning_uses(compose: dict[str, Any]) -> None:
    grafana_mount(compose)
    files = provisioning_files()
    assert {p.parent.name for p in files} >= {"datasources", "dashboards"}
    env = environment(compose["services"]["grafana"])
    used: dict[str, list[str]] = {}
    for path in files:
        for text in interpolated_strings(path):
            for match in _GRAFANA_VARIABLE.finditer(text):
                _, env_macro, braced, plain = match.groups()
                name = env_macro or braced or plain
                if name:
                    used.setdefault(name, []).append(str(path.relative_to(REPO)))
    missing = {name: where for name, where in used.items() if name not in env}
    assert not missing, f"Grafana's compose environment lacks {missing}"
    ours = {name for name in env if name.startswith(ENV_PREFIX)}
    assert ours <= set(used), f"compose sets {sorted(ours - set(used))} for Grafana, which no file uses"


def test_grafana_dashboard_providers_point_at_files_in_the_repository(compose: dict[str, Any]) -> None:
    target = grafana_mount(compose)
    providers = [p for p in provisioning_files() if p.parent.name == "dashboards"]
    assert providers
    for path in providers:
        for provider in yaml.safe_load(path.read_text(encoding="utf-8")).get("providers", []):
            folder = PurePosixPath(provider["options"]["path"])
            assert target in folder.parents or folder == target, f"{path}: {folder} is not mounted"
            local = PROVISIONING / folder.relative_to(target)
            assert any(local.rglob("*.json")), f"{path}: no dashboards in {local}"


# --- the guide ---------------------------------------------------------------------------------------------

GUIDE = REPO / "docs" / "deployment.md"
#: Files the guide tells the user to make; they are not in the repository.
MADE_BY_THE_USER = {
    "deploy/.env",
    "deploy/mosquitto/users/passwd",
    "deploy/mosquitto/certs/server.crt",
    "deploy/mosquitto/certs/server.key",
    "deploy/mosquitto/config/conf.d/tls.conf",
}


def test_the_guide_names_only_settings_and_files_that_exist(compose: dict[str, Any]) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    example = read_env_file(ENV_EXAMPLE)
    named = set(re.findall(r"\b((?:INFLUXDB|GRAFANA|INGEST|ALERT|MQTTS?)_[A-Z_]+)\b", text))
    assert named <= set(example), f"the guide names {sorted(named - set(example))}, not in env.example"
    for path in set(re.findall(r"\b(deploy/[\w./-]+\w)", text)) - MADE_BY_THE_USER:
        assert (REPO / path).exists(), f"the guide names {path}, which is not in the repository"
    # the services, profile and users it tells the user about
    for service in ("mosquitto", "influxdb", "ingest", "ingest-2"):
        assert service in compose["services"]
    assert "--profile club" in text
    acl = (DEPLOY / "mosquitto" / "config" / "acl").read_text(encoding="utf-8")
    assert "pattern readwrite posture/v1/%u/#" in acl  # "user name = athlete id", as the guide says
