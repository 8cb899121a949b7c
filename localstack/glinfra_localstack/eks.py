"""Amazon EKS.

Gap fills on top of LocalStack's bundled moto (which has clusters and node groups but
no update tracking):

* UpdateClusterConfig (logging, endpoint access / VPC config, access config, upgrade
  policy, zonal shift, network configs), UpdateClusterVersion, UpdateNodegroupConfig
  (scaling, labels, taints, update config), UpdateNodegroupVersion: applied to moto's
  cluster and node group objects at once, each returning an ``update`` whose id
  DescribeUpdate and ListUpdates know (status ``Successful``);
* CreateNodegroup and UpdateNodegroupConfig validate taint effects and scaling sizes
  (moto accepts an invalid taint effect).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localstack.aws.api import RequestContext

from glinfra_localstack.base import (
    AwsError,
    GapFillProvider,
    RegionStores,
    forward_to_moto,
    new_id,
    now,
    operation,
)

TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, 400)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404)


@dataclass
class Update:
    id: str
    type: str
    params: list[dict]
    created: datetime
    cluster: str
    nodegroup: str | None = None
    status: str = "Successful"
    errors: list = field(default_factory=list)

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


class EksProvider(GapFillProvider):
    service = "eks"

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

    def _record(self, context: RequestContext, cluster: str, kind: str, params: list[dict], nodegroup: str | None = None) -> dict:
        update = Update(new_id(), kind, params, now(), cluster, nodegroup)
        stores(context).updates[update.id] = update
        return {"update": update.view()}

    # ------------------------------------------------------------------ creation checks
    @operation("CreateNodegroup")
    def create_nodegroup(self, context: RequestContext, request: dict):
        _check_taints(request.get("taints"))
        _check_scaling(request.get("scalingConfig"))
        return forward_to_moto(context)

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
        current = copy.deepcopy(getattr(cluster, attr, None) or {})
        if isinstance(current, dict) and isinstance(value, dict):
            current.update(copy.deepcopy(value))
        else:
            current = copy.deepcopy(value)
        setattr(cluster, attr, current)
        param_value = value.get("authenticationMode") if kind == "accessConfig" else value
        return self._record(context, cluster.name, update_type, [_param(param_type, param_value)])

    def _update_logging(self, context: RequestContext, cluster, logging: dict) -> dict:
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
        cluster.logging = {"clusterLogging": setups}
        return self._record(context, cluster.name, "LoggingUpdate", [_param("ClusterLogging", cluster.logging["clusterLogging"])])

    def _update_vpc(self, context: RequestContext, cluster, vpc: dict) -> dict:
        config = copy.deepcopy(cluster.resources_vpc_config or {})
        endpoint_keys = ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")
        network_keys = ("subnetIds", "securityGroupIds")
        has_endpoint = any(k in vpc for k in endpoint_keys)
        has_network = any(k in vpc for k in network_keys)
        if has_endpoint and has_network:
            raise invalid_parameter("Only one type of update can be allowed.")
        public = vpc.get("endpointPublicAccess", config.get("endpointPublicAccess", True))
        private = vpc.get("endpointPrivateAccess", config.get("endpointPrivateAccess", False))
        if not public and not private:
            raise invalid_parameter("Cluster must have either public or private API endpoint access enabled.")
        config.update(copy.deepcopy(vpc))
        cluster.resources_vpc_config = config
        if has_network:
            params = []
            if "subnetIds" in vpc:
                params.append(_param("Subnets", vpc["subnetIds"]))
            if "securityGroupIds" in vpc:
                params.append(_param("SecurityGroups", vpc["securityGroupIds"]))
            return self._record(context, cluster.name, "VpcConfigUpdate", params)
        params = [
            _param("EndpointPublicAccess", "true" if public else "false"),
            _param("EndpointPrivateAccess", "true" if private else "false"),
        ]
        if "publicAccessCidrs" in vpc:
            params.append(_param("PublicAccessCidrs", vpc["publicAccessCidrs"]))
        return self._record(context, cluster.name, "EndpointAccessUpdate", params)

    @operation("UpdateClusterVersion")
    def update_cluster_version(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        target = request.get("version") or ""
        current = _minor(cluster.version)
        wanted = _minor(target)
        if wanted == current:
            raise invalid_parameter(f"The cluster is already at version {cluster.version}.")
        if wanted != (current[0], current[1] + 1):
            raise invalid_parameter(f"Unsupported Kubernetes minor version update from {cluster.version} to {target}")
        cluster.version = target
        cluster.platformVersion = "eks.1"
        return self._record(
            context,
            cluster.name,
            "VersionUpdate",
            [_param("Version", target), _param("PlatformVersion", cluster.platformVersion)],
        )

    # ------------------------------------------------------------------ node group updates
    @operation("UpdateNodegroupConfig")
    def update_nodegroup_config(self, context: RequestContext, request: dict) -> dict:
        cluster, nodegroup = self._nodegroup(context, request.get("clusterName"), request.get("nodegroupName"))
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
        # all checks passed: apply
        nodegroup.labels = new_labels
        nodegroup.taints = new_taints
        nodegroup.scaling_config = new_scaling
        if update_config is not None:
            nodegroup.update_config = {k: v for k, v in update_config.items() if v is not None}
        if repair is not None:
            nodegroup.node_repair_config = copy.deepcopy(repair)
        nodegroup.modified_at = now()
        return self._record(context, cluster.name, "ConfigUpdate", params, nodegroup.nodegroup_name)

    @operation("UpdateNodegroupVersion")
    def update_nodegroup_version(self, context: RequestContext, request: dict) -> dict:
        cluster, nodegroup = self._nodegroup(context, request.get("clusterName"), request.get("nodegroupName"))
        version = request.get("version") or cluster.version
        if _minor(version) > _minor(cluster.version):
            raise invalid_parameter(
                f"Requested Nodegroup Kubernetes Version {version} is newer than the cluster version {cluster.version}."
            )
        if _minor(version) < _minor(nodegroup.version):
            raise invalid_parameter(f"Requested Nodegroup Kubernetes Version {version} is older than the current version {nodegroup.version}.")
        release = request.get("releaseVersion") or f"{version}.0-{now():%Y%m%d}"
        launch_template = request.get("launchTemplate")
        if launch_template is not None and not nodegroup.launch_template:
            raise invalid_parameter("The node group was not created with a launch template.")
        params = [_param("Version", version), _param("ReleaseVersion", release)]
        if launch_template is not None:
            lt = dict(nodegroup.launch_template)
            lt.update({k: v for k, v in launch_template.items() if v is not None})
            nodegroup.launch_template = lt
            if launch_template.get("name"):
                params.append(_param("LaunchTemplateName", launch_template["name"]))
            if launch_template.get("version"):
                params.append(_param("LaunchTemplateVersion", launch_template["version"]))
        nodegroup.version = version
        nodegroup.release_version = release
        nodegroup.modified_at = now()
        return self._record(context, cluster.name, "VersionUpdate", params, nodegroup.nodegroup_name)

    # ------------------------------------------------------------------ update queries
    @operation("DescribeUpdate")
    def describe_update(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        nodegroup = request.get("nodegroupName")
        if nodegroup:
            self._nodegroup(context, cluster.name, nodegroup)
        update = stores(context).updates.get(request.get("updateId") or "")
        # AWS requires nodegroupName for a node group's update
        if update is None or update.cluster != cluster.name or update.nodegroup != (nodegroup or None):
            raise not_found(f"No update found for ID: {request.get('updateId')}.")
        return {"update": update.view()}

    @operation("ListUpdates")
    def list_updates(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("name"))
        nodegroup = request.get("nodegroupName")
        if nodegroup:
            self._nodegroup(context, cluster.name, nodegroup)
        ids = [
            u.id
            for u in sorted(stores(context).updates.values(), key=lambda u: u.created)
            if u.cluster == cluster.name and u.nodegroup == (nodegroup or None)
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
        return response
