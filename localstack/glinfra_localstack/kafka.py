"""Amazon MSK (service ``kafka``).

The moto bundled with LocalStack keeps MSK clusters in CREATING forever, drops most of
what CreateClusterV2 is given, fails with a server error on unknown ARNs and has no
configurations, bootstrap brokers, updates or cluster operations. This provider keeps
MSK state itself (per account and region) and implements the cluster, configuration,
operation and tagging APIs the glinfra topology uses; other operations go to moto.

Lifecycle (times from the environment of the emulator process, in seconds):

* CreateCluster / CreateClusterV2: CREATING, then ACTIVE after
  ``GLINFRA_EMULATOR_MSK_CREATE_SECONDS`` (default 2).
* UpdateBrokerCount / UpdateBrokerStorage / UpdateBrokerType /
  UpdateClusterConfiguration / UpdateClusterKafkaVersion / UpdateSecurity (client-broker
  encryption and client authentication; in-cluster encryption and the at-rest key cannot
  change): the cluster is UPDATING and
  the operation PENDING, then UPDATE_IN_PROGRESS, for
  ``GLINFRA_EMULATOR_MSK_UPDATE_SECONDS`` (default: the create time); then the change
  is applied, the cluster's CurrentVersion changes, the cluster is ACTIVE again and
  the operation UPDATE_COMPLETE.
* DeleteCluster: DELETING, then gone (NotFoundException) after
  ``GLINFRA_EMULATOR_MSK_DELETE_SECONDS`` (default: the create time). A second
  DeleteCluster meanwhile is refused ("You can't delete cluster in DELETING state.").
* FAILED paths, injected with the cluster tag ``glinfra:emulator:fail`` (comma-separated
  CREATE, DELETE, UPDATE or an operation type such as UPDATE_BROKER_STORAGE): a create or
  delete that fails leaves the cluster FAILED with a StateInfo (it can then only be
  deleted); an update that fails ends UPDATE_FAILED with an ErrorInfo, nothing applied,
  the cluster ACTIVE at its old CurrentVersion. Each injection fires once; setting the tag
  again (TagResource) re-arms it.

Validation as documented by AWS: known Kafka versions, no downgrade and no ZooKeeper to
KRaft upgrade, configurations compatible with the cluster's Kafka version, known broker
sizes and the broker-size changes AWS allows, 2 or 3 existing client subnets of one VPC in
distinct Availability Zones (Express brokers: 3), a storage cool-down of
``GLINFRA_EMULATOR_MSK_STORAGE_COOLDOWN_SECONDS`` (default 21600, AWS's six hours) after
every storage scaling event.
"""

from __future__ import annotations

import copy
import random
import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localstack.aws.api import RequestContext

from glinfra_localstack.base import (
    AwsError,
    GapFillProvider,
    RegionStores,
    env_seconds,
    new_id,
    now,
    operation,
)

DEFAULT_KAFKA_VERSION = "3.5.1"
NAME_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$")
FAIL_TAG = "glinfra:emulator:fail"

# Supported Apache Kafka versions (Amazon MSK Developer Guide, "Supported Apache Kafka
# versions"; KRaft versions carry the .kraft suffix, "KRaft mode"; 4.x is KRaft only).
KAFKA_VERSIONS = (
    "1.1.1", "2.1.0", "2.2.1", "2.3.1", "2.4.1", "2.4.1.1", "2.5.1",
    "2.6.0", "2.6.1", "2.6.2", "2.6.3", "2.7.0", "2.7.1", "2.7.2",
    "2.8.0", "2.8.1", "2.8.2.tiered", "3.1.1", "3.2.0", "3.3.1", "3.3.2", "3.4.0", "3.5.1", "3.6.0",
    "3.7.x", "3.7.x.kraft", "3.8.x", "3.8.x.kraft", "3.9.x", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft",
)  # fmt: skip

# Broker sizes (Amazon MSK Developer Guide, "Amazon MSK broker sizes").
_SIZES_M5 = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
_SIZES_M7G = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
STANDARD_TYPES = (
    {"kafka.t3.small"} | {f"kafka.m5.{s}" for s in _SIZES_M5} | {f"kafka.m7g.{s}" for s in _SIZES_M7G}
)
EXPRESS_TYPES = {f"express.m7g.{s}" for s in _SIZES_M7G}
# Standard broker-size changes ("Update the Amazon MSK cluster broker size"): from M5 or T3
# to M7g, T3 to M5, M7g to M5, and sizes within M5 and M7g; never down to T3.
BROKER_FAMILY_CHANGES = {("t3", "m5"), ("t3", "m7g"), ("m5", "m7g"), ("m7g", "m5"), ("m5", "m5"), ("m7g", "m7g")}


def create_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_MSK_CREATE_SECONDS", 2.0)


def update_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_MSK_UPDATE_SECONDS", create_seconds())


def delete_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_MSK_DELETE_SECONDS", create_seconds())


def storage_cooldown_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_MSK_STORAGE_COOLDOWN_SECONDS", 6 * 3600.0)


def bad_request(message: str, parameter: str | None = None) -> AwsError:
    # AWS's body also names the parameter (invalidParameter); the SDKs read code and message
    return AwsError("BadRequestException", message, 400)


def not_found(message: str) -> AwsError:
    return AwsError("NotFoundException", message, 404)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 409)


def cluster_version() -> str:
    """An opaque cluster version string, shaped like AWS's (e.g. K3AEGXETSR30VB)."""
    return "K" + "".join(random.choices(string.ascii_uppercase + string.digits, k=13))


def short_id() -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=6))


@dataclass
class Revision:
    revision: int
    created: datetime
    description: str | None
    server_properties: bytes


@dataclass
class Configuration:
    arn: str
    name: str
    description: str
    kafka_versions: list[str]
    created: datetime
    revisions: list[Revision]
    state: str = "ACTIVE"

    def latest(self) -> Revision:
        return self.revisions[-1]

    def revision(self, number: int) -> Revision | None:
        for rev in self.revisions:
            if rev.revision == number:
                return rev
        return None


@dataclass
class Operation:
    arn: str
    cluster_arn: str
    type: str
    created: datetime
    done_at: datetime
    source: dict
    target: dict
    apply: dict  # changes to the provisioned settings once done
    state: str = "PENDING"
    end: datetime | None = None
    error: dict | None = None  # ErrorInfo of a failed operation


