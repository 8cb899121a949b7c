"""Amazon EKS.

Gap fills on top of LocalStack's bundled moto (which has clusters and node groups but
no update tracking):

* UpdateClusterConfig (logging, endpoint access / VPC config, access config, upgrade
  policy, zonal shift, network configs), UpdateClusterVersion, UpdateNodegroupConfig
  (scaling, labels, taints, update config), UpdateNodegroupVersion: each returns an
  ``update`` whose id DescribeUpdate and ListUpdates know. As on AWS the update is
  asynchronous: it is ``InProgress`` and the cluster (or node group) ``UPDATING`` for
  ``GLINFRA_EMULATOR_EKS_UPDATE_SECONDS`` (default 1); then the change is applied to
  moto's objects, the update is ``Successful`` and the resource ``ACTIVE`` again. A
  second update meanwhile is refused (ResourceInUseException, 409), and moto refuses
  CreateNodegroup on a cluster that is not ACTIVE (InvalidRequestException).
* AssociateEncryptionConfig (moto has none): envelope encryption of secrets turned on
  for a cluster that has none, as an ``AssociateEncryptionConfig`` update like the ones
  above; exactly one config, for ``secrets``, with a key ARN (InvalidParameterException),
  and refused on a cluster that already has one (InvalidRequestException).
* UpdateClusterVersion is refused while a node group is not at the cluster's version
  (InvalidRequestException); CreateNodegroup creates node groups at the cluster's version
  (moto: 1.19) and refuses another one (InvalidParameterException).
* CreateNodegroup and UpdateNodegroupConfig validate taint effects and scaling sizes
  (moto accepts an invalid taint effect); release versions must belong to the Kubernetes
  version; an Amazon Linux 2 AMI type (``AL2_*``) is refused past Kubernetes 1.32, on
  CreateNodegroup and UpdateNodegroupVersion (InvalidParameterException; the message is
  ours); a node group naming no AMI type gets AWS's default for its version (AL2023 from
  Kubernetes 1.30, AL2 before; moto: AL2_x86_64 always).
* Add-ons and Pod Identity associations: see ``eks_identity.py`` (their updates are
  followed here, by DescribeUpdate with ``addonName``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localstack.aws.api import RequestContext

from glinfra_localstack.eks_errors import in_use, invalid_parameter, invalid_request, not_found
from glinfra_localstack.eks_identity import IdentityOps
from glinfra_localstack.base import (
    GapFillProvider,
    RegionStores,
    env_seconds,
    forward_to_moto,
    forward_with,
    new_id,
    now,
    operation,
)

TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def update_seconds() -> float:
    """How long an update stays InProgress (read by the emulator process)."""
    return env_seconds("GLINFRA_EMULATOR_EKS_UPDATE_SECONDS", 1.0)


@dataclass
class Update:
    id: str
    type: str
    params: list[dict]
    created: datetime
    cluster: str
    nodegroup: str | None = None
    addon: str | None = None
    status: str = "InProgress"
    errors: list = field(default_factory=list)
    done_at: datetime | None = None
    apply: Callable[[], None] | None = None

    def view(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": copy.deepcopy(self.params),
            "createdAt": self.created,
            "errors": list(self.errors),
        }


class EksStore:
    def __init__(self) -> None:
        self.updates: dict[str, Update] = {}


stores = RegionStores(EksStore)


def _param(kind: str, value: Any) -> dict:
    if not isinstance(value, str):
        value = json.dumps(value, separators=(",", ":"))
    return {"type": kind, "value": value}


def _minor(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except (ValueError, AttributeError):
        raise invalid_parameter(f"Invalid Kubernetes version {version!r}.")


def _check_taints(taints: list[dict] | None) -> None:
    for taint in taints or []:
        if taint.get("effect") not in TAINT_EFFECTS:
            raise invalid_parameter(
                f"Invalid taint effect {taint.get('effect')!r}; valid values are {', '.join(TAINT_EFFECTS)}."
            )
        if not taint.get("key"):
            raise invalid_parameter("A taint needs a key.")


def _check_scaling(scaling: dict | None) -> None:
    if not scaling:
        return
    low, high, desired = scaling.get("minSize"), scaling.get("maxSize"), scaling.get("desiredSize")
    if high is not None and high < 1:
        raise invalid_parameter("Maximum capacity must be at least 1.")
    if low is not None and low < 0:
        raise invalid_parameter("Minimum capacity must be at least 0.")
    if low is not None and high is not None and low > high:
        raise invalid_parameter(f"Minimum capacity {low} can't be greater than maximum capacity {high}.")
    if desired is not None and high is not None and desired > high:
        raise invalid_parameter(f"Desired capacity {desired} can't be greater than max size {high}.")
    if desired is not None and low is not None and desired < low:
        raise invalid_parameter(f"Desired capacity {desired} can't be less than min size {low}.")


class EksProvider(IdentityOps, GapFillProvider):
    service = "eks"

    def _wrap(self, op_name: str, handler):
        inner = super()._wrap(op_name, handler)

        def run(context: RequestContext, request: dict) -> Any:
            # updates complete lazily: before any EKS call (also those moto answers)
            with self.lock:
                self._advance(context)
            return inner(context, request)

        run.__name__ = f"eks_{op_name}"
        return run

    def _backend(self, context: RequestContext):
        from moto.eks.models import eks_backends

        return eks_backends[context.account_id][context.region]

    def _cluster(self, context: RequestContext, name: str):
        cluster = self._backend(context).clusters.get(name or "")
        if cluster is None:
            raise not_found(f"No cluster found for name: {name}.")
        return cluster

    def _nodegroup(self, context: RequestContext, cluster_name: str, nodegroup_name: str):
        cluster = self._cluster(context, cluster_name)
        nodegroup = cluster.nodegroups.get(nodegroup_name or "")
        if nodegroup is None:
            raise not_found(f"No node group found for name: {nodegroup_name}.")
        return cluster, nodegroup

    # ------------------------------------------------------------------ update lifecycle
    def _advance(self, context: RequestContext) -> None:
        """Completes the updates whose time has come: applies the change, marks the update
        Successful and the cluster or node group ACTIVE again."""
        store = stores(context)
        t = now()
        due = [u for u in store.updates.values() if u.status == "InProgress" and u.done_at and u.done_at <= t]
        if not due:
            return
        clusters = self._backend(context).clusters
        for update in sorted(due, key=lambda u: u.done_at):
            update.status = "Successful"
            cluster = clusters.get(update.cluster)
            if cluster is None:
                continue
            if update.addon is not None:
                if update.apply is not None:
                    update.apply()  # the add-on's own status
                continue
            target = cluster.nodegroups.get(update.nodegroup) if update.nodegroup else cluster
            if target is None:
                continue
            if update.apply is not None:
                update.apply()
            if getattr(target, "status", None) == "UPDATING":
                target.status = "ACTIVE"

    def _running(self, context: RequestContext, cluster: str, nodegroup: str | None = None) -> Update | None:
        for update in stores(context).updates.values():
            if (
                update.status == "InProgress"
                and update.cluster == cluster
                and update.nodegroup == nodegroup
                and update.addon is None
            ):
                return update
        return None

    def _check_cluster_idle(self, context: RequestContext, cluster, update_type: str) -> None:
        running = self._running(context, cluster.name)
        if running is not None:
            raise in_use(
                f"Cannot {update_type} because cluster {cluster.name} currently has update {running.id} in progress"
            )
        if getattr(cluster, "status", "ACTIVE") != "ACTIVE":
            raise invalid_request(f"Cluster '{cluster.name}' is not in ACTIVE status")

    def _check_nodegroup_idle(self, context: RequestContext, cluster, nodegroup) -> None:
        running = self._running(context, cluster.name, nodegroup.nodegroup_name)
        if running is not None or getattr(nodegroup, "status", "ACTIVE") not in ("ACTIVE", "DEGRADED"):
            raise in_use("Nodegroup cannot be updated as it is currently not in Active State")

    def _record(
        self,
        context: RequestContext,
        cluster,
        kind: str,
        params: list[dict],
        apply: Callable[[], None],
        nodegroup=None,
        addon: str | None = None,
    ) -> dict:
        created = now()
        update = Update(
            id=new_id(),
            type=kind,
            params=params,
            created=created,
            cluster=cluster.name,
            nodegroup=nodegroup.nodegroup_name if nodegroup is not None else None,
            addon=addon,
            done_at=created + timedelta(seconds=update_seconds()),
            apply=apply,
        )
        stores(context).updates[update.id] = update
        if addon is None:  # an add-on's status is the add-on's (eks_identity.py)
            (nodegroup if nodegroup is not None else cluster).status = "UPDATING"
        return {"update": update.view()}

    # ------------------------------------------------------------------ creation checks
    @operation("CreateNodegroup")
    def create_nodegroup(self, context: RequestContext, request: dict):
        _check_taints(request.get("taints"))
        _check_scaling(request.get("scalingConfig"))
        cluster = self._backend(context).clusters.get(request.get("clusterName") or "")
        if cluster is None:
            return forward_to_moto(context)  # moto's ResourceNotFoundException
        version = request.get("version")
        if version is not None and version != cluster.version:
            # "By default, the Kubernetes version of the cluster is used, and this is the
            # only accepted specified value." (CreateNodegroup, version)
            raise invalid_parameter(
                f"Requested Nodegroup Kubernetes Version {version} is invalid. "
                f"Allowed Kubernetes version is {cluster.version}"
            )
        release = request.get("releaseVersion")
        if release is not None:
            _check_release(release, cluster.version)
        _check_ami(request.get("amiType"), cluster.version)
        params = dict(request)
        if not request.get("amiType") and not request.get("launchTemplate"):
            params["amiType"] = _default_ami(cluster.version, request.get("instanceTypes") or [])
        params["version"] = cluster.version
        if release is None and not request.get("launchTemplate"):
            params["releaseVersion"] = _release_of(cluster.version)
        return forward_with(context, params)

    # ------------------------------------------------------------------ cluster updates
    @operation("UpdateClusterConfig")
    def update_cluster_config(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        kinds = [
            k
            for k in (
                "resourcesVpcConfig",
                "logging",
                "accessConfig",
                "upgradePolicy",
                "zonalShiftConfig",
                "computeConfig",
                "kubernetesNetworkConfig",
                "storageConfig",
                "remoteNetworkConfig",
            )
            if request.get(k) is not None
        ]
        if not kinds:
            raise invalid_parameter("No changes needed: the request specifies no configuration to update.")
        if len(kinds) > 1:
            raise invalid_parameter("Only one type of update can be allowed.")
        kind = kinds[0]
        value = request[kind]
        if kind == "logging":
            return self._update_logging(context, cluster, value)
        if kind == "resourcesVpcConfig":
            return self._update_vpc(context, cluster, value)
        mapping = {
            "accessConfig": ("AccessConfigUpdate", "AuthenticationMode", "access_config"),
            "upgradePolicy": ("UpgradePolicyUpdate", "UpgradePolicy", "upgrade_policy"),
            "zonalShiftConfig": ("ZonalShiftConfigUpdate", "ZonalShiftConfig", "zonal_shift_config"),
            "computeConfig": ("AutoModeUpdate", "ComputeConfig", "compute_config"),
            "kubernetesNetworkConfig": ("ConfigUpdate", "KubernetesNetworkConfig", "kubernetes_network_config"),
            "storageConfig": ("AutoModeUpdate", "StorageConfig", "storage_config"),
            "remoteNetworkConfig": ("RemoteNetworkConfigUpdate", "RemoteNetworkConfig", "remote_network_config"),
        }
        update_type, param_type, attr = mapping[kind]
        self._check_cluster_idle(context, cluster, update_type)
        current = copy.deepcopy(getattr(cluster, attr, None) or {})
        if isinstance(current, dict) and isinstance(value, dict):
            current.update(copy.deepcopy(value))
        else:
            current = copy.deepcopy(value)
        param_value = value.get("authenticationMode") if kind == "accessConfig" else value
        return self._record(
            context, cluster, update_type, [_param(param_type, param_value)], lambda: setattr(cluster, attr, current)
        )

    def _update_logging(self, context: RequestContext, cluster, logging: dict) -> dict:
        self._check_cluster_idle(context, cluster, "LoggingUpdate")
        enabled: set[str] = set()
        for setup in (cluster.logging or {}).get("clusterLogging", []):
            if setup.get("enabled"):
                enabled.update(setup.get("types", []))
        before = set(enabled)
        for setup in logging.get("clusterLogging") or []:
            for log_type in setup.get("types") or []:
                if log_type not in LOG_TYPES:
                    raise invalid_parameter(f"Invalid log type {log_type!r}; valid values are {', '.join(LOG_TYPES)}.")
                if setup.get("enabled"):
                    enabled.add(log_type)
                else:
                    enabled.discard(log_type)
        if enabled == before:
            raise invalid_parameter("No changes needed for the logging config provided")
        disabled = [t for t in LOG_TYPES if t not in enabled]
        setups = []
        if enabled:
            setups.append({"types": [t for t in LOG_TYPES if t in enabled], "enabled": True})
        if disabled:
            setups.append({"types": disabled, "enabled": False})
        new_logging = {"clusterLogging": setups}
        return self._record(
            context,
            cluster,
            "LoggingUpdate",
            [_param("ClusterLogging", setups)],
            lambda: setattr(cluster, "logging", new_logging),
        )

    def _update_vpc(self, context: RequestContext, cluster, vpc: dict) -> dict:
        config = copy.deepcopy(cluster.resources_vpc_config or {})
        endpoint_keys = ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")
        network_keys = ("subnetIds", "securityGroupIds")
        has_endpoint = any(k in vpc for k in endpoint_keys)
        has_network = any(k in vpc for k in network_keys)
        if has_endpoint and has_network:
            raise invalid_parameter("Only one type of update can be allowed.")
        self._check_cluster_idle(context, cluster, "VpcConfigUpdate" if has_network else "EndpointAccessUpdate")
        public = vpc.get("endpointPublicAccess", config.get("endpointPublicAccess", True))
        private = vpc.get("endpointPrivateAccess", config.get("endpointPrivateAccess", False))
        if not public and not private:
            raise invalid_parameter("Cluster must have either public or private API endpoint access enabled.")
        config.update(copy.deepcopy(vpc))

        def apply() -> None:
            cluster.resources_vpc_config = config

        if has_network:
            params = []
            if "subnetIds" in vpc:
                params.append(_param("Subnets", vpc["subnetIds"]))
            if "securityGroupIds" in vpc:
                params.append(_param("SecurityGroups", vpc["securityGroupIds"]))
            return self._record(context, cluster, "VpcConfigUpdate", params, apply)
        params = [
            _param("EndpointPublicAccess", "true" if public else "false"),
            _param("EndpointPrivateAccess", "true" if private else "false"),
        ]
        if "publicAccessCidrs" in vpc:
            params.append(_param("PublicAccessCidrs", vpc["publicAccessCidrs"]))
        return self._record(context, cluster, "EndpointAccessUpdate", params, apply)

    @operation("AssociateEncryptionConfig")
    def associate_encryption_config(self, context: RequestContext, request: dict) -> dict:
        """AssociateEncryptionConfig (EKS API Reference): "Associates an encryption
        configuration to an existing cluster. Use this API to enable encryption on existing
        clusters that don't already have encryption enabled." Encryption cannot be removed
        or its key changed afterwards."""
        cluster = self._cluster(context, request.get("clusterName"))
        configs = request.get("encryptionConfig") or []
        if len(configs) != 1:
            raise invalid_parameter("Exactly one encryption configuration is supported.")
        config = configs[0]
        if list(config.get("resources") or []) != ["secrets"]:
            raise invalid_parameter("Only 'secrets' resources are supported for encryption.")
        key = (config.get("provider") or {}).get("keyArn")
        if not key:
            raise invalid_parameter("Encryption provider keyArn is required.")
        if getattr(cluster, "encryption_config", None):
            raise invalid_request(f"Cluster {cluster.name} already has an encryption configuration associated.")
        self._check_cluster_idle(context, cluster, "AssociateEncryptionConfig")
        value = [{"resources": ["secrets"], "provider": {"keyArn": key}}]

        def apply() -> None:
            cluster.encryption_config = copy.deepcopy(value)

        return self._record(
            context, cluster, "AssociateEncryptionConfig", [_param("EncryptionConfig", value)], apply
        )

    @operation("UpdateClusterVersion")
    def update_cluster_version(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        self._check_cluster_idle(context, cluster, "VersionUpdate")
        target = request.get("version") or ""
        current = _minor(cluster.version)
        wanted = _minor(target)
        if wanted == current:
            raise invalid_parameter(f"The cluster is already at version {cluster.version}.")
        if wanted != (current[0], current[1] + 1):
            raise invalid_parameter(f"Unsupported Kubernetes minor version update from {cluster.version} to {target}")
        # "If your cluster has managed node groups attached to it, all of your node groups'
        # Kubernetes versions must match the cluster's Kubernetes version in order to update
        # the cluster to a new Kubernetes version." (UpdateClusterVersion)
        lagging = sorted(
            name for name, ng in cluster.nodegroups.items() if _minor(ng.version) != current
        )
        if lagging:
            raise invalid_request(
                f"Nodegroups {','.join(lagging)} must be updated to match cluster version "
                f"{cluster.version} before updating cluster version"
            )
        platform = "eks.1"

        def apply() -> None:
            cluster.version = target
            cluster.platformVersion = platform

        return self._record(
            context,
            cluster,
            "VersionUpdate",
            [_param("Version", target), _param("PlatformVersion", platform)],
            apply,
        )

    # ------------------------------------------------------------------ node group updates
    @operation("UpdateNodegroupConfig")
    def update_nodegroup_config(self, context: RequestContext, request: dict) -> dict:
        cluster, nodegroup = self._nodegroup(context, request.get("clusterName"), request.get("nodegroupName"))
        self._check_nodegroup_idle(context, cluster, nodegroup)
        params: list[dict] = []
        labels = request.get("labels")
        taints = request.get("taints")
        scaling = request.get("scalingConfig")
        update_config = request.get("updateConfig")
        repair = request.get("nodeRepairConfig")
        if not any(x is not None for x in (labels, taints, scaling, update_config, repair)):
            raise invalid_parameter("No changes needed: the request specifies no configuration to update.")
        new_labels = dict(nodegroup.labels or {})
        if labels is not None:
            add = labels.get("addOrUpdateLabels") or {}
            remove = labels.get("removeLabels") or []
            both = set(add) & set(remove)
            if both:
                raise invalid_parameter(f"The label key(s) {', '.join(sorted(both))} are both added and removed.")
            new_labels.update(add)
            for key in remove:
                new_labels.pop(key, None)
            if add:
                params.append(_param("LabelsToAdd", add))
            if remove:
                params.append(_param("LabelsToRemove", remove))
        new_taints = [dict(t) for t in (nodegroup.taints or [])]
        if taints is not None:
            add = taints.get("addOrUpdateTaints") or []
            remove = taints.get("removeTaints") or []
            _check_taints(add)
            _check_taints([t for t in remove if t.get("effect")])
            for taint in add:
                new_taints = [t for t in new_taints if t.get("key") != taint["key"]]
                new_taints.append({k: v for k, v in taint.items() if v is not None})
            for taint in remove:
                new_taints = [
                    t
                    for t in new_taints
                    if not (t.get("key") == taint.get("key") and (not taint.get("effect") or t.get("effect") == taint["effect"]))
                ]
            if add:
                params.append(_param("TaintsToAdd", add))
            if remove:
                params.append(_param("TaintsToRemove", remove))
        new_scaling = dict(nodegroup.scaling_config or {})
        if scaling is not None:
            new_scaling.update({k: v for k, v in scaling.items() if v is not None})
            _check_scaling(new_scaling)
            for key, kind in (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredSize", "DesiredSize")):
                if scaling.get(key) is not None:
                    params.append(_param(kind, str(scaling[key])))
        if update_config is not None:
            if update_config.get("maxUnavailable") and update_config.get("maxUnavailablePercentage"):
                raise invalid_parameter("Specify either maxUnavailable or maxUnavailablePercentage, not both.")
            for key, kind in (
                ("maxUnavailable", "MaxUnavailable"),
                ("maxUnavailablePercentage", "MaxUnavailablePercentage"),
                ("updateStrategy", "UpdateStrategy"),
            ):
                if update_config.get(key) is not None:
                    params.append(_param(kind, str(update_config[key])))
        if repair is not None:
            params.append(_param("NodeRepairEnabled", "true" if repair.get("enabled") else "false"))

        # all checks passed: applied when the update completes
        def apply() -> None:
            nodegroup.labels = new_labels
            nodegroup.taints = new_taints
            nodegroup.scaling_config = new_scaling
            if update_config is not None:
                nodegroup.update_config = {k: v for k, v in update_config.items() if v is not None}
            if repair is not None:
                nodegroup.node_repair_config = copy.deepcopy(repair)
            nodegroup.modified_at = now()

        return self._record(context, cluster, "ConfigUpdate", params, apply, nodegroup)

    @operation("UpdateNodegroupVersion")
    def update_nodegroup_version(self, context: RequestContext, request: dict) -> dict:
        cluster, nodegroup = self._nodegroup(context, request.get("clusterName"), request.get("nodegroupName"))
        self._check_nodegroup_idle(context, cluster, nodegroup)
        version = request.get("version") or cluster.version
        if _minor(version) > _minor(cluster.version):
            raise invalid_parameter(
                f"Requested Nodegroup Kubernetes Version {version} is newer than the cluster version {cluster.version}."
            )
        if _minor(version) < _minor(nodegroup.version):
            raise invalid_parameter(f"Requested Nodegroup Kubernetes Version {version} is older than the current version {nodegroup.version}.")
        release = request.get("releaseVersion")
        if release is not None:
            _check_release(release, version)
        else:
            release = _release_of(version)
        _check_ami(getattr(nodegroup, "ami_type", None), version)
        launch_template = request.get("launchTemplate")
        if launch_template is not None and not nodegroup.launch_template:
            raise invalid_parameter("The node group was not created with a launch template.")
        params = [_param("Version", version), _param("ReleaseVersion", release)]
        new_lt = None
        if launch_template is not None:
            new_lt = dict(nodegroup.launch_template)
            new_lt.update({k: v for k, v in launch_template.items() if v is not None})
            if launch_template.get("name"):
                params.append(_param("LaunchTemplateName", launch_template["name"]))
            if launch_template.get("version"):
                params.append(_param("LaunchTemplateVersion", launch_template["version"]))

        def apply() -> None:
            if new_lt is not None:
                nodegroup.launch_template = new_lt
            nodegroup.version = version
            nodegroup.release_version = release
            nodegroup.modified_at = now()

        return self._record(context, cluster, "VersionUpdate", params, apply, nodegroup)

    # ------------------------------------------------------------------ update queries
    @operation("DescribeUpdate")
    def describe_update(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        nodegroup = request.get("nodegroupName")
        if nodegroup:
            self._nodegroup(context, cluster.name, nodegroup)
        addon = request.get("addonName")
        if addon:
            self._addon(context, cluster.name, addon)
        update = stores(context).updates.get(request.get("updateId") or "")
        # AWS requires nodegroupName (addonName) for a node group's (add-on's) update
        if (
            update is None
            or update.cluster != cluster.name
            or update.nodegroup != (nodegroup or None)
            or update.addon != (addon or None)
        ):
            raise not_found(f"No update found for ID: {request.get('updateId')}.")
        return {"update": update.view()}

    @operation("ListUpdates")
    def list_updates(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        nodegroup = request.get("nodegroupName")
        if nodegroup:
            self._nodegroup(context, cluster.name, nodegroup)
        addon = request.get("addonName")
        if addon:
            self._addon(context, cluster.name, addon)
        ids = [
            u.id
            for u in sorted(stores(context).updates.values(), key=lambda u: u.created)
            if u.cluster == cluster.name and u.nodegroup == (nodegroup or None) and u.addon == (addon or None)
        ]
        start = int(request.get("nextToken") or 0)
        size = int(request.get("maxResults") or 100)
        result: dict[str, Any] = {"updateIds": ids[start : start + size]}
        if start + size < len(ids):
            result["nextToken"] = str(start + size)
        return result

    @operation("DeleteCluster")
    def delete_cluster(self, context: RequestContext, request: dict):
        response = forward_to_moto(context)
        if isinstance(response, dict):
            store = stores(context)
            for uid in [u.id for u in store.updates.values() if u.cluster == request.get("name")]:
                del store.updates[uid]
            self._forget_cluster(context, request.get("name"))
        return response


def _release_of(version: str) -> str:
    """An AMI release version of a Kubernetes version, shaped like AWS's (1.29.0-20240110)."""
    return f"{version}.0-{now():%Y%m%d}"


