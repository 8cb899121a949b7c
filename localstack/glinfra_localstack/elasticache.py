"""Amazon ElastiCache.

Gap fills on top of LocalStack's bundled moto:

* cache parameter groups: Create/Describe/Modify/Reset/Delete CacheParameterGroup(s) and
  DescribeCacheParameters, with AWS's default groups (``default.redis7``,
  ``default.redis7.cluster.on``, ...) and a catalogue of the common engine parameters;
* ModifyCacheSubnetGroup (in place) and DeleteCacheSubnetGroup (with the in-use check);
* CreateReplicationGroup: checks that the named parameter and subnet groups exist, takes
  the cluster mode from the parameter group when ClusterMode is not given, and registers
  the member cache clusters (DescribeCacheClusters then reports each member with its
  CacheParameterGroup and SecurityGroups, as AWS does);
* ModifyReplicationGroup, IncreaseReplicaCount, DecreaseReplicaCount and
  ModifyReplicationGroupShardConfiguration on moto's replication group objects;
* DeleteReplicationGroup / DeleteCacheCluster: the resource is gone afterwards (moto keeps
  it in "deleting" forever).

* In-transit encryption changed on a running group (ModifyReplicationGroup
  TransitEncryptionEnabled / TransitEncryptionMode, Redis OSS 7.0.5 and later): on only in
  `preferred` mode, `required` only from `preferred`, off only from `preferred`; groups
  created with TLS on report mode `required` unless `preferred` was asked (moto took any
  value, on any version, in one step).

Changes apply at once (ApplyImmediately=false is accepted but not deferred).

Busy states and AWS's validation (issue 7): replication groups are `creating` for
GLINFRA_EMULATOR_ELASTICACHE_CREATE_SECONDS and `modifying` for
GLINFRA_EMULATOR_ELASTICACHE_MODIFY_SECONDS after each change; meanwhile changes, deletion
and tagging are InvalidReplicationGroupState. Engine versions come from a catalogue ("Cannot
find version X for redis"), the parameter group's family must be the engine version's
("Expected a parameter group of family redis7 but found one of family redis6.x"), versions
are never downgraded, and replica and node counts keep to AWS's limits (5 replicas per shard,
6 clusters without cluster mode, 90 shards / 90 nodes per cluster by default).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localstack.aws.api import RequestContext

from glinfra_localstack.base import (
    AwsError,
    BusyStatesProvider,
    RegionStores,
    env_seconds,
    forward_to_moto,
    forward_with,
    moto_render,
    now,
    operation,
)

REDIS_FAMILIES = ["redis2.6", "redis2.8", "redis3.2", "redis4.0", "redis5.0", "redis6.x", "redis7", "valkey7", "valkey8"]
MEMCACHED_FAMILIES = ["memcached1.4", "memcached1.5", "memcached1.6"]
FAMILIES = REDIS_FAMILIES + MEMCACHED_FAMILIES
# families whose default groups include a ".cluster.on" variant
CLUSTER_FAMILIES = ["redis3.2", "redis4.0", "redis5.0", "redis6.x", "redis7", "valkey7", "valkey8"]

YES_NO = "yes,no"


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    data_type: str  # string | integer
    allowed: str
    modifiable: bool
    change_type: str  # immediate | requires-reboot
    description: str
    min_engine: str = "2.6.13"


REDIS_PARAMS = [
    Param("activedefrag", "no", "string", YES_NO, True, "immediate", "Enabled active memory defragmentation", "4.0.9"),
    Param("activerehashing", "yes", "string", YES_NO, True, "requires-reboot", "Apply rehashing or not."),
    Param("appendfsync", "everysec", "string", "always,everysec,no", True, "immediate", "fsync policy for AOF persistence"),
    Param("appendonly", "no", "string", YES_NO, True, "immediate", "Enable Redis persistence."),
    Param("client-output-buffer-limit-pubsub-hard-limit", "33554432", "integer", "0-", True, "immediate", "Pub/Sub client output buffer hard limit in bytes."),
    Param("cluster-enabled", "no", "string", YES_NO, True, "requires-reboot", "Enable cluster mode", "3.2.4"),
    Param("cluster-require-full-coverage", "no", "string", YES_NO, True, "immediate", "Whether cluster becomes unavailable if one or more slots are not covered", "3.2.4"),
    Param("databases", "16", "integer", "1-1200000", True, "requires-reboot", "Set the number of databases."),
    Param("lazyfree-lazy-eviction", "no", "string", YES_NO, True, "immediate", "Perform an asynchronous delete on evictions", "4.0.10"),
    Param("lazyfree-lazy-expire", "no", "string", YES_NO, True, "immediate", "Perform an asynchronous delete on expired keys", "4.0.10"),
    Param("lua-time-limit", "5000", "integer", "5000", False, "immediate", "Max execution time of a Lua script in milliseconds. 0 for unlimited execution without warnings."),
    Param("maxclients", "65000", "integer", "1-65000", False, "requires-reboot", "The maximum number of Redis clients."),
    Param("maxmemory-policy", "volatile-lru", "string", "volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,volatile-ttl,noeviction", True, "immediate", "Max memory policy."),
    Param("maxmemory-samples", "3", "integer", "1-", True, "immediate", "Max memory samples."),
    Param("min-replicas-max-lag", "10", "integer", "0-", True, "immediate", "The maximum amount of replica lag in seconds beyond which the master would stop taking writes."),
    Param("min-replicas-to-write", "0", "integer", "0-", True, "immediate", "The minimum number of replicas that must be present to accept writes."),
    Param("notify-keyspace-events", "", "string", "", True, "immediate", "The keyspace events for Redis to notify Pub/Sub subscribers on."),
    Param("repl-backlog-size", "1048576", "integer", "16384-", True, "immediate", "The replication backlog size in bytes for PSYNC."),
    Param("repl-backlog-ttl", "3600", "integer", "0-", True, "immediate", "The amount of time in seconds after the master no longer has any replicas before the backlog is released."),
    Param("reserved-memory-percent", "25", "integer", "0-100", True, "immediate", "The percent of memory reserved for non-cache memory usage."),
    Param("slowlog-log-slower-than", "10000", "integer", "-", True, "immediate", "The execution time, in microseconds, to exceed in order for the command to get logged."),
    Param("slowlog-max-len", "128", "integer", "0-", True, "immediate", "The length of the slow log."),
    Param("tcp-keepalive", "300", "integer", "0-", True, "immediate", "If non-zero, send ACKs every given number of seconds."),
    Param("timeout", "0", "integer", "0,20-", True, "immediate", "Close connection if client is idle for a given number of seconds, or never if 0."),
]

MEMCACHED_PARAMS = [
    Param("binding_protocol", "auto", "string", "auto,binary,ascii", True, "requires-reboot", "Binding protocol.", "1.4.5"),
    Param("cas_disabled", "0", "boolean", "0,1", True, "requires-reboot", "If true (1), disable the use of CAS.", "1.4.5"),
    Param("chunk_size", "48", "integer", "1-", True, "requires-reboot", "Minimum allocated space for key+value+flags.", "1.4.5"),
    Param("chunk_size_growth_factor", "1.25", "numeric", "1-2", True, "requires-reboot", "Chunk size growth factor.", "1.4.5"),
    Param("idle_timeout", "0", "integer", "0-", True, "immediate", "Time in seconds before an idle client is disconnected.", "1.4.33"),
    Param("max_item_size", "1048576", "integer", "1048576-134217728", True, "requires-reboot", "The size of the largest item storable in the cache, in bytes.", "1.4.5"),
    Param("max_simultaneous_connections", "65000", "integer", "3-65000", False, "requires-reboot", "The maximum number of simultaneous connections.", "1.4.5"),
]


def catalogue(family: str) -> list[Param]:
    return MEMCACHED_PARAMS if family.startswith("memcached") else REDIS_PARAMS


def engine_of(family: str) -> str:
    if family.startswith("memcached"):
        return "memcached"
    if family.startswith("valkey"):
        return "valkey"
    return "redis"


def family_for(engine: str | None, version: str | None) -> str:
    engine = (engine or "redis").lower()
    version = version or ("8.0" if engine == "valkey" else "1.6.22" if engine == "memcached" else "7.1")
    major = version.split(".")[0]
    if engine == "memcached":
        return "memcached1.6" if version.startswith("1.6") else "memcached1.5" if version.startswith("1.5") else "memcached1.4"
    if engine == "valkey":
        return f"valkey{major}"
    if major in ("7", "8"):
        return "redis7"
    if major == "6":
        return "redis6.x"
    return f"redis{'.'.join(version.split('.')[:2])}"


# Engine versions ElastiCache offers (ElastiCache User Guide, "Supported engines and
# versions"; DescribeCacheEngineVersions). Redis OSS 6 may be given as "6.x" (the latest 6).
ENGINE_VERSIONS = {
    "redis": [
        "2.6.13", "2.8.6", "2.8.19", "2.8.21", "2.8.22", "2.8.23", "2.8.24", "3.2.4", "3.2.6", "3.2.10",
        "4.0.10", "5.0.0", "5.0.3", "5.0.4", "5.0.5", "5.0.6", "6.0", "6.2", "6.x", "7.0", "7.1",
    ],
    "valkey": ["7.2", "8.0", "8.1", "8.2"],
    "memcached": [
        "1.4.5", "1.4.14", "1.4.24", "1.4.33", "1.4.34", "1.5.10", "1.5.16", "1.6.6", "1.6.12", "1.6.17", "1.6.22",
    ],
}
DEFAULT_VERSIONS = {"redis": "7.1", "valkey": "8.0", "memcached": "1.6.22"}
# default quotas (ElastiCache User Guide, "Quotas for ElastiCache"): shards and nodes per
# cluster-mode-enabled cluster; replicas per shard; clusters of a cluster-mode-disabled group
MAX_SHARDS = 90
MAX_NODES = 90
MAX_REPLICAS = 5
MAX_CACHE_CLUSTERS = 6


def version_key(version: str) -> tuple[int, ...]:
    return tuple(99 if part == "x" else int(part) if part.isdigit() else 0 for part in version.split("."))


def check_version(engine: str | None, version: str | None) -> str:
    """The engine version to use (AWS's default when none is given); unknown versions are
    refused as AWS does ("InvalidParameterCombination: Cannot find version 7.4 for redis")."""
    engine = (engine or "redis").lower()
    known = ENGINE_VERSIONS.get(engine)
    if known is None:
        raise invalid_value(f"Invalid value for Engine: {engine}. Valid values: redis, valkey, memcached.")
    if not version:
        return DEFAULT_VERSIONS[engine]
    if version not in known:
        raise AwsError("InvalidParameterCombination", f"Cannot find version {version} for {engine}", 400)
    return version


# the patch release ElastiCache runs for an engine version named by major.minor
RUNNING_PATCH = {"7.0": "7.0.7", "7.1": "7.1.0"}
TRANSIT_MODES = ("preferred", "required")


def transit_modifiable(engine: str | None, version: str | None) -> bool:
    """In-transit encryption can be turned on or off on a running group from Redis OSS 7.0.5
    (and on every Valkey version) ("Enabling in-transit encryption", ElastiCache User Guide)."""
    if (engine or "redis").lower() == "valkey":
        return True
    version = RUNNING_PATCH.get(version or "", version or "")
    return version_key(version) >= (7, 0, 5)


def check_transit_mode(mode: str | None) -> str | None:
    if mode is None:
        return None
    if mode not in TRANSIT_MODES:
        raise invalid_value(f"Invalid value for TransitEncryptionMode: {mode}. Valid values: preferred, required.")
    return mode


def family_mismatch(wanted: str, found: str) -> AwsError:
    return AwsError(
        "InvalidParameterCombination", f"Expected a parameter group of family {wanted} but found one of family {found}", 400
    )


def create_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_ELASTICACHE_CREATE_SECONDS", modify_seconds())


def modify_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_ELASTICACHE_MODIFY_SECONDS", 1.0)


@dataclass
class Busy:
    """A replication group's transitional status until `until`."""

    status: str
    until: datetime


def not_available(message: str = "Replication group must be in available state to modify.") -> AwsError:
    return AwsError("InvalidReplicationGroupState", message, 400)


def invalid_value(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def invalid_combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def group_not_found(name: str) -> AwsError:
    return AwsError("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)


@dataclass
class ParameterGroup:
    name: str
    family: str
    description: str
    arn: str
    is_default: bool = False
    values: dict[str, str] = field(default_factory=dict)  # user-set values

    def value(self, param: Param) -> str:
        return self.values.get(param.name, param.default)

    def cluster_enabled(self) -> bool:
        return self.values.get("cluster-enabled", "no") == "yes"


def _defaults(account: str, region: str) -> dict[str, ParameterGroup]:
    groups: dict[str, ParameterGroup] = {}
    for family in FAMILIES:
        name = f"default.{family}"
        groups[name] = ParameterGroup(
            name, family, f"Default parameter group for {family}", _arn(account, region, name), True
        )
        if family in CLUSTER_FAMILIES:
            cname = f"{name}.cluster.on"
            groups[cname] = ParameterGroup(
                cname,
                family,
                f"Customized default parameter group for {family} with cluster mode on",
                _arn(account, region, cname),
                True,
                {"cluster-enabled": "yes"},
            )
    return groups


def _arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:elasticache:{region}:{account}:parametergroup:{name}"


class ElastiCacheStore:
    def __init__(self) -> None:
        self.groups: dict[str, ParameterGroup] | None = None
        self.busy: dict[str, Busy] = {}  # replication group id -> transitional status


stores = RegionStores(ElastiCacheStore)


def _check_allowed(param: Param, value: str) -> None:
    if not param.modifiable:
        raise invalid_value(f"Parameter {param.name} is not modifiable.")
    if value is None:
        raise invalid_value(f"A value must be given for parameter {param.name}.")
    allowed = param.allowed
    if not allowed:
        return
    if param.data_type == "integer":
        try:
            number = int(value)
        except ValueError:
            raise invalid_value(f"Value {value} for parameter {param.name} is invalid: not an integer.")
        for part in allowed.split(","):
            if "-" in part and part != "-":
                low, high = part.split("-", 1)
                if (not low or number >= int(low)) and (not high or number <= int(high)):
                    return
            elif part == "-" or part == str(number):
                return
        raise invalid_value(f"Value {value} for parameter {param.name} is invalid. Allowed values: {allowed}.")
    if param.data_type == "string" and "," in allowed or allowed in ("yes", "no"):
        if value not in allowed.split(","):
            raise invalid_value(f"Value {value} for parameter {param.name} is invalid. Allowed values: {allowed}.")


class ElastiCacheProvider(BusyStatesProvider):
    service = "elasticache"

    # ------------------------------------------------------------------ busy states
    def _advance(self) -> None:
        from moto.elasticache.models import elasticache_backends

        t = now()
        for (account, region), store in stores.items():
            if not store.busy:
                continue
            backend = elasticache_backends[account][region]
            for rg_id, busy in list(store.busy.items()):
                rg = backend.replication_groups.get(rg_id)
                if rg is None:
                    del store.busy[rg_id]
                    continue
                status = busy.status if t < busy.until else "available"
                if status == "available":
                    del store.busy[rg_id]
                self._set_status(backend, rg, status)

    @staticmethod
    def _set_status(backend, rg, status: str) -> None:
        rg.status = status
        for ng in rg.node_groups:
            ng["status"] = status
        for cid in rg.member_clusters:
            cc = backend.cache_clusters.get(cid)
            if cc is not None:
                cc.cache_cluster_status = status

    def _busy_for(self, context: RequestContext, rg, status: str, seconds: float) -> None:
        stores(context).busy[rg.replication_group_id] = Busy(status, now() + timedelta(seconds=seconds))
        self._set_status(self._backend(context), rg, status)

    @staticmethod
    def _require_available(rg, message: str = "Replication group must be in available state to modify.") -> None:
        if rg.status != "available":
            raise not_available(message)

    def _decorate(self, context: RequestContext, result: dict) -> None:
        groups = list(result.get("ReplicationGroups") or [])
        if isinstance(result.get("ReplicationGroup"), dict):
            groups.append(result["ReplicationGroup"])
        for group in groups:
            if group.get("Status") == "creating":
                # no endpoints until the group has been created
                group.pop("ConfigurationEndpoint", None)

    def _check_family(self, group: ParameterGroup, engine: str | None, version: str) -> None:
        wanted = family_for(engine, version)
        if group.family != wanted:
            raise family_mismatch(wanted, group.family)

    @staticmethod
    def _check_nodes(shards: int, replicas: list[int]) -> None:
        """Default quotas of a cluster-mode-enabled group (NodeGroupsPerReplicationGroupQuotaExceeded,
        NodeQuotaForClusterExceeded)."""
        if shards > MAX_SHARDS:
            raise AwsError(
                "NodeGroupsPerReplicationGroupQuotaExceeded",
                f"The request cannot be processed because it would exceed the maximum allowed number of node groups "
                f"(shards) in a single replication group. The default maximum is {MAX_SHARDS}",
                400,
            )
        nodes = sum(n + 1 for n in replicas)
        if nodes > MAX_NODES:
            raise AwsError(
                "NodeQuotaForClusterExceeded",
                f"The request cannot be processed because it would exceed the allowed number of cache nodes in a single "
                f"cluster ({nodes} > {MAX_NODES}).",
                400,
            )

    # ------------------------------------------------------------------ helpers
    def _backend(self, context: RequestContext):
        from moto.elasticache.models import elasticache_backends

        return elasticache_backends[context.account_id][context.region]

    def _groups(self, context: RequestContext) -> dict[str, ParameterGroup]:
        store = stores(context)
        if store.groups is None:
            store.groups = _defaults(context.account_id, context.region)
        return store.groups

    def _group(self, context: RequestContext, name: str) -> ParameterGroup:
        group = self._groups(context).get(name or "")
        if group is None:
            raise group_not_found(name)
        return group

    def _group_users(self, context: RequestContext, name: str) -> list[str]:
        backend = self._backend(context)
        users = [rg.replication_group_id for rg in backend.replication_groups.values() if rg.cache_parameter_group_name == name]
        users += [
            cc.cache_cluster_id
            for cc in backend.cache_clusters.values()
            if cc.cache_parameter_group_name == name and not getattr(cc, "replication_group_id", None)
        ]
        return users

    # ------------------------------------------------------------------ parameter groups
    @operation("CreateCacheParameterGroup")
    def create_cache_parameter_group(self, context: RequestContext, request: dict) -> dict:
        groups = self._groups(context)
        name = request.get("CacheParameterGroupName") or ""
        family = request.get("CacheParameterGroupFamily") or ""
        if name.lower() in {g.lower() for g in groups}:
            raise AwsError("CacheParameterGroupAlreadyExists", f"Parameter group {name} already exists.", 400)
        if not name or name.startswith("default.") or len(name) > 255:
            raise invalid_value(f"Invalid parameter group name: {name}")
        if family not in FAMILIES:
            raise invalid_value(
                f"Invalid value for parameter CacheParameterGroupFamily: {family}. Valid values: {', '.join(FAMILIES)}."
            )
        group = ParameterGroup(name, family, request.get("Description") or "", _arn(context.account_id, context.region, name))
        groups[name] = group
        if request.get("Tags"):
            self._backend(context).tagging_service.tag_resource(group.arn, request["Tags"])
        return {"CacheParameterGroup": self._group_view(group)}

    @staticmethod
    def _group_view(group: ParameterGroup) -> dict:
        return {
            "CacheParameterGroupName": group.name,
            "CacheParameterGroupFamily": group.family,
            "Description": group.description,
            "IsGlobal": False,
            "ARN": group.arn,
        }

    @operation("DescribeCacheParameterGroups")
    def describe_cache_parameter_groups(self, context: RequestContext, request: dict) -> dict:
        name = request.get("CacheParameterGroupName")
        if name:
            groups = [self._group(context, name)]
        else:
            groups = sorted(self._groups(context).values(), key=lambda g: (not g.is_default, g.name))
        page, marker = _page(groups, request)
        result: dict[str, Any] = {"CacheParameterGroups": [self._group_view(g) for g in page]}
        if marker:
            result["Marker"] = marker
        return result

    @operation("DescribeCacheParameters")
    def describe_cache_parameters(self, context: RequestContext, request: dict) -> dict:
        group = self._group(context, request.get("CacheParameterGroupName"))
        source = request.get("Source")
        if source and source not in ("user", "system", "engine-default"):
            raise invalid_value(f"Invalid value for Source: {source}. Valid values: user, system, engine-default.")
        params = []
        for p in catalogue(group.family):
            p_source = "user" if p.name in group.values and not group.is_default else "system"
            if source == "user" and p_source != "user":
                continue
            if source == "system" and p_source != "system":
                continue
            if source == "engine-default":
                value = p.default
            else:
                value = group.value(p)
            entry = {
                "ParameterName": p.name,
                "Description": p.description,
                "Source": p_source,
                "DataType": p.data_type,
                "IsModifiable": p.modifiable,
                "MinimumEngineVersion": p.min_engine,
                "ChangeType": p.change_type,
            }
            if value != "":
                entry["ParameterValue"] = value
            if p.allowed:
                entry["AllowedValues"] = p.allowed
            params.append(entry)
        page, marker = _page(params, request)
        result: dict[str, Any] = {"Parameters": page, "CacheNodeTypeSpecificParameters": []}
        if marker:
            result["Marker"] = marker
        return result

    def _modifiable_group(self, context: RequestContext, name: str) -> ParameterGroup:
        group = self._group(context, name)
        if group.is_default:
            raise invalid_value(f"Default parameter group {name} cannot be modified.")
        return group

    @operation("ModifyCacheParameterGroup")
    def modify_cache_parameter_group(self, context: RequestContext, request: dict) -> dict:
        group = self._modifiable_group(context, request.get("CacheParameterGroupName"))
        values = request.get("ParameterNameValues") or []
        if not values:
            raise invalid_value("ParameterNameValues must contain at least one parameter.")
        known = {p.name: p for p in catalogue(group.family)}
        changes = {}
        for item in values:
            name = item.get("ParameterName")
            param = known.get(name)
            if param is None:
                raise invalid_value(f"Unknown parameter {name} for parameter group family {group.family}.")
            value = item.get("ParameterValue")
            if value is None:
                value = ""
            if value != "" or param.name != "notify-keyspace-events":
                _check_allowed(param, value)
            changes[name] = value
        if "cluster-enabled" in changes and self._group_users(context, group.name):
            raise AwsError(
                "InvalidCacheParameterGroupState",
                f"Parameter cluster-enabled of {group.name} cannot be changed while the group is in use.",
                400,
            )
        group.values.update(changes)
        return {"CacheParameterGroupName": group.name}

    @operation("ResetCacheParameterGroup")
    def reset_cache_parameter_group(self, context: RequestContext, request: dict) -> dict:
        group = self._modifiable_group(context, request.get("CacheParameterGroupName"))
        reset_all = bool(request.get("ResetAllParameters"))
        names = [i.get("ParameterName") for i in request.get("ParameterNameValues") or []]
        if reset_all and names:
            raise invalid_combination("Specify either ResetAllParameters or ParameterNameValues, not both.")
        if not reset_all and not names:
            raise invalid_combination("Specify ResetAllParameters=true or the ParameterNameValues to reset.")
        known = {p.name for p in catalogue(group.family)}
        for name in names:
            if name not in known:
                raise invalid_value(f"Unknown parameter {name} for parameter group family {group.family}.")
        cluster_enabled = group.values.get("cluster-enabled")
        if reset_all:
            group.values.clear()
        else:
            for name in names:
                group.values.pop(name, None)
        # AWS keeps cluster-enabled on reset: it defines the group's cluster mode
        if cluster_enabled is not None:
            group.values["cluster-enabled"] = cluster_enabled
        return {"CacheParameterGroupName": group.name}

    @operation("DeleteCacheParameterGroup")
    def delete_cache_parameter_group(self, context: RequestContext, request: dict) -> dict:
        name = request.get("CacheParameterGroupName")
        group = self._group(context, name)
        if group.is_default:
            raise invalid_value(f"Default parameter group {name} cannot be deleted.")
        users = self._group_users(context, name)
        if users:
            raise AwsError(
                "InvalidCacheParameterGroupState",
                f"Parameter group {name} is in use by {', '.join(sorted(users))} and cannot be deleted.",
                400,
            )
        del self._groups(context)[name]
        return {}

    # tags on parameter groups (moto's ARN check knows no parametergroup resources)
    def _is_group_arn(self, arn: str | None) -> bool:
        return bool(arn) and ":parametergroup:" in arn

    def _tag_target(self, context: RequestContext, arn: str) -> None:
        name = arn.rsplit(":parametergroup:", 1)[1]
        self._group(context, name)

    def _check_taggable(self, context: RequestContext, arn: str | None) -> None:
        """AWS tags a replication group only while it is available (ListTagsForResource,
        AddTagsToResource, RemoveTagsFromResource: InvalidReplicationGroupState)."""
        if arn and ":replicationgroup:" in arn:
            rg = self._backend(context).replication_groups.get(arn.rsplit(":", 1)[1])
            if rg is not None:
                self._require_available(rg, "Cluster not in available state to perform tagging operations.")

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, context: RequestContext, request: dict):
        self._check_taggable(context, request.get("ResourceName"))
        if not self._is_group_arn(request.get("ResourceName")):
            return forward_to_moto(context)
        self._tag_target(context, request["ResourceName"])
        return _tag_list(self._backend(context), request["ResourceName"])

    @operation("AddTagsToResource")
    def add_tags_to_resource(self, context: RequestContext, request: dict):
        self._check_taggable(context, request.get("ResourceName"))
        if not self._is_group_arn(request.get("ResourceName")):
            return forward_to_moto(context)
        self._tag_target(context, request["ResourceName"])
        tagging = self._backend(context).tagging_service
        tagging.tag_resource(request["ResourceName"], request.get("Tags") or [])
        return _tag_list(self._backend(context), request["ResourceName"])

    @operation("RemoveTagsFromResource")
    def remove_tags_from_resource(self, context: RequestContext, request: dict):
        self._check_taggable(context, request.get("ResourceName"))
        if not self._is_group_arn(request.get("ResourceName")):
            return forward_to_moto(context)
        self._tag_target(context, request["ResourceName"])
        tagging = self._backend(context).tagging_service
        tagging.untag_resource_using_names(request["ResourceName"], request.get("TagKeys") or [])
        return _tag_list(self._backend(context), request["ResourceName"])

    # ------------------------------------------------------------------ subnet groups
    def _subnet_group(self, context: RequestContext, name: str):
        group = self._backend(context).cache_subnet_groups.get(name or "")
        if group is None:
            raise AwsError("CacheSubnetGroupNotFoundFault", f"CacheSubnetGroup {name} not found.", 400)
        return group

    @operation("ModifyCacheSubnetGroup")
    def modify_cache_subnet_group(self, context: RequestContext, request: dict) -> dict:
        from moto.elasticache.models import CacheSubnetGroup

        backend = self._backend(context)
        name = request.get("CacheSubnetGroupName")
        old = self._subnet_group(context, name)
        subnet_ids = request.get("SubnetIds")
        description = request.get("CacheSubnetGroupDescription")
        if subnet_ids is not None:
            if not subnet_ids:
                raise invalid_value("SubnetIds must contain at least one subnet.")
            in_use_vpc = self._vpc_in_use(context, name)
            # rebuild with moto's constructor so subnets, AZs and network types are derived as on create
            new = CacheSubnetGroup(
                account_id=context.account_id,
                region_name=context.region,
                cache_subnet_group_name=name,
                cache_subnet_group_description=description if description is not None else old.cache_subnet_group_description,
                subnet_ids=list(subnet_ids),
                tags=old.tags,
            )
            if in_use_vpc and new.vpc_id != old.vpc_id:
                raise AwsError(
                    "SubnetInUse",
                    f"The subnet group {name} is in use; its new subnets must stay in VPC {old.vpc_id}.",
                    400,
                )
            new.arn = old.arn
            _fix_subnet_azs(new)
            backend.cache_subnet_groups[name] = new
            group = new
        else:
            if description is not None:
                old.cache_subnet_group_description = description
            group = old
        return moto_render(context, {"CacheSubnetGroup": group})

    @operation("CreateCacheSubnetGroup")
    def create_cache_subnet_group(self, context: RequestContext, request: dict):
        response = forward_to_moto(context)
        if isinstance(response, dict):
            group = self._backend(context).cache_subnet_groups.get(request.get("CacheSubnetGroupName"))
            if group is not None:
                _fix_subnet_azs(group)
                response = moto_render(context, {"CacheSubnetGroup": group})
        return response

    def _vpc_in_use(self, context: RequestContext, name: str) -> bool:
        backend = self._backend(context)
        return any(rg.cache_subnet_group_name == name for rg in backend.replication_groups.values()) or any(
            cc.cache_subnet_group_name == name for cc in backend.cache_clusters.values()
        )

    @operation("DeleteCacheSubnetGroup")
    def delete_cache_subnet_group(self, context: RequestContext, request: dict) -> dict:
        backend = self._backend(context)
        name = request.get("CacheSubnetGroupName")
        group = self._subnet_group(context, name)
        if self._vpc_in_use(context, name):
            raise AwsError("CacheSubnetGroupInUse", f"Cache subnet group {name} is currently in use by a cache cluster.", 400)
        del backend.cache_subnet_groups[name]
        backend.tagging_service.delete_all_tags_for_resource(group.arn)
        return {}

    # ------------------------------------------------------------------ replication groups
    def _resolve_group_for(self, context: RequestContext, request: dict) -> ParameterGroup | None:
        name = request.get("CacheParameterGroupName")
        if name:
            return self._group(context, name)
        return None

    @operation("CreateReplicationGroup")
    def create_replication_group(self, context: RequestContext, request: dict):
        params = dict(request)
        group = self._resolve_group_for(context, params)
        if params.get("CacheSubnetGroupName"):
            self._subnet_group(context, params["CacheSubnetGroupName"])
        engine = (params.get("Engine") or "redis").lower()
        if engine == "memcached":
            raise invalid_value("Replication groups are for Redis OSS and Valkey; memcached clusters are CreateCacheCluster's.")
        params["EngineVersion"] = check_version(engine, params.get("EngineVersion"))
        if group is not None:
            self._check_family(group, engine, params["EngineVersion"])
        replicas = params.get("ReplicasPerNodeGroup")
        if replicas is not None and not 0 <= int(replicas) <= MAX_REPLICAS:
            raise invalid_value(f"ReplicasPerNodeGroup must be between 0 and {MAX_REPLICAS}.")
        for conf in params.get("NodeGroupConfiguration") or []:
            if conf.get("ReplicaCount") is not None and not 0 <= int(conf["ReplicaCount"]) <= MAX_REPLICAS:
                raise invalid_value(f"ReplicaCount must be between 0 and {MAX_REPLICAS}.")
        if params.get("NumCacheClusters") is not None and not 1 <= int(params["NumCacheClusters"]) <= MAX_CACHE_CLUSTERS:
            raise invalid_value(
                f"NumCacheClusters must be between 1 and {MAX_CACHE_CLUSTERS} (1 primary plus up to {MAX_REPLICAS} replicas)."
            )
        if params.get("MultiAZEnabled") and params.get("AutomaticFailoverEnabled") is False:
            raise invalid_combination("Multi-AZ requires automatic failover to be enabled.")
        if params.get("MultiAZEnabled") and "AutomaticFailoverEnabled" not in params:
            raise invalid_combination("Multi-AZ requires automatic failover to be enabled.")
        mode = (params.get("ClusterMode") or "").lower()
        if group is not None and group.family.startswith("memcached"):
            raise invalid_combination(f"Parameter group {group.name} is for memcached, not {params.get('Engine') or 'redis'}.")
        if group is not None:
            if not mode:
                mode = "enabled" if group.cluster_enabled() else "disabled"
                params["ClusterMode"] = mode
            elif mode == "enabled" and not group.cluster_enabled():
                raise invalid_combination(
                    f"Cluster mode enabled requires a parameter group with cluster-enabled=yes; {group.name} has cluster-enabled=no."
                )
            elif mode == "disabled" and group.cluster_enabled():
                raise invalid_combination(
                    f"Cluster mode disabled requires a parameter group with cluster-enabled=no; {group.name} has cluster-enabled=yes."
                )
        elif mode == "enabled" or (not mode and int(params.get("NumNodeGroups") or 1) > 1):
            params["ClusterMode"] = "enabled"
        if params.get("ClusterMode", "").lower() == "enabled" and params.get("AutomaticFailoverEnabled") is False:
            raise invalid_combination("Automatic failover must be enabled for Redis with cluster mode enabled.")
        if params.get("ClusterMode", "").lower() != "enabled":
            # moto sizes a cluster-mode-disabled group from ReplicasPerNodeGroup only and
            # ignores NumCacheClusters (AWS: primary + replicas = NumCacheClusters)
            if params.get("NumCacheClusters") and params.get("ReplicasPerNodeGroup") is None:
                params["ReplicasPerNodeGroup"] = int(params["NumCacheClusters"]) - 1
            members = int(params.get("NumCacheClusters") or (int(params.get("ReplicasPerNodeGroup") or 0) + 1))
            if params.get("AutomaticFailoverEnabled") and members < 2:
                raise invalid_combination("Automatic failover requires at least one read replica (NumCacheClusters >= 2).")
        if not params.get("CacheParameterGroupName"):
            family = family_for(params.get("Engine"), params.get("EngineVersion"))
            default = f"default.{family}"
            if params.get("ClusterMode", "").lower() == "enabled" and family in CLUSTER_FAMILIES:
                default += ".cluster.on"
            params["CacheParameterGroupName"] = default
        if params.get("ClusterMode", "").lower() == "enabled":
            confs = params.get("NodeGroupConfiguration") or []
            shards = int(params.get("NumNodeGroups") or len(confs) or 1)
            per_shard = int(params.get("ReplicasPerNodeGroup") or 0)
            counts = [int(c["ReplicaCount"]) if c.get("ReplicaCount") is not None else per_shard for c in confs]
            counts += [per_shard] * (shards - len(counts))
            self._check_nodes(shards, counts)
        transit_mode = check_transit_mode(params.get("TransitEncryptionMode"))
        if transit_mode and not params.get("TransitEncryptionEnabled"):
            raise invalid_combination("TransitEncryptionMode requires TransitEncryptionEnabled to be true.")
        if transit_mode and not transit_modifiable(engine, params["EngineVersion"]):
            raise invalid_combination(
                f"TransitEncryptionMode is supported from Redis OSS 7.0.5; version {params['EngineVersion']} was given."
            )
        response = forward_with(context, params)
        if isinstance(response, dict):
            rg = self._backend(context).replication_groups.get(params["ReplicationGroupId"])
            if rg is not None:
                if rg.transit_encryption_enabled and transit_modifiable(engine, rg.engine_version):
                    rg.transit_encryption_mode = transit_mode or "required"
                elif not rg.transit_encryption_enabled:
                    rg.transit_encryption_mode = None
                self._register_members(context, rg)
                self._busy_for(context, rg, "creating", create_seconds())
                response = moto_render(context, {"ReplicationGroup": rg})
                self._decorate(context, response)
        return response

    def _register_members(self, context: RequestContext, rg) -> None:
        """Creates moto cache clusters for the replication group's members (as AWS lists them)."""
        from moto.elasticache.models import CacheCluster

        backend = self._backend(context)
        wanted = set(rg.member_clusters)
        for cid in list(backend.cache_clusters):
            cc = backend.cache_clusters[cid]
            if getattr(cc, "replication_group_id", None) == rg.replication_group_id and cid not in wanted:
                del backend.cache_clusters[cid]
        azs = {}
        for ng in rg.node_groups:
            for member in ng.get("node_group_members", []):
                azs[member.get("cache_cluster_id")] = member.get("preferred_availability_zone")
        fields = inspect.signature(CacheCluster.__init__).parameters
        for cid in rg.member_clusters:
            if cid in backend.cache_clusters:
                cc = backend.cache_clusters[cid]
            else:
                kwargs: dict[str, Any] = {name: None for name in fields if name != "self"}
                kwargs.update(
                    account_id=context.account_id,
                    region_name=context.region,
                    cache_cluster_id=cid,
                    cache_node_type=rg.cache_node_type,
                    replication_group_id=rg.replication_group_id,
                    preferred_availability_zone=azs.get(cid) or f"{context.region}a",
                    num_cache_nodes=1,
                    engine=rg.engine,
                    engine_version=rg.engine_version,
                    cache_parameter_group_name=rg.cache_parameter_group_name,
                    cache_subnet_group_name=rg.cache_subnet_group_name,
                    transit_encryption_enabled=rg.transit_encryption_enabled,
                    security_group_ids=rg.security_group_ids,
                    port=rg.port,
                    snapshot_retention_limit=rg.snapshot_retention_limit,
                    snapshot_window=rg.snapshot_window,
                    preferred_maintenance_window=rg.preferred_maintenance_window,
                    auto_minor_version_upgrade=rg.auto_minor_version_upgrade,
                    log_delivery_configurations=[],
                )
                kwargs = {k: v for k, v in kwargs.items() if k in fields}
                cc = CacheCluster(**kwargs)
                # moto only keeps these for engine == "redis"
                cc.replication_group_id = rg.replication_group_id
                cc.num_cache_nodes = 1
                backend.cache_clusters[cid] = cc
            self._sync_member(rg, cc)

    @staticmethod
    def _sync_member(rg, cc) -> None:
        cc.cache_parameter_group_name = rg.cache_parameter_group_name
        cc.cache_parameter_group = {
            "CacheParameterGroupName": rg.cache_parameter_group_name,
            "ParameterApplyStatus": "in-sync",
            "CacheNodeIdsToReboot": [],
        }
        cc.cache_node_type = rg.cache_node_type
        cc.engine_version = rg.engine_version
        cc.snapshot_retention_limit = rg.snapshot_retention_limit
        cc.transit_encryption_enabled = rg.transit_encryption_enabled
        cc.at_rest_encryption_enabled = rg.at_rest_encryption_enabled
        cc.replication_group_log_delivery_enabled = False
        # AWS lists a member's VPC security groups as SecurityGroups (SecurityGroupMembership);
        # moto keeps only the ids and leaves the member out of the answer.
        cc.security_group_ids = list(rg.security_group_ids or [])
        cc.security_groups = [{"SecurityGroupId": sg, "Status": "active"} for sg in cc.security_group_ids]

    def _rg(self, context: RequestContext, rg_id: str):
        rg = self._backend(context).replication_groups.get(rg_id or "")
        if rg is None or rg.status == "deleting":
            raise AwsError("ReplicationGroupNotFoundFault", f"Replication group {rg_id} not found.", 404)
        return rg

    @operation("ModifyReplicationGroup")
    def modify_replication_group(self, context: RequestContext, request: dict) -> dict:
        rg = self._rg(context, request.get("ReplicationGroupId"))
        self._require_available(rg)
        r = request
        engine = (r.get("Engine") or rg.engine or "redis").lower()
        version = rg.engine_version or DEFAULT_VERSIONS.get(engine, "7.1")
        if r.get("EngineVersion"):
            version = check_version(engine, r["EngineVersion"])
            if version_key(version) < version_key(rg.engine_version or version):
                raise invalid_combination(
                    f"Cannot downgrade {engine} from version {rg.engine_version} to {version}: engine versions can only be upgraded."
                )
        wanted_family = family_for(engine, version)
        if r.get("CacheParameterGroupName"):
            self._check_family(self._group(context, r["CacheParameterGroupName"]), engine, version)
        elif r.get("EngineVersion"):
            current = self._groups(context).get(rg.cache_parameter_group_name or "")
            if current is not None and current.family != wanted_family:
                if not current.is_default:
                    raise family_mismatch(wanted_family, current.family)
                # a default group follows the engine version
                default = f"default.{wanted_family}"
                if current.cluster_enabled() and wanted_family in CLUSTER_FAMILIES:
                    default += ".cluster.on"
                r = dict(r, CacheParameterGroupName=default)
        failover = r.get("AutomaticFailoverEnabled")
        multi_az = r.get("MultiAZEnabled")
        new_failover = rg.automatic_failover == "enabled" if failover is None else bool(failover)
        new_multi_az = rg.multi_az == "enabled" if multi_az is None else bool(multi_az)
        if new_multi_az and not new_failover:
            raise invalid_combination("Multi-AZ requires automatic failover to be enabled.")
        if rg.cluster_mode == "enabled" and failover is False:
            raise invalid_combination("Automatic failover cannot be disabled for Redis with cluster mode enabled.")
        if new_failover and rg.cluster_mode != "enabled" and len(rg.member_clusters) < 2:
            raise invalid_combination("Automatic failover requires at least one read replica.")
        if r.get("CacheParameterGroupName"):
            group = self._group(context, r["CacheParameterGroupName"])
            if group.family.startswith("memcached"):
                raise invalid_combination(f"Parameter group {group.name} is for memcached.")
            if group.cluster_enabled() != (rg.cluster_mode == "enabled") and not r.get("ClusterMode"):
                raise invalid_combination(
                    f"Parameter group {group.name} has cluster-enabled={'yes' if group.cluster_enabled() else 'no'}, "
                    f"which does not match the replication group's cluster mode {rg.cluster_mode}."
                )
        transit = self._transit_change(rg, engine, r)  # checked before anything changes
        if r.get("ClusterMode"):
            target = r["ClusterMode"].lower()
            order = {"disabled": 0, "compatible": 1, "enabled": 2}
            if target not in order:
                raise invalid_value(f"Invalid ClusterMode {r['ClusterMode']}.")
            if target != rg.cluster_mode and order[target] != order.get(rg.cluster_mode, 0) + 1:
                raise invalid_combination(
                    f"ClusterMode can change from disabled to compatible and from compatible to enabled only (now {rg.cluster_mode})."
                )
            rg.cluster_mode = target
            rg.cluster_enabled = target == "enabled"
        if r.get("SnapshotRetentionLimit") is not None:
            limit = int(r["SnapshotRetentionLimit"])
            if limit < 0 or limit > 35:
                raise invalid_value("SnapshotRetentionLimit must be between 0 and 35.")
            rg.snapshot_retention_limit = limit
            rg.snapshotting_cluster_id = (rg.member_clusters[-1] if rg.member_clusters else None) if limit else None
        if failover is not None:
            rg.automatic_failover = "enabled" if failover else "disabled"
        if multi_az is not None:
            rg.multi_az = "enabled" if multi_az else "disabled"
        simple = {
            "ReplicationGroupDescription": "description",
            "SnapshotWindow": "snapshot_window",
            "CacheNodeType": "cache_node_type",
            "EngineVersion": "engine_version",
            "CacheParameterGroupName": "cache_parameter_group_name",
            "PreferredMaintenanceWindow": "preferred_maintenance_window",
            "NotificationTopicArn": "notification_topic_arn",
            "AutoMinorVersionUpgrade": "auto_minor_version_upgrade",
            "SecurityGroupIds": "security_group_ids",
            "CacheSecurityGroupNames": "cache_security_group_names",
            "IpDiscovery": "ip_discovery",
            "PrimaryClusterId": "primary_cluster_id",
            "SnapshottingClusterId": "snapshotting_cluster_id",
        }
        for key, attr in simple.items():
            if r.get(key) is not None:
                setattr(rg, attr, r[key])
        if r.get("AuthToken"):
            from moto.core.utils import utcnow

            strategy = (r.get("AuthTokenUpdateStrategy") or "ROTATE").upper()
            rg.auth_token_enabled = strategy != "DELETE"
            rg.auth_token_last_modified_date = utcnow()
        for gid in r.get("UserGroupIdsToAdd") or []:
            if gid not in rg.user_group_ids:
                rg.user_group_ids.append(gid)
        for gid in r.get("UserGroupIdsToRemove") or []:
            if gid in rg.user_group_ids:
                rg.user_group_ids.remove(gid)
        if r.get("RemoveUserGroups"):
            rg.user_group_ids = []
        if r.get("LogDeliveryConfigurations") is not None:
            rg.log_delivery_configurations = rg._get_log_delivery_configurations(
                [dict(c) for c in r["LogDeliveryConfigurations"] if c.get("Enabled", True)]
            )
        if transit is not None:
            rg.transit_encryption_enabled, rg.transit_encryption_mode = transit
        self._register_members(context, rg)
        self._busy_for(context, rg, "modifying", modify_seconds())
        return moto_render(context, {"ReplicationGroup": rg})

    @staticmethod
    def _transit_change(rg, engine: str, r: dict) -> tuple[bool, str | None] | None:
        """ModifyReplicationGroup TransitEncryptionEnabled / TransitEncryptionMode: the
        encryption afterwards, or None when neither is given. AWS's steps (API reference,
        ModifyReplicationGroup): "If you are enabling in-transit encryption for an existing
        cluster, you must also set TransitEncryptionMode to preferred"; "Setting
        TransitEncryptionMode to required is a two-step process that requires you to first
        set the TransitEncryptionMode to preferred"; and to turn it off, the mode is
        `preferred` first (User Guide, "Disabling in-transit encryption"). Only from Redis
        OSS 7.0.5."""
        enabled, mode = r.get("TransitEncryptionEnabled"), check_transit_mode(r.get("TransitEncryptionMode"))
        if enabled is None and mode is None:
            return None
        if not transit_modifiable(engine, rg.engine_version):
            raise invalid_combination(
                f"In-transit encryption can be modified only from Redis OSS 7.0.5; the replication group runs {rg.engine_version}."
            )
        on = bool(rg.transit_encryption_enabled)
        current = (rg.transit_encryption_mode or "required") if on else None
        if enabled is False:
            if mode is not None:
                raise invalid_combination("TransitEncryptionMode cannot be set when disabling in-transit encryption.")
            if current == "required":
                raise invalid_combination(
                    "To disable in-transit encryption, first set TransitEncryptionMode to preferred."
                )
            return False, None
        if not on:
            if enabled is None:
                raise invalid_combination("TransitEncryptionMode requires in-transit encryption to be enabled.")
            if mode != "preferred":
                raise invalid_combination(
                    "To enable in-transit encryption on an existing replication group, set TransitEncryptionMode to preferred."
                )
            return True, "preferred"
        return True, mode or current

    # shard and replica counts ----------------------------------------------------
    def _layout(self, context: RequestContext, rg, shard_count: int, replicas: list[int]) -> None:
        """Rebuilds node groups and member clusters with moto's own member layout."""
        rg.member_clusters = []
        rg.member_clusters_outpost_arns = []
        old = {ng["node_group_id"]: ng for ng in rg.node_groups}
        groups = []
        if rg.cluster_mode == "enabled":
            ids = sorted(old)[:shard_count]
            next_id = max([int(i) for i in old] + [0]) + 1
            while len(ids) < shard_count:
                ids.append(f"{next_id:0>4}")
                next_id += 1
            for index, ng_id in enumerate(ids):
                low = index * 16384 // shard_count
                high = (index + 1) * 16384 // shard_count - 1
                ng: dict[str, Any] = {"node_group_id": ng_id, "status": "available", "node_group_members": [], "slots": f"{low}-{high}"}
                rg._set_node_members_clusters_enabled(
                    member_clusters=rg.member_clusters,
                    replication_group_id=rg.replication_group_id,
                    replicas_per_node_group=replicas[index],
                    node_group_configuration=[],
                    node_group=ng,
                    member_clusters_outpost_arns=rg.member_clusters_outpost_arns,
                )
                groups.append(ng)
        else:
            ng = dict(rg.node_groups[0])
            ng["node_group_members"] = []
            domain = ng.get("primary_endpoint_address", "").removeprefix("master.")
            rg._set_node_members_clusters_disabled(
                member_clusters=rg.member_clusters,
                replication_group_id=rg.replication_group_id,
                replication_group_domain=domain,
                node_group=ng,
                preferred_cache_cluster_azs=[],
                num_cache_clusters=replicas[0] + 1,
                replicas_per_node_group=replicas[0],
            )
            groups.append(ng)
        rg.node_groups = groups
        if rg.snapshot_retention_limit:
            rg.snapshotting_cluster_id = rg.member_clusters[1] if len(rg.member_clusters) > 1 else rg.member_clusters[0]
        self._register_members(context, rg)

    @staticmethod
    def _replica_counts(rg) -> list[int]:
        return [max(0, len(ng.get("node_group_members", [])) - 1) for ng in rg.node_groups]

    def _replica_change(self, context: RequestContext, request: dict, increase: bool) -> dict:
        rg = self._rg(context, request.get("ReplicationGroupId"))
        self._require_available(rg)
        counts = self._replica_counts(rg)
        ids = [ng["node_group_id"] for ng in rg.node_groups]
        new = list(counts)
        if request.get("NewReplicaCount") is not None and request.get("ReplicaConfiguration"):
            raise invalid_combination("Specify either NewReplicaCount or ReplicaConfiguration, not both.")
        if request.get("ReplicasToRemove"):
            if increase:
                raise invalid_value("ReplicasToRemove is not valid for IncreaseReplicaCount.")
            for cid in request["ReplicasToRemove"]:
                for i, ng in enumerate(rg.node_groups):
                    members = [m["cache_cluster_id"] for m in ng.get("node_group_members", [])]
                    if cid in members[1:]:
                        new[i] -= 1
                        break
                else:
                    raise invalid_value(f"Replica {cid} is not a replica of {rg.replication_group_id}.")
        elif request.get("NewReplicaCount") is not None:
            new = [int(request["NewReplicaCount"])] * len(counts)
        elif request.get("ReplicaConfiguration"):
            for conf in request["ReplicaConfiguration"]:
                if conf.get("NodeGroupId") not in ids:
                    raise invalid_value(f"Node group {conf.get('NodeGroupId')} does not exist in {rg.replication_group_id}.")
                new[ids.index(conf["NodeGroupId"])] = int(conf["NewReplicaCount"])
        else:
            raise invalid_combination("Specify NewReplicaCount, ReplicaConfiguration or ReplicasToRemove.")
        for old_count, new_count in zip(counts, new):
            if increase and new_count < old_count or not increase and new_count > old_count:
                raise invalid_value(
                    f"The new replica count must be {'greater' if increase else 'less'} than the current count ({old_count})."
                )
            if new_count > MAX_REPLICAS:
                raise invalid_value(f"A node group can have at most {MAX_REPLICAS} replicas.")
            if new_count < 0:
                raise invalid_value("The replica count cannot be negative.")
        if new == counts:
            raise AwsError("NoOperationFault", "The requested replica count equals the current replica count.", 400)
        if not increase and min(new) < 1 and (rg.automatic_failover == "enabled" or rg.multi_az == "enabled"):
            raise invalid_combination("A replication group with automatic failover needs at least one replica per node group.")
        if rg.cluster_mode == "enabled":
            self._check_nodes(len(new), new)
        self._layout(context, rg, len(counts), new)
        self._busy_for(context, rg, "modifying", modify_seconds())
        return moto_render(context, {"ReplicationGroup": rg})

    @operation("IncreaseReplicaCount")
    def increase_replica_count(self, context: RequestContext, request: dict) -> dict:
        return self._replica_change(context, request, True)

    @operation("DecreaseReplicaCount")
    def decrease_replica_count(self, context: RequestContext, request: dict) -> dict:
        return self._replica_change(context, request, False)

    @operation("ModifyReplicationGroupShardConfiguration")
    def modify_replication_group_shard_configuration(self, context: RequestContext, request: dict) -> dict:
        rg = self._rg(context, request.get("ReplicationGroupId"))
        self._require_available(rg)
        if rg.cluster_mode != "enabled":
            raise invalid_combination(
                f"Replication group {rg.replication_group_id} has cluster mode {rg.cluster_mode}; resharding needs cluster mode enabled."
            )
        target = int(request.get("NodeGroupCount") or 0)
        counts = self._replica_counts(rg)
        if target < 1 or target > 500:
            raise invalid_value("NodeGroupCount must be between 1 and 500.")
        if target > len(counts):
            self._check_nodes(target, counts + [counts[0] if counts else 0] * (target - len(counts)))
        if target == len(counts):
            raise AwsError("NoOperationFault", "The requested node group count equals the current count.", 400)
        ids = [ng["node_group_id"] for ng in rg.node_groups]
        if target < len(counts):
            remove = request.get("NodeGroupsToRemove") or []
            retain = request.get("NodeGroupsToRetain") or []
            if not remove and not retain:
                raise invalid_combination("Specify NodeGroupsToRemove or NodeGroupsToRetain when reducing the node group count.")
            keep = retain or [i for i in ids if i not in remove]
            for ng_id in list(remove) + list(retain):
                if ng_id not in ids:
                    raise invalid_value(f"Node group {ng_id} does not exist in {rg.replication_group_id}.")
            if len(keep) != target:
                raise invalid_value(f"Keeping {len(keep)} node groups does not match NodeGroupCount {target}.")
            rg.node_groups = [ng for ng in rg.node_groups if ng["node_group_id"] in keep]
            counts = self._replica_counts(rg)
        else:
            counts = counts + [counts[0] if counts else 0] * (target - len(counts))
        self._layout(context, rg, target, counts)
        self._busy_for(context, rg, "modifying", modify_seconds())
        return moto_render(context, {"ReplicationGroup": rg})

    @operation("DeleteReplicationGroup")
    def delete_replication_group(self, context: RequestContext, request: dict):
        backend = self._backend(context)
        rg = self._rg(context, request.get("ReplicationGroupId"))
        self._require_available(rg, f"Replication group {rg.replication_group_id} is not in available state; it can't be deleted now.")
        members = list(rg.member_clusters)
        response = forward_to_moto(context)
        if isinstance(response, dict):
            backend.replication_groups.pop(rg.replication_group_id, None)
            for cid in members:
                cc = backend.cache_clusters.get(cid)
                if cc is not None and getattr(cc, "replication_group_id", None) == rg.replication_group_id:
                    if request.get("RetainPrimaryCluster") and cid == rg.primary_cluster_id:
                        cc.replication_group_id = None
                        continue
                    del backend.cache_clusters[cid]
            backend.tagging_service.delete_all_tags_for_resource(rg.arn)
            stores(context).busy.pop(rg.replication_group_id, None)
        return response

    @operation("DeleteCacheCluster")
    def delete_cache_cluster(self, context: RequestContext, request: dict):
        backend = self._backend(context)
        cc = backend.cache_clusters.get(request.get("CacheClusterId") or "")
        if cc is not None and getattr(cc, "replication_group_id", None):
            raise AwsError(
                "InvalidCacheClusterState",
                f"Cache cluster {cc.cache_cluster_id} is a member of replication group {cc.replication_group_id}; "
                "use DecreaseReplicaCount or DeleteReplicationGroup.",
                400,
            )
        response = forward_to_moto(context)
        if isinstance(response, dict) and cc is not None:
            backend.cache_clusters.pop(cc.cache_cluster_id, None)
        return response

    @operation("CreateCacheCluster")
    def create_cache_cluster(self, context: RequestContext, request: dict):
        if request.get("ReplicationGroupId"):
            self._require_available(self._rg(context, request["ReplicationGroupId"]))
        else:
            version = check_version(request.get("Engine"), request.get("EngineVersion"))
            if request.get("CacheParameterGroupName"):
                self._check_family(self._group(context, request["CacheParameterGroupName"]), request.get("Engine"), version)
        if request.get("CacheParameterGroupName"):
            self._group(context, request["CacheParameterGroupName"])
        if request.get("CacheSubnetGroupName"):
            self._subnet_group(context, request["CacheSubnetGroupName"])
        response = forward_to_moto(context)
        if isinstance(response, dict):
            cc = self._backend(context).cache_clusters.get(request.get("CacheClusterId"))
            if cc is not None:
                name = request.get("CacheParameterGroupName") or (
                    f"default.{family_for(request.get('Engine'), request.get('EngineVersion'))}"
                )
                cc.cache_parameter_group_name = name
                cc.cache_parameter_group = {
                    "CacheParameterGroupName": name,
                    "ParameterApplyStatus": "in-sync",
                    "CacheNodeIdsToReboot": [],
                }
        return response


def _fix_subnet_azs(group) -> None:
    """moto keeps the subnet AZ as a plain string, which serializes as an empty AvailabilityZone."""
    for subnet in group.subnets:
        az = subnet.pop("Subnet_availability_zone", None) or subnet.get("subnet_availability_zone")
        if isinstance(az, str):
            subnet["subnet_availability_zone"] = {"Name": az}
        elif isinstance(az, dict):
            subnet["subnet_availability_zone"] = {"Name": az.get("Name") or az.get("name")}


def _tag_list(backend, arn: str) -> dict:
    return {"TagList": backend.tagging_service.list_tags_for_resource(arn).get("Tags", [])}


def _page(items: list, request: dict) -> tuple[list, str | None]:
    marker = request.get("Marker")
    try:
        start = int(marker) if marker else 0
    except ValueError:
        raise invalid_value(f"Invalid Marker: {marker}")
    size = int(request.get("MaxRecords") or 100)
    if size < 20 or size > 100:
        raise invalid_value("MaxRecords must be between 20 and 100.")
    page = items[start : start + size]
    return page, (str(start + size) if start + size < len(items) else None)