@dataclass
class Cluster:
    arn: str
    name: str
    uuid: str
    type: str  # PROVISIONED | SERVERLESS
    created: datetime
    current_version: str
    provisioned: dict | None
    serverless: dict | None
    dns_id: str
    state: str = "CREATING"
    state_until: datetime | None = None
    active_operation: str | None = None
    operations: list[str] = field(default_factory=list)
    state_info: dict | None = None  # StateInfo of a FAILED cluster
    last_storage_scaling: datetime | None = None
    injected: set[str] = field(default_factory=set)  # failures already injected


class KafkaStore:
    def __init__(self) -> None:
        self.clusters: dict[str, Cluster] = {}
        self.configurations: dict[str, Configuration] = {}
        self.operations: dict[str, Operation] = {}
        self.tags: dict[str, dict[str, str]] = {}


stores = RegionStores(KafkaStore)


class KafkaProvider(GapFillProvider):
    service = "kafka"

    # ------------------------------------------------------------------ helpers
    def _store(self, context: RequestContext) -> KafkaStore:
        store = stores(context)
        self._advance(store)
        return store

    def _advance(self, store: KafkaStore) -> None:
        """Moves clusters and operations along their lifecycle (lazily, on each call)."""
        t = now()
        for op in store.operations.values():
            if op.state == "PENDING":
                op.state = "UPDATE_IN_PROGRESS"
            if op.state == "UPDATE_IN_PROGRESS" and t >= op.done_at:
                op.end = op.done_at
                cluster = store.clusters.get(op.cluster_arn)
                if cluster is not None and self._inject(store, cluster, op.type):
                    op.state = "UPDATE_FAILED"
                    op.error = {
                        "ErrorCode": "InjectedFailure",
                        "ErrorString": f"The {op.type} operation failed (injected by the tag {FAIL_TAG}).",
                    }
                    if cluster.active_operation != op.arn:  # e.g. deleted meanwhile
                        continue
                    cluster.state_until = None
                    cluster.active_operation = None
                    if op.type == "CREATE":
                        cluster.state = "FAILED"
                        cluster.state_info = {
                            "Code": "InjectedFailure",
                            "Message": f"Cluster creation failed (injected by the tag {FAIL_TAG}).",
                        }
                    else:  # rolled back: nothing applied, the old CurrentVersion stays
                        cluster.state = "ACTIVE"
                    continue
                if cluster is not None and op.type != "CREATE":
                    _apply_changes(cluster, op.apply)
                    cluster.current_version = cluster_version()
                    if op.type == "UPDATE_BROKER_STORAGE" and "VolumeSize" in op.apply.get("ebs", {}):
                        cluster.last_storage_scaling = op.done_at
                op.state = "UPDATE_COMPLETE"
        for arn, cluster in list(store.clusters.items()):
            if cluster.state_until is None or t < cluster.state_until:
                continue
            if cluster.state == "DELETING" and self._inject(store, cluster, "DELETE"):
                cluster.state = "FAILED"
                cluster.state_until = None
                cluster.state_info = {
                    "Code": "InjectedFailure",
                    "Message": f"Cluster deletion failed (injected by the tag {FAIL_TAG}).",
                }
                continue
            if cluster.state == "DELETING":
                del store.clusters[arn]
                store.tags.pop(arn, None)
                for op_arn in cluster.operations:
                    store.operations.pop(op_arn, None)
                continue
            if cluster.state in ("CREATING", "UPDATING"):
                cluster.state = "ACTIVE"
                cluster.state_until = None
                cluster.active_operation = None

    def _inject(self, store: KafkaStore, cluster: Cluster, what: str) -> bool:
        """Whether the cluster's tag glinfra:emulator:fail asks for ``what`` (CREATE, DELETE or
        an operation type; UPDATE matches every update) to fail, once."""
        wanted = {v.strip().upper() for v in store.tags.get(cluster.arn, {}).get(FAIL_TAG, "").split(",") if v.strip()}
        for token in (what, "UPDATE" if what.startswith("UPDATE_") else None):
            if token and token in wanted and token not in cluster.injected:
                cluster.injected.add(token)
                return True
        return False

    def _cluster(self, store: KafkaStore, arn: str) -> Cluster:
        cluster = store.clusters.get(arn)
        if cluster is None:
            raise not_found(f"The requested resource could not be found: cluster {arn} does not exist.")
        return cluster

    def _configuration(self, store: KafkaStore, arn: str) -> Configuration:
        config = store.configurations.get(arn)
        if config is None:
            raise not_found(f"The requested resource could not be found: configuration {arn} does not exist.")
        return config

    def _check_configuration_info(self, store: KafkaStore, info: dict | None, kafka_version: str | None = None) -> None:
        if not info:
            return
        config = store.configurations.get(info.get("Arn", ""))
        if config is None:
            raise bad_request(f"The specified configuration {info.get('Arn')} does not exist.", "configurationInfo")
        if config.revision(int(info.get("Revision", 0))) is None:
            raise bad_request(
                f"The specified configuration revision {info.get('Revision')} does not exist for {config.arn}.",
                "configurationInfo",
            )
        # CreateConfiguration KafkaVersions: "The versions of Apache Kafka with which you can
        # use this MSK configuration." (none listed: any version)
        if kafka_version and config.kafka_versions and kafka_version not in config.kafka_versions:
            raise bad_request(
                f"The configuration {config.arn} supports Apache Kafka versions {', '.join(config.kafka_versions)}, "
                f"not {kafka_version}.",
                "configurationInfo",
            )

    # ------------------------------------------------------------------ clusters
    def _new_cluster(
        self, context: RequestContext, name: str, cluster_type: str, provisioned: dict | None, serverless: dict | None
    ) -> Cluster:
        store = self._store(context)
        if not name or not NAME_RE.match(name):
            raise bad_request(
                "The cluster name must be 1 to 64 characters: letters, digits and hyphens, starting with a letter or digit.",
                "clusterName",
            )
        if any(c.name == name for c in store.clusters.values()):
            raise conflict(f"A cluster with the name {name} already exists.")
        if provisioned is not None:
            provisioned = _normalise_provisioned(context, provisioned)
            self._check_configuration_info(store, provisioned.get("ConfigurationInfo"), provisioned["KafkaVersion"])
        cluster_uuid = f"{new_id()}-{random.randint(1, 25)}"
        arn = f"arn:aws:kafka:{context.region}:{context.account_id}:cluster/{name}/{cluster_uuid}"
        created = now()
        cluster = Cluster(
            arn=arn,
            name=name,
            uuid=cluster_uuid,
            type=cluster_type,
            created=created,
            current_version=cluster_version(),
            provisioned=provisioned,
            serverless=copy.deepcopy(serverless) if serverless is not None else None,
            dns_id=short_id(),
            state="CREATING",
            state_until=created + timedelta(seconds=create_seconds()),
        )
        op = Operation(
            arn=self._operation_arn(context, cluster),
            cluster_arn=arn,
            type="CREATE",
            created=created,
            done_at=cluster.state_until,
            source={},
            target=_mutable_info(cluster) if provisioned else {},
            apply={},
        )
        store.operations[op.arn] = op
        cluster.operations.append(op.arn)
        cluster.active_operation = op.arn
        store.clusters[arn] = cluster
        return cluster

    def _operation_arn(self, context: RequestContext, cluster: Cluster) -> str:
        return f"arn:aws:kafka:{context.region}:{context.account_id}:cluster-operation/{cluster.name}/{cluster.uuid}/{new_id()}"

    @operation("CreateCluster")
    def create_cluster(self, context: RequestContext, request: dict) -> dict:
        provisioned = {
            k: request[k]
            for k in (
                "BrokerNodeGroupInfo",
                "Rebalancing",
                "ClientAuthentication",
                "ConfigurationInfo",
                "EncryptionInfo",
                "EnhancedMonitoring",
                "OpenMonitoring",
                "KafkaVersion",
                "LoggingInfo",
                "NumberOfBrokerNodes",
                "StorageMode",
            )
            if k in request
        }
        cluster = self._new_cluster(context, request.get("ClusterName", ""), "PROVISIONED", provisioned, None)
        self._set_tags(context, cluster.arn, request.get("Tags") or {})
        return {"ClusterArn": cluster.arn, "ClusterName": cluster.name, "State": cluster.state}

    @operation("CreateClusterV2")
    def create_cluster_v2(self, context: RequestContext, request: dict) -> dict:
        provisioned = request.get("Provisioned")
        serverless = request.get("Serverless")
        if bool(provisioned) == bool(serverless):
            raise bad_request("Specify exactly one of provisioned and serverless.", "provisioned")
        if serverless is not None and not serverless.get("VpcConfigs"):
            raise bad_request("Serverless clusters need at least one VPC configuration.", "vpcConfigs")
        cluster = self._new_cluster(
            context,
            request.get("ClusterName", ""),
            "PROVISIONED" if provisioned else "SERVERLESS",
            provisioned,
            serverless,
        )
        self._set_tags(context, cluster.arn, request.get("Tags") or {})
        return {
            "ClusterArn": cluster.arn,
            "ClusterName": cluster.name,
            "State": cluster.state,
            "ClusterType": cluster.type,
        }

    def _cluster_info(self, store: KafkaStore, cluster: Cluster, v2: bool) -> dict:
        """ClusterInfo as DescribeCluster (v1: provisioned fields at the top level)
        or DescribeClusterV2 (v2: the cluster type, and the fields under Provisioned
        or Serverless) returns it."""
        info: dict[str, Any] = {
            "ClusterArn": cluster.arn,
            "ClusterName": cluster.name,
            "CreationTime": cluster.created,
            "CurrentVersion": cluster.current_version,
            "State": cluster.state,
            "Tags": dict(store.tags.get(cluster.arn, {})),
        }
        if v2:
            info["ClusterType"] = cluster.type
        if cluster.active_operation:
            info["ActiveOperationArn"] = cluster.active_operation
        if cluster.state_info:
            info["StateInfo"] = dict(cluster.state_info)
        if cluster.provisioned is not None:
            if v2:
                info["Provisioned"] = _provisioned_view(cluster)
            else:
                info.update(_provisioned_view(cluster))
        if v2 and cluster.serverless is not None:
            info["Serverless"] = copy.deepcopy(cluster.serverless)
        return info

    @operation("DescribeCluster")
    def describe_cluster(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        if cluster.type != "PROVISIONED":
            raise bad_request("DescribeCluster supports provisioned clusters only; use DescribeClusterV2.")
        return {"ClusterInfo": self._cluster_info(store, cluster, v2=False)}

    @operation("DescribeClusterV2")
    def describe_cluster_v2(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        return {"ClusterInfo": self._cluster_info(store, cluster, v2=True)}

    def _listed(self, store: KafkaStore, request: dict, cluster_type: str | None = None) -> list[Cluster]:
        prefix = request.get("ClusterNameFilter") or ""
        clusters = sorted(store.clusters.values(), key=lambda c: c.created)
        return [c for c in clusters if c.name.startswith(prefix) and (cluster_type in (None, c.type))]

    def _list_page(self, store: KafkaStore, request: dict, clusters: list[Cluster], v2: bool) -> dict:
        page, token = _page(clusters, request)
        result: dict[str, Any] = {"ClusterInfoList": [self._cluster_info(store, c, v2) for c in page]}
        if token:
            result["NextToken"] = token
        return result

    @operation("ListClusters")
    def list_clusters(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        clusters = [c for c in self._listed(store, request) if c.type == "PROVISIONED"]
        return self._list_page(store, request, clusters, v2=False)

    @operation("ListClustersV2")
    def list_clusters_v2(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        clusters = self._listed(store, request, request.get("ClusterTypeFilter"))
        return self._list_page(store, request, clusters, v2=True)

    @operation("DeleteCluster")
    def delete_cluster(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        version = request.get("CurrentVersion")
        if version and version != cluster.current_version:
            raise bad_request(
                f"The version {version} does not match the current version {cluster.current_version} of the cluster.",
                "currentVersion",
            )
        if cluster.state == "DELETING":
            # "DELETING: ... You also can't perform Amazon MSK API operations on it."
            raise bad_request("You can't delete cluster in DELETING state.")
        cluster.state = "DELETING"
        cluster.state_until = now() + timedelta(seconds=delete_seconds())
        cluster.active_operation = None
        return {"ClusterArn": cluster.arn, "State": cluster.state}

    @operation("GetBootstrapBrokers")
    def get_bootstrap_brokers(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        if cluster.state in ("CREATING", "DELETING", "FAILED"):
            raise bad_request(f"You can't get bootstrap broker nodes for a cluster in {cluster.state} state.")
        return _bootstrap_brokers(context, cluster)

    # ------------------------------------------------------------------ updates
    def _start_update(
        self, context: RequestContext, request: dict, op_type: str, target: dict, apply: dict
    ) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        if cluster.provisioned is None:
            raise bad_request("This operation is supported for provisioned clusters only.")
        if request.get("CurrentVersion") != cluster.current_version:
            raise bad_request(
                f"The version {request.get('CurrentVersion')} does not match the current version "
                f"{cluster.current_version} of the cluster.",
                "currentVersion",
            )
        if cluster.state != "ACTIVE":
            raise bad_request(
                f"The cluster is in the {cluster.state} state. It must be ACTIVE to perform this operation."
            )
        started = now()
        source_full = _mutable_info(cluster)
        op = Operation(
            arn=self._operation_arn(context, cluster),
            cluster_arn=cluster.arn,
            type=op_type,
            created=started,
            done_at=started + timedelta(seconds=update_seconds()),
            source={k: source_full[k] for k in target if k in source_full},
            target=target,
            apply=apply,
        )
        store.operations[op.arn] = op
        cluster.operations.append(op.arn)
        cluster.state = "UPDATING"
        cluster.state_until = op.done_at
        cluster.active_operation = op.arn
        return {"ClusterArn": cluster.arn, "ClusterOperationArn": op.arn}

    @operation("UpdateBrokerCount")
    def update_broker_count(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        target = int(request["TargetNumberOfBrokerNodes"])
        prov = cluster.provisioned or {}
        azs = len(prov.get("BrokerNodeGroupInfo", {}).get("ClientSubnets", [])) or 1
        if target == prov.get("NumberOfBrokerNodes"):
            raise bad_request(
                "The target number of broker nodes is the same as the current number of broker nodes.",
                "targetNumberOfBrokerNodes",
            )
        if target % azs:
            raise bad_request(
                f"The number of broker nodes must be a multiple of the number of Availability Zones ({azs}).",
                "targetNumberOfBrokerNodes",
            )
        return self._start_update(
            context,
            request,
            "UPDATE_BROKER_COUNT",
            {"NumberOfBrokerNodes": target},
            {"NumberOfBrokerNodes": target},
        )

    @operation("UpdateBrokerStorage")
    def update_broker_storage(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        if _is_express(_instance_type(cluster)):
            # Express brokers: "Storage Management: Fully MSK managed"
            raise bad_request("Express brokers don't support updating broker storage.", "targetBrokerEBSVolumeInfo")
        volumes = request.get("TargetBrokerEBSVolumeInfo") or []
        if not volumes:
            raise bad_request("TargetBrokerEBSVolumeInfo must name at least one volume.", "targetBrokerEBSVolumeInfo")
        current = _volume_size(cluster)
        ebs: dict[str, Any] = {}
        for volume in volumes:
            if volume.get("KafkaBrokerNodeId") != "All":
                raise bad_request("KafkaBrokerNodeId must be \"All\".", "kafkaBrokerNodeId")
            size = volume.get("VolumeSizeGB")
            if size is not None:
                size = int(size)
                if size > 16384:
                    raise bad_request("The volume size must be at most 16384 GiB.", "volumeSizeGB")
                if size <= current:
                    raise bad_request(
                        f"The target volume size {size} GiB must be greater than the current size {current} GiB.",
                        "volumeSizeGB",
                    )
                ebs["VolumeSize"] = size
            if volume.get("ProvisionedThroughput") is not None:
                ebs["ProvisionedThroughput"] = volume["ProvisionedThroughput"]
        if not ebs:
            raise bad_request("Specify VolumeSizeGB or ProvisionedThroughput.", "targetBrokerEBSVolumeInfo")
        last = cluster.last_storage_scaling
        if "VolumeSize" in ebs and last is not None:
            ready = last + timedelta(seconds=storage_cooldown_seconds())
            if now() < ready:
                # "Storage scaling has a cool-down period of at least six hours between events."
                raise bad_request(
                    f"The broker storage was scaled at {last:%Y-%m-%dT%H:%M:%SZ}; it can be scaled again after the "
                    f"cool-down period, at {ready:%Y-%m-%dT%H:%M:%SZ}.",
                    "targetBrokerEBSVolumeInfo",
                )
        return self._start_update(
            context, request, "UPDATE_BROKER_STORAGE", {"BrokerEBSVolumeInfo": volumes}, {"ebs": ebs}
        )

    @operation("UpdateBrokerType")
    def update_broker_type(self, context: RequestContext, request: dict) -> dict:
        instance_type = request.get("TargetInstanceType") or ""
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        current = _instance_type(cluster)
        if current == instance_type:
            raise bad_request("The target instance type is the same as the current one.", "targetInstanceType")
        _check_broker_type_change(current, instance_type, (cluster.provisioned or {}).get("KafkaVersion") or "")
        return self._start_update(
            context, request, "UPDATE_BROKER_TYPE", {"InstanceType": instance_type}, {"InstanceType": instance_type}
        )

    @operation("UpdateSecurity")
    def update_security(self, context: RequestContext, request: dict) -> dict:
        """UpdateSecurity (MSK API Reference): "Updates the security settings for the
        cluster. You can use this operation to specify encryption and authentication on
        existing clusters." Encryption at rest and in-cluster encryption are set at
        creation only (MSK Developer Guide, "Amazon MSK encryption")."""
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        wanted_enc = request.get("EncryptionInfo")
        wanted_auth = request.get("ClientAuthentication")
        if not wanted_enc and not wanted_auth:
            raise bad_request("Specify EncryptionInfo or ClientAuthentication to update.")
        p = cluster.provisioned or {}
        current_enc = copy.deepcopy(p.get("EncryptionInfo") or {})
        target: dict[str, Any] = {}
        apply: dict[str, Any] = {}
        if wanted_enc:
            at_rest = wanted_enc.get("EncryptionAtRest")
            if at_rest and at_rest != current_enc.get("EncryptionAtRest"):
                raise bad_request("Encryption at rest can't be changed on an existing cluster.", "encryptionAtRest")
            transit = wanted_enc.get("EncryptionInTransit") or {}
            current_transit = current_enc.get("EncryptionInTransit") or {}
            if "InCluster" in transit and transit["InCluster"] != current_transit.get("InCluster", True):
                raise bad_request("In-cluster encryption can't be changed on an existing cluster.", "inCluster")
            client_broker = transit.get("ClientBroker")
            if client_broker is not None and client_broker not in ("TLS", "TLS_PLAINTEXT", "PLAINTEXT"):
                raise bad_request(f"Invalid ClientBroker value {client_broker}.", "clientBroker")
            if client_broker is not None and client_broker != current_transit.get("ClientBroker", "TLS"):
                new_enc = copy.deepcopy(current_enc)
                new_enc.setdefault("EncryptionInTransit", {})["ClientBroker"] = client_broker
                target["EncryptionInfo"] = {"EncryptionInTransit": {"ClientBroker": client_broker}}
                apply["EncryptionInfo"] = new_enc
        if wanted_auth and wanted_auth != p.get("ClientAuthentication"):
            target["ClientAuthentication"] = copy.deepcopy(wanted_auth)
            apply["ClientAuthentication"] = copy.deepcopy(wanted_auth)
        if not apply:
            raise bad_request("The security settings in the request are the same as the cluster's.")
        return self._start_update(context, request, "UPDATE_SECURITY", target, apply)

    @operation("UpdateClusterConfiguration")
    def update_cluster_configuration(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        info = request.get("ConfigurationInfo") or {}
        if info.get("Arn") not in store.configurations:
            raise not_found(f"The requested resource could not be found: configuration {info.get('Arn')} does not exist.")
        self._check_configuration_info(store, info, (cluster.provisioned or {}).get("KafkaVersion"))
        info = {"Arn": info["Arn"], "Revision": int(info["Revision"])}
        return self._start_update(
            context,
            request,
            "UPDATE_CLUSTER_CONFIGURATION",
            {"ConfigurationInfo": info},
            {"ConfigurationInfo": info},
        )

    @operation("UpdateClusterKafkaVersion")
    def update_cluster_kafka_version(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        target = request.get("TargetKafkaVersion") or ""
        current = (cluster.provisioned or {}).get("KafkaVersion") or ""
        if target == current:
            raise bad_request("The target Kafka version is the same as the current one.", "targetKafkaVersion")
        _check_kafka_version(target, "targetKafkaVersion")
        if current in KAFKA_VERSIONS and target not in _upgrade_targets(current):
            if _version_key(target) <= _version_key(current):
                # "You can't downgrade an existing MSK cluster to an older version of Apache Kafka."
                raise bad_request(
                    f"You can't downgrade the cluster from Apache Kafka {current} to {target}.", "targetKafkaVersion"
                )
            # "You can't upgrade an existing MSK cluster from a ZooKeeper-based Apache Kafka
            # version to a newer version that uses or requires KRaft mode."
            raise bad_request(
                f"Apache Kafka {target} is not compatible with the cluster's version {current}: the metadata mode "
                "(ZooKeeper or KRaft) of a cluster can't change.",
                "targetKafkaVersion",
            )
        if _is_m7g(_instance_type(cluster)) and not _m7g_supports(target):
            raise bad_request(f"M7g brokers don't support Apache Kafka {target}.", "targetKafkaVersion")
        changes: dict[str, Any] = {"KafkaVersion": target}
        if request.get("ConfigurationInfo"):
            self._check_configuration_info(store, request["ConfigurationInfo"], target)
            changes["ConfigurationInfo"] = {
                "Arn": request["ConfigurationInfo"]["Arn"],
                "Revision": int(request["ConfigurationInfo"]["Revision"]),
            }
        return self._start_update(context, request, "UPDATE_CLUSTER_KAFKA_VERSION", dict(changes), changes)

    @operation("GetCompatibleKafkaVersions")
    def get_compatible_kafka_versions(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        arn = request.get("ClusterArn")
        if arn:
            cluster = self._cluster(store, arn)
            if cluster.provisioned is None:
                raise bad_request("This operation is supported for provisioned clusters only.")
            sources = [cluster.provisioned.get("KafkaVersion") or DEFAULT_KAFKA_VERSION]
        else:
            sources = list(KAFKA_VERSIONS)
        return {
            "CompatibleKafkaVersions": [
                {"SourceVersion": v, "TargetVersions": _upgrade_targets(v)} for v in sources if _upgrade_targets(v) or arn
            ]
        }

    # ------------------------------------------------------------------ operations
    def _operation_info(self, op: Operation) -> dict:
        info: dict[str, Any] = {
            "ClusterArn": op.cluster_arn,
            "CreationTime": op.created,
            "OperationArn": op.arn,
            "OperationState": op.state,
            "OperationType": op.type,
            "OperationSteps": [
                {"StepInfo": {"StepStatus": {"UPDATE_COMPLETE": "COMPLETE", "UPDATE_FAILED": "FAILED"}.get(op.state, "IN_PROGRESS")},
                 "StepName": "INITIALIZE_UPDATE"},
            ],
        }
        if op.source:
            info["SourceClusterInfo"] = copy.deepcopy(op.source)
        if op.target:
            info["TargetClusterInfo"] = copy.deepcopy(op.target)
        if op.end:
            info["EndTime"] = op.end
        if op.error:
            info["ErrorInfo"] = dict(op.error)
        return info

    @operation("ListClusterOperations")
    def list_cluster_operations(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        cluster = self._cluster(store, request["ClusterArn"])
        ops = [store.operations[a] for a in reversed(cluster.operations) if a in store.operations]
        page, token = _page(ops, request)
        result: dict[str, Any] = {"ClusterOperationInfoList": [self._operation_info(o) for o in page]}
        if token:
            result["NextToken"] = token
        return result

    @operation("DescribeClusterOperation")
    def describe_cluster_operation(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        op = store.operations.get(request["ClusterOperationArn"])
        if op is None:
            raise not_found(
                f"The requested resource could not be found: cluster operation {request['ClusterOperationArn']} does not exist."
            )
        return {"ClusterOperationInfo": self._operation_info(op)}

    # ------------------------------------------------------------------ configurations
    @operation("CreateConfiguration")
    def create_configuration(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        name = request.get("Name") or ""
        if not NAME_RE.match(name):
            raise bad_request(
                "The configuration name must contain letters, digits and hyphens only and start with a letter or digit.",
                "name",
            )
        if any(c.name == name for c in store.configurations.values()):
            raise conflict(f"A configuration with the name {name} already exists.")
        properties = _properties(request.get("ServerProperties"))
        for version in request.get("KafkaVersions") or []:
            _check_kafka_version(version, "kafkaVersions")
        created = now()
        config = Configuration(
            arn=f"arn:aws:kafka:{context.region}:{context.account_id}:configuration/{name}/{new_id()}-{random.randint(1, 25)}",
            name=name,
            description=request.get("Description") or "",
            kafka_versions=list(request.get("KafkaVersions") or []),
            created=created,
            revisions=[Revision(1, created, request.get("Description") or "", properties)],
        )
        store.configurations[config.arn] = config
        return {
            "Arn": config.arn,
            "CreationTime": config.created,
            "LatestRevision": _revision_view(config.latest()),
            "Name": config.name,
            "State": config.state,
        }

    def _configuration_view(self, config: Configuration) -> dict:
        return {
            "Arn": config.arn,
            "CreationTime": config.created,
            "Description": config.description,
            "KafkaVersions": list(config.kafka_versions),
            "LatestRevision": _revision_view(config.latest()),
            "Name": config.name,
            "State": config.state,
        }

    @operation("DescribeConfiguration")
    def describe_configuration(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        return self._configuration_view(self._configuration(store, request["Arn"]))

    @operation("DescribeConfigurationRevision")
    def describe_configuration_revision(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        config = self._configuration(store, request["Arn"])
        rev = config.revision(int(request["Revision"]))
        if rev is None:
            raise not_found(
                f"The requested resource could not be found: revision {request['Revision']} of configuration {config.arn} does not exist."
            )
        return {
            "Arn": config.arn,
            "CreationTime": rev.created,
            "Description": rev.description,
            "Revision": rev.revision,
            "ServerProperties": rev.server_properties,
        }

    @operation("ListConfigurations")
    def list_configurations(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        configs = sorted(store.configurations.values(), key=lambda c: c.created)
        page, token = _page(configs, request)
        result: dict[str, Any] = {"Configurations": [self._configuration_view(c) for c in page]}
        if token:
            result["NextToken"] = token
        return result

    @operation("ListConfigurationRevisions")
    def list_configuration_revisions(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        config = self._configuration(store, request["Arn"])
        page, token = _page(config.revisions, request)
        result: dict[str, Any] = {"Revisions": [_revision_view(r) for r in page]}
        if token:
            result["NextToken"] = token
        return result

    @operation("UpdateConfiguration")
    def update_configuration(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        config = self._configuration(store, request["Arn"])
        properties = _properties(request.get("ServerProperties"))
        rev = Revision(config.latest().revision + 1, now(), request.get("Description"), properties)
        config.revisions.append(rev)
        if request.get("Description") is not None:
            config.description = request["Description"]
        return {"Arn": config.arn, "LatestRevision": _revision_view(rev)}

    @operation("DeleteConfiguration")
    def delete_configuration(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        config = self._configuration(store, request["Arn"])
        users = [
            c.name
            for c in store.clusters.values()
            if ((c.provisioned or {}).get("ConfigurationInfo") or {}).get("Arn") == config.arn
        ]
        if users:
            raise bad_request(
                f"The configuration {config.arn} is in use by cluster(s) {', '.join(sorted(users))} and cannot be deleted."
            )
        del store.configurations[config.arn]
        store.tags.pop(config.arn, None)
        return {"Arn": config.arn, "State": "DELETING"}

    # ------------------------------------------------------------------ tags
    def _taggable(self, store: KafkaStore, arn: str) -> None:
        if arn not in store.clusters and arn not in store.configurations:
            raise not_found(f"The requested resource could not be found: {arn} does not exist.")

    def _set_tags(self, context: RequestContext, arn: str, tags: dict) -> None:
        if tags:
            stores(context).tags.setdefault(arn, {}).update(tags)

    @operation("TagResource")
    def tag_resource(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        self._taggable(store, request["ResourceArn"])
        store.tags.setdefault(request["ResourceArn"], {}).update(request.get("Tags") or {})
        cluster = store.clusters.get(request["ResourceArn"])
        if cluster is not None and FAIL_TAG in (request.get("Tags") or {}):
            cluster.injected.clear()  # setting the tag again re-arms the failure injection
        return {}

    @operation("UntagResource")
    def untag_resource(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        self._taggable(store, request["ResourceArn"])
        tags = store.tags.get(request["ResourceArn"], {})
        for key in request.get("TagKeys") or []:
            tags.pop(key, None)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, context: RequestContext, request: dict) -> dict:
        store = self._store(context)
        self._taggable(store, request["ResourceArn"])
        return {"Tags": dict(store.tags.get(request["ResourceArn"], {}))}


# ---------------------------------------------------------------------- pure helpers
def _page(items: list, request: dict) -> tuple[list, str | None]:
    token = request.get("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise bad_request("The NextToken is not valid.", "nextToken")
    size = int(request.get("MaxResults") or 100)
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)


def _properties(value: Any) -> bytes:
    if value is None:
        raise bad_request("ServerProperties is required.", "serverProperties")
    if isinstance(value, str):
        value = value.encode()
    text = value.decode("utf-8", "replace")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise bad_request(f"Invalid server property line: {line!r} (expected key=value).", "serverProperties")
    return bytes(value)


def _revision_view(rev: Revision) -> dict:
    view: dict[str, Any] = {"CreationTime": rev.created, "Revision": rev.revision}
    if rev.description is not None:
        view["Description"] = rev.description
    return view


def _normalise_provisioned(context: RequestContext, provisioned: dict) -> dict:
    """Validates a provisioned cluster request and fills in the defaults AWS reports."""
    p = copy.deepcopy(provisioned)
    bngi = p.get("BrokerNodeGroupInfo")
    if not bngi:
        raise bad_request("BrokerNodeGroupInfo is required.", "brokerNodeGroupInfo")
    subnets = bngi.get("ClientSubnets") or []
    instance_type = bngi.get("InstanceType") or ""
    if instance_type not in STANDARD_TYPES and instance_type not in EXPRESS_TYPES:
        raise bad_request(f"Unsupported broker instance type {instance_type}.", "instanceType")
    express = _is_express(instance_type)
    version = p.get("KafkaVersion")
    if not version:
        raise bad_request("KafkaVersion is required.", "kafkaVersion")
    _check_kafka_version(version, "kafkaVersion")
    if express and _version_key(version) < (3, 6):
        raise bad_request(f"Express brokers need Apache Kafka 3.6 or later, not {version}.", "kafkaVersion")
    if _is_m7g(instance_type) and not _m7g_supports(version):
        raise bad_request(f"M7g brokers need Apache Kafka 2.8.2.tiered or 3.3.2 and later, not {version}.", "instanceType")
    _check_client_subnets(context, subnets, express)
    brokers = p.get("NumberOfBrokerNodes")
    if brokers is None:
        raise bad_request("NumberOfBrokerNodes is required.", "numberOfBrokerNodes")
    brokers = int(brokers)
    if brokers % len(subnets):
        # "Amazon MSK distributes the broker nodes evenly over the subnets that you specify."
        raise bad_request(
            "The number of broker nodes must be a multiple of Availability Zones in the Client Subnets parameter.",
            "numberOfBrokerNodes",
        )
    p["NumberOfBrokerNodes"] = brokers
    bngi.setdefault("BrokerAZDistribution", "DEFAULT")
    if not express:  # Express brokers' storage is managed by MSK
        storage = bngi.setdefault("StorageInfo", {}).setdefault("EbsStorageInfo", {})
        storage.setdefault("VolumeSize", 1000)
    bngi.setdefault("ConnectivityInfo", {"PublicAccess": {"Type": "DISABLED"}})
    if not bngi.get("ZoneIds"):
        bngi.pop("ZoneIds", None)
    enc = p.setdefault("EncryptionInfo", {})
    enc.setdefault(
        "EncryptionAtRest",
        {"DataVolumeKMSKeyId": f"arn:aws:kms:{context.region}:{context.account_id}:key/{new_id()}"},
    )
    transit = enc.setdefault("EncryptionInTransit", {})
    transit.setdefault("ClientBroker", "TLS")
    transit.setdefault("InCluster", True)
    if transit["ClientBroker"] not in ("TLS", "TLS_PLAINTEXT", "PLAINTEXT"):
        raise bad_request(f"Invalid ClientBroker value {transit['ClientBroker']}.", "clientBroker")
    p.setdefault("EnhancedMonitoring", "DEFAULT")
    p.setdefault(
        "OpenMonitoring",
        {"Prometheus": {"JmxExporter": {"EnabledInBroker": False}, "NodeExporter": {"EnabledInBroker": False}}},
    )
    p.setdefault("StorageMode", "LOCAL")
    auth = p.get("ClientAuthentication")
    if not auth:
        p["ClientAuthentication"] = {
            "Sasl": {"Scram": {"Enabled": False}, "Iam": {"Enabled": False}},
            "Tls": {"Enabled": False},
            "Unauthenticated": {"Enabled": True},
        }
    if p.get("ConfigurationInfo"):
        p["ConfigurationInfo"] = {
            "Arn": p["ConfigurationInfo"]["Arn"],
            "Revision": int(p["ConfigurationInfo"]["Revision"]),
        }
    return p


def _provisioned_view(cluster: Cluster) -> dict:
    p = copy.deepcopy(cluster.provisioned or {})
    software: dict[str, Any] = {"KafkaVersion": p.get("KafkaVersion", DEFAULT_KAFKA_VERSION)}
    if p.get("ConfigurationInfo"):
        software["ConfigurationArn"] = p["ConfigurationInfo"]["Arn"]
        software["ConfigurationRevision"] = p["ConfigurationInfo"]["Revision"]
    view: dict[str, Any] = {
        "BrokerNodeGroupInfo": p.get("BrokerNodeGroupInfo"),
        "ClientAuthentication": p.get("ClientAuthentication"),
        "CurrentBrokerSoftwareInfo": software,
        "EncryptionInfo": p.get("EncryptionInfo"),
        "EnhancedMonitoring": p.get("EnhancedMonitoring"),
        "OpenMonitoring": p.get("OpenMonitoring"),
        "NumberOfBrokerNodes": p.get("NumberOfBrokerNodes"),
        "StorageMode": p.get("StorageMode"),
        "CustomerActionStatus": "NONE",
    }
    if p.get("LoggingInfo"):
        view["LoggingInfo"] = p["LoggingInfo"]
    if p.get("Rebalancing"):
        view["Rebalancing"] = p["Rebalancing"]
    if cluster.state != "CREATING":
        zk = _hosts(cluster, "z", 3, 2181)
        view["ZookeeperConnectString"] = zk
        view["ZookeeperConnectStringTls"] = _hosts(cluster, "z", 3, 2182)
    return {k: v for k, v in view.items() if v is not None}


def _mutable_info(cluster: Cluster) -> dict:
    p = cluster.provisioned or {}
    bngi = p.get("BrokerNodeGroupInfo", {})
    info: dict[str, Any] = {
        "NumberOfBrokerNodes": p.get("NumberOfBrokerNodes"),
        "InstanceType": bngi.get("InstanceType"),
        "KafkaVersion": p.get("KafkaVersion"),
        "EnhancedMonitoring": p.get("EnhancedMonitoring"),
        "BrokerEBSVolumeInfo": [{"KafkaBrokerNodeId": "All", "VolumeSizeGB": _volume_size(cluster)}],
    }
    if p.get("ConfigurationInfo"):
        info["ConfigurationInfo"] = copy.deepcopy(p["ConfigurationInfo"])
    if p.get("EncryptionInfo"):
        info["EncryptionInfo"] = copy.deepcopy(p["EncryptionInfo"])
    if p.get("ClientAuthentication"):
        info["ClientAuthentication"] = copy.deepcopy(p["ClientAuthentication"])
    return {k: v for k, v in info.items() if v is not None}


def _volume_size(cluster: Cluster) -> int:
    p = cluster.provisioned or {}
    return int(
        p.get("BrokerNodeGroupInfo", {}).get("StorageInfo", {}).get("EbsStorageInfo", {}).get("VolumeSize", 1000)
    )


def _apply_changes(cluster: Cluster, changes: dict) -> None:
    p = cluster.provisioned
    if p is None:
        return
    for key, value in changes.items():
        if key == "ebs":
            ebs = p.setdefault("BrokerNodeGroupInfo", {}).setdefault("StorageInfo", {}).setdefault("EbsStorageInfo", {})
            ebs.update(copy.deepcopy(value))
        elif key == "InstanceType":
            p.setdefault("BrokerNodeGroupInfo", {})["InstanceType"] = value
        else:
            p[key] = copy.deepcopy(value)


def _hosts(cluster: Cluster, prefix: str, count: int, port: int) -> str:
    region = cluster.arn.split(":")[3]
    return ",".join(
        f"{prefix}-{i}.{cluster.name.lower()}.{cluster.dns_id}.c{(len(cluster.name) % 9) + 1}.kafka.{region}.amazonaws.com:{port}"
        for i in range(1, count + 1)
    )


def _bootstrap_brokers(context: RequestContext, cluster: Cluster) -> dict:
    if cluster.type == "SERVERLESS":
        host = f"boot-{cluster.dns_id}.c{(len(cluster.name) % 9) + 1}.kafka-serverless.{context.region}.amazonaws.com:9098"
        return {"BootstrapBrokerStringSaslIam": host}
    p = cluster.provisioned or {}
    shown = min(int(p.get("NumberOfBrokerNodes") or 1), 3)
    client_broker = p.get("EncryptionInfo", {}).get("EncryptionInTransit", {}).get("ClientBroker", "TLS")
    auth = p.get("ClientAuthentication") or {}
    sasl = auth.get("Sasl") or {}
    tls_enabled = client_broker in ("TLS", "TLS_PLAINTEXT")
    result: dict[str, str] = {}
    if client_broker in ("PLAINTEXT", "TLS_PLAINTEXT"):
        result["BootstrapBrokerString"] = _hosts(cluster, "b", shown, 9092)
    if tls_enabled:
        unauth = (auth.get("Unauthenticated") or {}).get("Enabled", False)
        tls_auth = (auth.get("Tls") or {}).get("Enabled", False)
        if unauth or tls_auth or not any((sasl.get(k) or {}).get("Enabled") for k in ("Scram", "Iam")):
            result["BootstrapBrokerStringTls"] = _hosts(cluster, "b", shown, 9094)
        if (sasl.get("Scram") or {}).get("Enabled"):
            result["BootstrapBrokerStringSaslScram"] = _hosts(cluster, "b", shown, 9096)
        if (sasl.get("Iam") or {}).get("Enabled"):
            result["BootstrapBrokerStringSaslIam"] = _hosts(cluster, "b", shown, 9098)
    return result


def _version_key(version: str) -> tuple:
    """Orders Kafka versions: 3.7.x after 3.7.0, 2.8.2.tiered as 2.8.2."""
    parts = []
    for part in version.split("."):
        if part.isdigit():
            parts.append(int(part))
        elif part == "x":
            parts.append(10**6)
    return tuple(parts)


def _is_kraft(version: str) -> bool:
    return version.endswith(".kraft") or _version_key(version) >= (4,)


def _check_kafka_version(version: str, parameter: str) -> None:
    if version not in KAFKA_VERSIONS:
        raise bad_request(f"Unsupported Apache Kafka version {version}.", parameter)


def _upgrade_targets(version: str) -> list[str]:
    """The versions a cluster at ``version`` can be updated to: newer ones in the same
    metadata mode (no downgrades; no ZooKeeper to KRaft)."""
    if version not in KAFKA_VERSIONS:
        return []
    return [
        v
        for v in KAFKA_VERSIONS
        if _version_key(v) > _version_key(version) and _is_kraft(v) == _is_kraft(version)
    ]


def _instance_type(cluster: Cluster) -> str:
    return ((cluster.provisioned or {}).get("BrokerNodeGroupInfo") or {}).get("InstanceType") or ""


def _is_express(instance_type: str) -> bool:
    return instance_type.startswith("express.")


def _is_m7g(instance_type: str) -> bool:
    return ".m7g." in instance_type


def _m7g_supports(version: str) -> bool:
    # "Amazon MSK supports M7g brokers on MSK Provisioned clusters running Kafka versions
    # 2.8.2 and 3.3.2 and later." (Amazon MSK broker sizes)
    return version == "2.8.2.tiered" or _version_key(version) >= (3, 3, 2)


def _family(instance_type: str) -> str:
    return instance_type.split(".")[1] if instance_type.count(".") >= 2 else ""


def _check_broker_type_change(current: str, target: str, kafka_version: str) -> None:
    if target not in STANDARD_TYPES and target not in EXPRESS_TYPES:
        raise bad_request(f"Unsupported broker instance type {target}.", "targetInstanceType")
    if _is_express(current) != _is_express(target):
        # "You can't change an MSK Provisioned cluster from the Standard broker type to the
        # Express broker type" (and back): a new cluster is needed.
        raise bad_request(
            f"You can't change the broker type of the cluster from {current} to {target}: "
            "Standard and Express brokers can't be switched.",
            "targetInstanceType",
        )
    if not _is_express(target) and (_family(current), _family(target)) not in BROKER_FAMILY_CHANGES:
        raise bad_request(f"You can't update the broker size from {current} to {target}.", "targetInstanceType")
    if _is_m7g(target) and kafka_version and not _m7g_supports(kafka_version):
        raise bad_request(f"M7g brokers don't support Apache Kafka {kafka_version}.", "targetInstanceType")


def _check_client_subnets(context: RequestContext, subnets: list[str], express: bool) -> None:
    """Client subnets: "For Standard brokers in the US West (N. California) Region, you need two subnets in
    two different Availability Zones. In all other Regions ... either two or three subnets.
    Your subnets must all be in different Availability Zones. For Express brokers, you need
    three subnets in three different Availability Zones." (Create an MSK Provisioned cluster)"""
    if express and len(subnets) != 3:
        raise bad_request("Express brokers need three client subnets in three Availability Zones.", "clientSubnets")
    if context.region == "us-west-1" and len(subnets) != 2:
        raise bad_request("Specify exactly two client subnets in this Region.", "clientSubnets")
    if not 2 <= len(subnets) <= 3:
        raise bad_request("Specify two or three client subnets, in distinct Availability Zones.", "clientSubnets")
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[context.account_id][context.region]
    zones: list[str] = []
    vpcs: set[str] = set()
    for subnet_id in subnets:
        try:
            subnet = ec2.get_subnet(subnet_id)
        except Exception:
            raise bad_request(f"The subnet {subnet_id} does not exist.", "clientSubnets")
        zone_id = getattr(subnet, "availability_zone_id", "")
        if zone_id == "use1-az3":
            # "Client subnets can't occupy the Availability Zone with ID use1-az3."
            raise bad_request(f"The subnet {subnet_id} is in the Availability Zone use1-az3, which MSK doesn't support.", "clientSubnets")
        zones.append(subnet.availability_zone)
        vpcs.add(subnet.vpc_id)
    if len(vpcs) > 1:
        raise bad_request("The client subnets must all be in the same VPC.", "clientSubnets")
    if len(set(zones)) != len(zones):
        raise bad_request("The client subnets must all be in different Availability Zones.", "clientSubnets")