# EKS User Guide, "Amazon EKS AL2 AMI deprecation": Kubernetes 1.32 is the last version
# for which EKS releases Amazon Linux 2 AMIs.
LAST_AL2 = (1, 32)


def _check_ami(ami_type: str | None, version: str) -> None:
    if ami_type and ami_type.startswith("AL2_") and _minor(version) > LAST_AL2:
        raise invalid_parameter(
            f"AMI type {ami_type} is not supported for Kubernetes version {version}: Amazon Linux 2 AMIs end with "
            "Kubernetes 1.32; use an AL2023 or Bottlerocket AMI type."
        )


def _default_ami(version: str, instance_types: list[str]) -> str:
    """The AMI type EKS gives a node group that names none: Amazon Linux 2023 from
    Kubernetes 1.30 ("Starting with Kubernetes version 1.30 or newer, any newly created
    managed node groups will automatically default to using AL2023"), Amazon Linux 2
    before (moto: AL2_x86_64 always); Arm for Graviton instance types (m7g, c6g, t4g ...)."""
    family = (instance_types[0] if instance_types else "t3.medium").split(".")[0]
    arm = family.endswith("g") and not family.startswith("g")
    if _minor(version) >= (1, 30):
        return "AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD"
    return "AL2_ARM_64" if arm else "AL2_x86_64"


def _check_release(release: str, version: str) -> None:
    if not release.startswith(f"{version}."):
        raise invalid_parameter(f"Requested release version {release} is not valid for kubernetes version {version}.")
