"""Amazon RDS.

Gap fills on top of LocalStack's bundled moto:

* ModifyDBSubnetGroup modifies the group in place (moto removes it from its registry
  and fails with a server error for an unknown name); unknown subnets give InvalidSubnet,
  subnets of several VPCs InvalidSubnet, a single AZ DBSubnetGroupDoesNotCoverEnoughAZs
  (checked on CreateDBSubnetGroup too), an unknown group DBSubnetGroupNotFoundFault.
* DeleteDBSubnetGroup refuses a group that a DB instance still uses
  (InvalidDBSubnetGroupStateFault).
* DB parameter groups of the postgres and mysql families carry a catalogue of engine
  default parameters: DescribeDBParameters lists them (Source engine-default / user),
  ModifyDBParameterGroup rejects unknown parameters (InvalidParameterValue) and the
  immediate apply method for static parameters (InvalidParameterCombination).
* Busy states (issue 7): instances go through creating, modifying / upgrading and
  storage-optimization, for GLINFRA_EMULATOR_RDS_{CREATE,MODIFY,STORAGE_OPTIMIZATION}_SECONDS;
  ModifyDBInstance meanwhile is InvalidDBInstanceState, a storage change during
  storage-optimization InvalidParameterCombination. Changes applied with ApplyImmediately
  show in PendingModifiedValues while modifying and take effect when it ends; without it
  they stay pending (there is no maintenance window here).
* AWS's validation for PostgreSQL, MySQL and MariaDB: engine versions (a catalogue),
  parameter group family against the engine version, storage sizes, gp3 IOPS/throughput
  (only from 400 GiB), io1/io2 IOPS and IOPS-to-storage ratios, version upgrades
  (no downgrade, AllowMajorVersionUpgrade), read replicas (existing identifier, a source
  without backups or not available, replicas created with backups off, retention 0 on a
  source of replicas, backups on a PostgreSQL replica before 14.1).
* ModifyDBInstance DBSubnetGroupName moves the instance to a group in another VPC: the
  instance is `modifying` with the group pending, then in the group and its VPC (same ARN,
  endpoint and creation time); a group of the same VPC, or the group it is in, is
  InvalidVPCNetworkStateFault with AWS's message (moto moved it at once, anywhere). AWS's
  other conditions for a move (Single-AZ, no read replicas, a subnet in the instance's
  zone) are not checked here.
* PromoteReadReplica (moto's flips a flag at once and leaves the source listing the
  replica): only a read replica (InvalidDBInstanceState "DB Instance is not a read
  replica."), only when available, BackupRetentionPeriod 0 to 35 (default 1); the
  instance is `modifying` for GLINFRA_EMULATOR_RDS_MODIFY_SECONDS with the retention
  pending, then a standalone instance: no ReadReplicaSourceDBInstanceIdentifier, gone
  from its source's ReadReplicaDBInstanceIdentifiers, same ARN, endpoint and creation time.
"""

from __future__ import annotations

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
    new_id,
    now,
    operation,
)

# (name, default, data type, allowed values, apply type, description)
POSTGRES_PARAMS = [
    ("autovacuum", "1", "boolean", "0,1", "dynamic", "Starts the autovacuum subprocess."),
    ("checkpoint_completion_target", "0.9", "float", "0-1", "dynamic", "Time spent flushing dirty buffers during checkpoint, as fraction of checkpoint interval."),
    ("effective_cache_size", "{DBInstanceClassMemory/16384}", "integer", "1-2147483647", "dynamic", "Sets the planner's assumption about the size of the disk cache."),
    ("effective_io_concurrency", "1", "integer", "0-1000", "dynamic", "Number of simultaneous requests that can be handled efficiently by the disk subsystem."),
    ("log_min_duration_statement", "-1", "integer", "-1-2147483647", "dynamic", "Sets the minimum execution time above which statements will be logged."),
    ("maintenance_work_mem", "GREATEST({DBInstanceClassMemory*1024/63963136},65536)", "integer", "1024-2147483647", "dynamic", "Sets the maximum memory to be used for maintenance operations."),
    ("max_connections", "LEAST({DBInstanceClassMemory/9531392},5000)", "integer", "6-262143", "static", "Sets the maximum number of concurrent connections."),
    ("max_wal_size", "2048", "integer", "2-2147483647", "dynamic", "Sets the WAL size that triggers a checkpoint."),
    ("random_page_cost", "4", "float", "0-2147483647", "dynamic", "Sets the planner's estimate of the cost of a nonsequentially fetched disk page."),
    ("rds.force_ssl", "1", "boolean", "0,1", "dynamic", "Force SSL connections."),
    ("shared_buffers", "{DBInstanceClassMemory/32768}", "integer", "16-1073741823", "static", "Sets the number of shared memory buffers used by the server."),
    ("shared_preload_libraries", "pg_stat_statements", "list", "auto_explain,pg_cron,pg_hint_plan,pg_stat_statements,pg_tle,pgaudit,pglogical", "static", "Lists shared libraries to preload into server."),
    ("wal_buffers", "-1", "integer", "-1-262143", "static", "Sets the number of disk-page buffers in shared memory for WAL."),
    ("work_mem", "4096", "integer", "64-2147483647", "dynamic", "Sets the maximum memory to be used for query workspaces."),
]

MYSQL_PARAMS = [
    ("character_set_server", "", "string", "big5,latin1,utf8,utf8mb4", "dynamic", "The server's default character set."),
    ("innodb_buffer_pool_size", "{DBInstanceClassMemory*3/4}", "integer", "5242880-9223372036854775807", "static", "The size in bytes of the memory buffer innodb uses to cache data and indexes of its tables."),
    ("max_connections", "{DBInstanceClassMemory/12582880}", "integer", "1-100000", "dynamic", "The number of simultaneous client connections allowed."),
    ("slow_query_log", "0", "boolean", "0,1", "dynamic", "Enable or disable the slow query log."),
    ("time_zone", "", "string", "UTC,US/Eastern,Europe/London", "dynamic", "Sets the system time zone."),
]


def catalogue(family: str) -> list[tuple] | None:
    family = (family or "").lower()
    if family.startswith("postgres") or family.startswith("aurora-postgresql"):
        return POSTGRES_PARAMS
    if family.startswith("mysql") or family.startswith("aurora-mysql") or family.startswith("mariadb"):
        return MYSQL_PARAMS
    return None


# ---------------------------------------------------------------------- engine versions
def _minors(major: str, first: int, last: int) -> list[str]:
    return [f"{major}.{n}" for n in range(first, last + 1)]


# Versions RDS has released for the engines glinfra provisions (RDS user guide: "Supported
# PostgreSQL / MySQL / MariaDB versions"), oldest first within a major version. A major version
# alone (PostgreSQL "15", MySQL "8.0", MariaDB "10.11") resolves to its newest minor version
# here (AWS: to the default minor version of that major).
ENGINE_VERSIONS: dict[str, dict[str, list[str]]] = {
    "postgres": {
        "9.6": _minors("9.6", 1, 24),
        "10": _minors("10", 1, 23),
        "11": _minors("11", 1, 22),
        "12": _minors("12", 2, 22),
        "13": _minors("13", 1, 21),
        "14": _minors("14", 1, 18),
        "15": _minors("15", 2, 13),
        "16": _minors("16", 1, 9),
        "17": _minors("17", 1, 5),
    },
    "mysql": {
        "5.7": _minors("5.7", 37, 44),
        "8.0": _minors("8.0", 28, 42),
        "8.4": _minors("8.4", 3, 5),
    },
    "mariadb": {
        "10.4": _minors("10.4", 25, 34),
        "10.5": _minors("10.5", 16, 27),
        "10.6": _minors("10.6", 10, 21),
        "10.11": _minors("10.11", 4, 11),
        "11.4": _minors("11.4", 3, 5),
    },
}
# what RDS picks when EngineVersion is omitted
DEFAULT_MAJOR = {"postgres": "17", "mysql": "8.0", "mariadb": "11.4"}


def validated_engine(engine: str | None) -> str | None:
    """The engine name when this package validates it (PostgreSQL, MySQL, MariaDB)."""
    engine = (engine or "").lower()
    return engine if engine in ENGINE_VERSIONS else None


def major_of(engine: str, version: str) -> str:
    parts = version.split(".")
    if engine == "postgres" and parts[0].isdigit() and int(parts[0]) >= 10:
        return parts[0]
    return ".".join(parts[:2])


def resolve_version(engine: str, version: str | None) -> str | None:
    """The full version RDS runs for `version` (None: AWS answers "Cannot find version")."""
    majors = ENGINE_VERSIONS[engine]
    if not version:
        return majors[DEFAULT_MAJOR[engine]][-1]
    if version in majors:
        return majors[version][-1]
    major = major_of(engine, version)
    if major in majors and version in majors[major]:
        return version
    return None


def family_of(engine: str, version: str) -> str:
    return f"{engine}{major_of(engine, version)}"


def known_families() -> set[str]:
    return {f"{engine}{major}" for engine, majors in ENGINE_VERSIONS.items() for major in majors}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def no_version(engine: str, version: str) -> AwsError:
    # e.g. "InvalidParameterCombination: Cannot find version 13.7 for postgres"
    return AwsError("InvalidParameterCombination", f"Cannot find version {version} for {engine}", 400)


def family_mismatch(group: str, family: str, wanted: str) -> AwsError:
    return AwsError(
        "InvalidParameterCombination",
        f"The parameter group {group} with DBParameterGroupFamily {family} can't be used for this instance. "
        f"Use a parameter group with DBParameterGroupFamily {wanted}.",
        400,
    )


# ---------------------------------------------------------------------- storage
# (storage type) -> (min GiB, max GiB) for PostgreSQL, MySQL and MariaDB (RDS user guide,
# "Amazon RDS DB instance storage")
STORAGE_SIZES = {"gp2": (20, 65536), "gp3": (20, 65536), "io1": (100, 65536), "io2": (100, 65536), "standard": (5, 3072)}
# provisioned IOPS: (min IOPS, max IOPS, min IOPS/GiB, max IOPS/GiB)
PIOPS = {"io1": (1000, 256000, 0.5, 50), "io2": (1000, 256000, 0.5, 1000)}
GP3_THRESHOLD = 400  # GiB; below it gp3 runs at its baseline and takes no IOPS/throughput
GP3_BASELINE = {False: (3000, 125), True: (12000, 500)}  # (IOPS, MiB/s) below / from the threshold
GP3_IOPS = (12000, 64000)
GP3_THROUGHPUT = (500, 4000)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def check_storage(engine: str, storage_type: str, size: int, iops: int | None, throughput: int | None) -> None:
    """AWS's storage rules for `engine` (validated engines only); raises AwsError."""
    limits = STORAGE_SIZES.get(storage_type)
    if limits is None:
        raise AwsError("InvalidParameterValue", f"Invalid storage type: {storage_type}", 400)
    if not limits[0] <= size <= limits[1]:
        raise combination(f"Invalid storage size for engine name {engine} and storage type {storage_type}: {size}")
    if storage_type in PIOPS:
        low, high, low_ratio, high_ratio = PIOPS[storage_type]
        if not iops:
            raise combination(f"The storage type {storage_type} requires iops to be specified.")
        if not low <= iops <= high:
            raise combination(f"Invalid iops for engine name {engine} and storage type {storage_type}: {iops}")
        ratio = iops / size
        if not low_ratio <= ratio <= high_ratio:
            raise combination(
                f"Invalid iops to storage (GB) ratio for engine name {engine} and storage type {storage_type}: {ratio:.4f}"
            )
        if throughput:
            raise combination(f"You can't specify storage throughput for storage type {storage_type}.")
    elif storage_type == "gp3":
        if size < GP3_THRESHOLD:
            if iops or throughput:
                raise combination(
                    f"You can't specify IOPS or storage throughput for engine {engine} and a storage size less than {GP3_THRESHOLD}."
                )
        else:
            if iops and not GP3_IOPS[0] <= iops <= GP3_IOPS[1]:
                raise combination(f"Invalid iops for engine name {engine} and storage type gp3: {iops}")
            if iops and iops / size > 500:
                raise combination(f"Invalid iops to storage (GB) ratio for engine name {engine} and storage type gp3: {iops / size:.4f}")
            if throughput and not GP3_THROUGHPUT[0] <= throughput <= GP3_THROUGHPUT[1]:
                raise combination(f"Invalid storage throughput for engine name {engine} and storage type gp3: {throughput}")
            if iops and throughput and throughput / iops > 0.25:
                raise combination(
                    f"The ratio of storage throughput to IOPS must be at most 0.25 for engine name {engine} and storage type gp3."
                )
    elif iops or throughput:
        raise combination(f"You can't specify IOPS or storage throughput for storage type {storage_type}.")


def normalise_storage(db) -> None:
    """What DescribeDBInstances reports: gp3 at its baseline unless provisioned above it,
    no IOPS/throughput for gp2 and magnetic storage."""
    if db.storage_type == "gp3":
        large = (db.allocated_storage or 0) >= GP3_THRESHOLD
        base_iops, base_tp = GP3_BASELINE[large]
        if not large or not db.iops or int(db.iops) < base_iops:
            db.iops = base_iops
        db.storage_throughput = base_tp if not large or not db.storage_throughput or db.storage_throughput < base_tp else db.storage_throughput
    elif db.storage_type in ("gp2", "standard"):
        db.iops = None
        db.storage_throughput = None


# ---------------------------------------------------------------------- busy states
def create_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_RDS_CREATE_SECONDS", modify_seconds())


def modify_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_RDS_MODIFY_SECONDS", 1.0)


def storage_optimization_seconds() -> float:
    return env_seconds("GLINFRA_EMULATOR_RDS_STORAGE_OPTIMIZATION_SECONDS", 2.0)


def storage_cooldown_seconds() -> float:
    """AWS: no further storage change "for either six (6) hours or until storage optimization
    has completed on the instance, whichever is longer"; 21600 for AWS's six hours."""
    return env_seconds("GLINFRA_EMULATOR_RDS_STORAGE_COOLDOWN_SECONDS", 0.0)


# statuses in which ModifyDBInstance is accepted (storage changes only when available)
MODIFIABLE = ("available", "storage-optimization")
STORAGE_FIELDS = ("AllocatedStorage", "StorageType", "Iops", "StorageThroughput")
# PendingModifiedValues members and the moto attributes they land in, in the order applied
PENDING_FIELDS = {
    "StorageType": "storage_type",
    "AllocatedStorage": "allocated_storage",
    "Iops": "iops",
    "StorageThroughput": "storage_throughput",
    "DBInstanceClass": "db_instance_class",
    "MultiAZ": "multi_az",
    "EngineVersion": "engine_version",
    "BackupRetentionPeriod": "backup_retention_period",
    "DBSubnetGroupName": "db_subnet_group_name",
}


@dataclass
class Phase:
    status: str
    seconds: float
    apply: dict[str, Any] = field(default_factory=dict)  # PendingModifiedValues, applied at the end


@dataclass
class Lifecycle:
    phases: list[Phase] = field(default_factory=list)
    since: datetime = field(default_factory=now)  # start of phases[0]
    deferred: dict[str, Any] = field(default_factory=dict)  # ApplyImmediately=false: pending until a maintenance window
    storage_changed: datetime | None = None  # the last storage modification (for the cool-down)

    def pending(self) -> dict[str, Any]:
        out = dict(self.deferred)
        if self.phases and self.phases[0].apply:
            out.update(self.phases[0].apply)
        return out


class RdsStore:
    def __init__(self) -> None:
        self.instances: dict[str, Lifecycle] = {}


stores = RegionStores(RdsStore)


def _named(groups: dict, name: str | None, missing: AwsError):
    """The group ``name`` of moto's ``groups`` (RDS names are case-insensitive, moto keeps
    them as given or in lower case); ``missing`` is raised when there is none."""
    group = groups.get(name or "") or groups.get((name or "").lower())
    if group is None:
        raise missing
    return group


class RdsProvider(BusyStatesProvider):
    service = "rds"

    def __init__(self) -> None:
        super().__init__()
        # moto creates the managed master-user secrets (ManageMasterUserPassword) as FakeSecret
        # objects; LocalStack's Secrets Manager patches FakeSecret when its provider module is
        # imported. A secret made before that import lacks LocalStack's attributes and breaks
        # secretsmanager ListSecrets for the whole region, so apply the patches now.
        import localstack.services.secretsmanager.provider  # noqa: F401

        self._default_keys: dict[tuple[str, str], str] = {}

    def _backend(self, context: RequestContext):
        from moto.rds.models import rds_backends

        return rds_backends[context.account_id][context.region]

    def _subnets(self, context: RequestContext, subnet_ids: list[str]) -> list:
        from moto.ec2.models import ec2_backends

        ec2 = ec2_backends[context.account_id][context.region]
        subnets = []
        for subnet_id in subnet_ids:
            try:
                subnets.append(ec2.get_subnet(subnet_id))
            except Exception:
                raise AwsError("InvalidSubnet", f"The requested subnet {subnet_id} is invalid.", 400)
        if len({s.vpc_id for s in subnets}) > 1:
            raise AwsError(
                "InvalidSubnet",
                "The requested subnets are not all in a common VPC.",
                400,
            )
        if len({s.availability_zone for s in subnets}) < 2:
            raise AwsError(
                "DBSubnetGroupDoesNotCoverEnoughAZs",
                "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                "Current AZ coverage: " + ", ".join(sorted({s.availability_zone for s in subnets}))
                + ". Add subnets to cover at least 2 AZs.",
                400,
            )
        return subnets

    def _subnet_group(self, context: RequestContext, name: str):
        groups = self._backend(context).subnet_groups
        return _named(groups, name, AwsError("DBSubnetGroupNotFoundFault", f"DBSubnetGroup {name} not found.", 404))

    # ------------------------------------------------------------------ subnet groups
    @operation("CreateDBSubnetGroup")
    def create_db_subnet_group(self, context: RequestContext, request: dict):
        self._subnets(context, request.get("SubnetIds") or [])
        return forward_to_moto(context)

    @operation("ModifyDBSubnetGroup")
    def modify_db_subnet_group(self, context: RequestContext, request: dict) -> dict:
        group = self._subnet_group(context, request.get("DBSubnetGroupName"))
        subnet_ids = request.get("SubnetIds") or []
        if not subnet_ids:
            raise AwsError("InvalidParameterValue", "SubnetIds must contain at least one subnet.", 400)
        subnets = self._subnets(context, subnet_ids)
        if subnets[0].vpc_id != group.vpc_id and self._users(context, group.name):
            raise AwsError(
                "InvalidDBSubnetGroupStateFault",
                f"DB subnet group {group.name} is in use; its subnets must stay in VPC {group.vpc_id}.",
                400,
            )
        group._subnets = subnets
        group.vpc_id = subnets[0].vpc_id
        if request.get("DBSubnetGroupDescription") is not None:
            group.description = request["DBSubnetGroupDescription"]
        return moto_render(context, {"DBSubnetGroup": group})

    def _users(self, context: RequestContext, name: str) -> list[str]:
        backend = self._backend(context)
        users = []
        for db in backend.databases.values():
            sg = getattr(db, "db_subnet_group", None)
            # (moto's db_subnet_group_name is a write-only property: reading it raises NotImplementedError)
            sg_name = getattr(sg, "name", sg) if sg is not None else getattr(db, "_db_subnet_group_name", None)
            if sg_name and sg_name.lower() == name.lower():
                users.append(db.db_instance_identifier)
        return users

    @operation("DeleteDBSubnetGroup")
    def delete_db_subnet_group(self, context: RequestContext, request: dict):
        group = self._subnet_group(context, request.get("DBSubnetGroupName"))
        users = self._users(context, group.name)
        if users:
            raise AwsError(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{group.name}' because at least one database instance: "
                f"{users[0]} is still using it.",
                400,
            )
        return forward_to_moto(context)

    # ------------------------------------------------------------------ busy states
    def _advance(self) -> None:
        from moto.rds.models import rds_backends

        t = now()
        for (account, region), store in stores.items():
            backend = rds_backends[account][region]
            for ident, life in list(store.instances.items()):
                db = backend.databases.get(ident)
                if db is None:
                    del store.instances[ident]
                    continue
                while life.phases and t >= life.since + timedelta(seconds=life.phases[0].seconds):
                    phase = life.phases.pop(0)
                    life.since += timedelta(seconds=phase.seconds)
                    if phase.apply:
                        self._apply(backend, db, phase.apply)
                db.status = life.phases[0].status if life.phases else "available"

    @staticmethod
    def _apply(backend, db, changes: dict[str, Any]) -> None:
        for key, attr in PENDING_FIELDS.items():
            if key in changes:
                setattr(db, attr, changes[key])
        if changes.get("_Promote"):
            RdsProvider._detach_from_source(backend, db)
        if "EngineVersion" in changes and changes.get("_DefaultParameterGroup"):
            # a default group follows the engine's major version (moto derives it from the version)
            db.db_parameter_group_name = None
        if any(k in changes for k in STORAGE_FIELDS):
            normalise_storage(db)

    def _lifecycle(self, context: RequestContext, ident: str) -> Lifecycle:
        store = stores(context)
        return store.instances.setdefault(ident, Lifecycle())

    def _start(self, context: RequestContext, db, phases: list[Phase]) -> None:
        life = self._lifecycle(context, db.db_instance_identifier)
        life.phases = [p for p in phases]
        life.since = now()
        db.status = life.phases[0].status if life.phases else "available"

    def _decorate(self, context: RequestContext, result: dict) -> None:
        items = list(result.get("DBInstances") or [])
        if isinstance(result.get("DBInstance"), dict):
            items.append(result["DBInstance"])
        store = stores(context)
        for item in items:
            life = store.instances.get((item.get("DBInstanceIdentifier") or "").lower())
            if life is None:
                continue
            pending = {k: v for k, v in life.pending().items() if k in PENDING_FIELDS and v is not None}
            if pending:
                item["PendingModifiedValues"] = pending
            if item.get("DBInstanceStatus") == "creating":
                # AWS has no endpoint for an instance until it has been created
                item.pop("Endpoint", None)

    def _busy(self, db) -> AwsError:
        return AwsError("InvalidDBInstanceState", "Database instance is not in available state.", 400)

    # ------------------------------------------------------------------ instances
    def _default_rds_key(self, account: str, region: str) -> str:
        key = (account, region)
        if key not in self._default_keys:
            self._default_keys[key] = f"arn:aws:kms:{region}:{account}:key/{new_id()}"
        return self._default_keys[key]

    def _fix_instance(self, context: RequestContext, identifier: str | None) -> None:
        db = self._backend(context).databases.get((identifier or "").lower())
        if db is None:
            return
        if getattr(db, "kms_key_id", None) == "default_kms_key_id":
            # moto's placeholder; AWS reports the ARN of the account's aws/rds key
            db.kms_key_id = self._default_rds_key(context.account_id, context.region) if db.storage_encrypted else None

    def _check_family(self, context: RequestContext, group_name: str | None, engine: str, version: str) -> None:
        if not group_name:
            return
        group = self._parameter_group(context, group_name)
        wanted = family_of(engine, version)
        if (group.family or "").lower() != wanted:
            raise family_mismatch(group.name, group.family, wanted)

    @staticmethod
    def _check_retention(value: Any) -> None:
        if value is not None and not 0 <= int(value) <= 35:
            raise AwsError(
                "InvalidParameterValue", f"Invalid backup retention period: {value}. It must be a value from 0 to 35.", 400
            )

    @operation("CreateDBInstance")
    def create_db_instance(self, context: RequestContext, request: dict):
        params = dict(request)
        if params.get("DBSubnetGroupName"):
            self._subnet_group(context, params["DBSubnetGroupName"])
        if params.get("DBParameterGroupName"):
            self._parameter_group(context, params["DBParameterGroupName"])
        engine = validated_engine(params.get("Engine"))
        if engine:
            version = resolve_version(engine, params.get("EngineVersion"))
            if version is None:
                raise no_version(engine, params["EngineVersion"])
            params["EngineVersion"] = version
            self._check_family(context, params.get("DBParameterGroupName"), engine, version)
            storage_type = params.get("StorageType") or ("io1" if params.get("Iops") else "gp2")
            if params.get("AllocatedStorage") is not None:
                check_storage(
                    engine, storage_type, int(params["AllocatedStorage"]), params.get("Iops"), params.get("StorageThroughput")
                )
            self._check_retention(params.get("BackupRetentionPeriod"))
        response = forward_with(context, params)
        if isinstance(response, dict):
            ident = params["DBInstanceIdentifier"].lower()
            self._fix_instance(context, ident)
            db = self._backend(context).databases.get(ident)
            if db is not None:
                if engine:
                    normalise_storage(db)
                self._start(context, db, [Phase("creating", create_seconds())])
                response = moto_render(context, {"DBInstance": db})
        return response

    def _source(self, context: RequestContext, source: str):
        """The source instance of a read replica (an identifier here or an ARN of any region)."""
        from moto.rds.models import rds_backends

        parts = source.split(":")
        if source.startswith("arn:") and len(parts) >= 7:
            return parts[3], rds_backends[context.account_id][parts[3]].databases.get(parts[-1].lower())
        return context.region, self._backend(context).databases.get(source.lower())

    @operation("CreateDBInstanceReadReplica")
    def create_db_instance_read_replica(self, context: RequestContext, request: dict):
        from moto.rds.models import DBParameterGroup

        params = dict(request)
        ident = (params.get("DBInstanceIdentifier") or "").lower()
        source = params.get("SourceDBInstanceIdentifier") or ""
        target = self._backend(context)
        if ident in target.databases:
            # moto replaces the existing instance with the replica
            raise AwsError("DBInstanceAlreadyExists", "DB instance already exists", 400)
        source_region, primary = self._source(context, source)
        if primary is None:
            raise AwsError("DBInstanceNotFound", f"DBInstance {source} not found.", 404)
        cross_region = source_region != context.region
        if cross_region and primary.storage_encrypted and not params.get("KmsKeyId"):
            raise AwsError(
                "InvalidParameterCombination",
                "For an encrypted cross-Region read replica, KmsKeyId must name a KMS key in the destination Region.",
                400,
            )
        engine = validated_engine(primary.engine)
        if params.get("DBParameterGroupName"):
            self._parameter_group(context, params["DBParameterGroupName"])
            if engine:
                self._check_family(context, params["DBParameterGroupName"], engine, primary.engine_version)
        if params.get("DBSubnetGroupName"):
            self._subnet_group(context, params["DBSubnetGroupName"])
        if engine:
            storage_type = params.get("StorageType") or primary.storage_type
            iops = params.get("Iops")
            if iops is None and storage_type in PIOPS and primary.storage_type in PIOPS:
                iops = primary.iops
            size = int(params.get("AllocatedStorage") or primary.allocated_storage)
            check_storage(engine, storage_type, size, iops, params.get("StorageThroughput"))
        if primary.status not in MODIFIABLE:
            raise AwsError(
                "InvalidDBInstanceState",
                f"DB instance {primary.db_instance_identifier} is not in available state.",
                400,
            )
        if not primary.backup_retention_period:
            raise AwsError(
                "InvalidDBInstanceState",
                "Automated backups are not enabled for this database instance. To enable automated backups, "
                "use ModifyDBInstance to set the backup retention period to a non-zero value.",
                400,
            )
        if cross_region:
            if not params.get("DBParameterGroupName"):
                # AWS uses the engine's default parameter group in the destination Region
                family, name = primary.default_db_parameter_group_details()
                if name not in target.db_parameter_groups:
                    target.db_parameter_groups[name] = DBParameterGroup(
                        backend=target,
                        db_parameter_group_name=name,
                        db_parameter_group_family=family,
                        description=f"Default parameter group for {family}",
                        tags=[],
                    )
                params["DBParameterGroupName"] = name
            if not params.get("AvailabilityZone"):
                # moto would report the source's AZ (in the source Region)
                params["AvailabilityZone"] = f"{context.region}a"
        # DBSubnetGroupName names a group of the destination Region (checked above);
        # moto's copy of the source looks it up in the source's Region, so it is set
        # on the replica once moto has moved it to this Region.
        subnet_group = params.pop("DBSubnetGroupName", None) if cross_region else None
        response = forward_with(context, params)
        if isinstance(response, dict):
            self._fix_instance(context, ident)
            replica = target.databases.get(ident)
            if replica is not None:
                # moto's replica is a shallow copy of the source: it inherits the source's deletion
                # protection (AWS: the replica's own DeletionProtection, default false) and shares
                # its managed master-user secret (deleting the replica would delete the secret)
                replica.deletion_protection = bool(params.get("DeletionProtection", False))
                if getattr(replica, "manage_master_user_password", False):
                    replica.manage_master_user_password = False
                    replica.master_user_secret = None
                # "RDS creates read replicas with backups disabled" (CreateDBInstanceReadReplica)
                replica.backup_retention_period = 0
                if subnet_group:
                    replica.db_subnet_group_name = self._subnet_group(context, subnet_group).name
                for key, attr in (("StorageType", "storage_type"), ("Iops", "iops"), ("AllocatedStorage", "allocated_storage")):
                    if params.get(key) is not None:
                        setattr(replica, attr, params[key])
                if engine:
                    normalise_storage(replica)
                self._start(context, replica, [Phase("creating", create_seconds())])
                response = moto_render(context, {"DBInstance": replica})
        return response

    @staticmethod
    def _detach_from_source(backend, db) -> None:
        """`db` becomes a standalone instance: its source no longer lists it."""
        from moto.rds.models import rds_backends

        source = db.source_db_instance_identifier or ""
        if source.startswith("arn:"):
            parts = source.split(":")
            home = rds_backends[parts[4]][parts[3]]
            name = parts[-1]
        else:
            home, name = backend, source
        primary = home.databases.get(name.lower()) if name else None
        if primary is not None:
            for ref in (db.db_instance_identifier, db.db_instance_arn):
                if ref in primary.replicas:
                    primary.replicas.remove(ref)
        db.is_replica = False
        db.source_db_instance_identifier = None

    @operation("PromoteReadReplica")
    def promote_read_replica(self, context: RequestContext, request: dict):
        """PromoteReadReplica (RDS API Reference): a read replica becomes a standalone
        instance in place; backups default to a retention of 1 day."""
        backend = self._backend(context)
        ident = (request.get("DBInstanceIdentifier") or "").lower()
        db = backend.databases.get(ident)
        if db is None:
            raise AwsError("DBInstanceNotFound", f"DBInstance {ident} not found.", 404)
        if not db.is_replica:
            raise AwsError("InvalidDBInstanceState", "DB Instance is not a read replica.", 400)
        if db.status not in MODIFIABLE:
            raise self._busy(db)
        retention = request.get("BackupRetentionPeriod")
        self._check_retention(retention)
        retention = 1 if retention is None else int(retention)
        if request.get("PreferredBackupWindow"):
            db.preferred_backup_window = request["PreferredBackupWindow"]
        self._start(
            context,
            db,
            [Phase("modifying", modify_seconds(), apply={"BackupRetentionPeriod": retention, "_Promote": True})],
        )
        return moto_render(context, {"DBInstance": db})

    @operation("ModifyDBInstance")
    def modify_db_instance(self, context: RequestContext, request: dict):
        backend = self._backend(context)
        ident = (request.get("DBInstanceIdentifier") or "").lower()
        db = backend.databases.get(ident)
        if db is None:
            return forward_to_moto(context)  # moto's DBInstanceNotFound
        r = request
        engine = validated_engine(db.engine)
        heavy: dict[str, Any] = {}  # changes that put the instance in modifying (PendingModifiedValues)
        light = dict(r)  # what moto applies at once
        for key in (
            *STORAGE_FIELDS,
            "DBInstanceClass",
            "MultiAZ",
            "EngineVersion",
            "BackupRetentionPeriod",
            "DBSubnetGroupName",
        ):
            light.pop(key, None)

        # ---- validation (AWS checks the parameters before the instance's state)
        current = {
            "AllocatedStorage": db.allocated_storage,
            "StorageType": db.storage_type,
            "Iops": int(db.iops) if db.iops else None,
            "StorageThroughput": db.storage_throughput,
        }
        storage = {k: r[k] for k in STORAGE_FIELDS if r.get(k) is not None and r[k] != current[k]}
        given = any(r.get(k) is not None for k in STORAGE_FIELDS)
        if given and engine:
            size = int(r.get("AllocatedStorage") or db.allocated_storage)
            if size < db.allocated_storage:
                raise combination(
                    f"Invalid storage size for engine name {engine}: {size}. The allocated storage can't be decreased "
                    f"(currently {db.allocated_storage})."
                )
            if db.allocated_storage < size and size * 10 < db.allocated_storage * 11:
                raise combination("The allocated storage must be increased by at least 10 percent.")
            new_type = r.get("StorageType") or db.storage_type
            if (
                db.storage_type in PIOPS
                and new_type in PIOPS
                and ("AllocatedStorage" in storage or "Iops" in storage)
                and (r.get("AllocatedStorage") is None or r.get("Iops") is None)
            ):
                raise combination(
                    "You must specify both the storage size and iops when modifying the storage size or iops on a DB "
                    "instance that has iops."
                )
            iops = r.get("Iops")
            if iops is None and new_type in PIOPS and db.storage_type in PIOPS:
                iops = current["Iops"]
            check_storage(engine, new_type, size, iops, r.get("StorageThroughput"))
            if storage and "StorageType" in storage and new_type not in PIOPS and r.get("Iops") is None:
                storage["Iops"] = None  # the new type's baseline, set when applied
            if storage and new_type != "gp3":
                storage["StorageThroughput"] = None
        heavy.update(storage)
        major_upgrade = False
        if r.get("EngineVersion"):
            version = resolve_version(engine, r["EngineVersion"]) if engine else r["EngineVersion"]
            if version is None:
                raise no_version(engine, r["EngineVersion"])
            if version != db.engine_version and not (engine and r["EngineVersion"] == major_of(engine, db.engine_version)):
                if engine and version_key(version) < version_key(db.engine_version):
                    raise combination(f"Cannot upgrade {engine} from {db.engine_version} to {version}")
                if engine and major_of(engine, version) != major_of(engine, db.engine_version):
                    major_upgrade = True
                    if not r.get("AllowMajorVersionUpgrade"):
                        raise combination(
                            "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version."
                        )
                heavy["EngineVersion"] = version
        target_version = heavy.get("EngineVersion") or db.engine_version
        if r.get("DBParameterGroupName"):
            self._parameter_group(context, r["DBParameterGroupName"])
            if engine:
                self._check_family(context, r["DBParameterGroupName"], engine, target_version)
        elif major_upgrade:
            group = db.db_parameter_group_name
            if group and not db.is_default_parameter_group(group):
                raise combination(
                    f"The current DB instance parameter group {group} is custom. You must explicitly specify a new DB "
                    "instance parameter group, either default or custom, for the engine version upgrade."
                )
            heavy["_DefaultParameterGroup"] = True
        if r.get("BackupRetentionPeriod") is not None:
            retention = int(r["BackupRetentionPeriod"])
            self._check_retention(retention)
            if retention == 0 and db.replicas:
                # ModifyDBInstance, BackupRetentionPeriod: "Can't be set to 0 if the DB instance is a
                # source to read replicas."
                raise combination("The backup retention period can't be set to 0 on a DB instance that is a source of read replicas.")
            if retention > 0 and db.is_replica and engine == "postgres" and version_key(db.engine_version) < (14, 1):
                raise AwsError("InvalidDBInstanceState", "DB Backups not supported on a read replica for engine postgres", 400)
            if (retention == 0) != (not db.backup_retention_period):
                heavy["BackupRetentionPeriod"] = retention  # an outage: applied like a modification
            else:
                light["BackupRetentionPeriod"] = retention
        if r.get("DBInstanceClass") and r["DBInstanceClass"] != db.db_instance_class:
            heavy["DBInstanceClass"] = r["DBInstanceClass"]
        if r.get("MultiAZ") is not None and bool(r["MultiAZ"]) != bool(db.multi_az):
            heavy["MultiAZ"] = bool(r["MultiAZ"])
        if r.get("DBSubnetGroupName"):
            heavy["DBSubnetGroupName"] = self._move_to(context, db, r["DBSubnetGroupName"])

        # ---- state
        if db.status not in MODIFIABLE:
            raise self._busy(db)
        if storage and db.status == "storage-optimization":
            raise combination(
                "You can't currently modify the storage of this DB instance because the previous storage change is being optimized."
            )
        life = self._lifecycle(context, ident)
        if storage and life.storage_changed and now() < life.storage_changed + timedelta(seconds=storage_cooldown_seconds()):
            raise combination(
                "You can't currently modify the storage of this DB instance: the last storage modification was less than "
                "six hours ago."
            )

        # ---- apply
        if len(light) > 1:  # more than the identifier
            response = forward_with(context, light)
            if not isinstance(response, dict):
                return response
        immediate = bool(r.get("ApplyImmediately"))
        quick = any(r.get(k) for k in ("DBParameterGroupName", "VpcSecurityGroupIds", "CACertificateIdentifier"))
        if not immediate:
            # applied in the next maintenance window (which this emulator never reaches)
            life.deferred.update({k: v for k, v in heavy.items()})
            heavy = {}
        else:
            heavy = {**life.deferred, **heavy}
            life.deferred = {}
        if heavy or quick:
            remaining = []
            if life.phases and life.phases[0].status == "storage-optimization":
                left = (life.since + timedelta(seconds=life.phases[0].seconds) - now()).total_seconds()
                remaining = [Phase("storage-optimization", max(0.0, left))]
            phases = [Phase("upgrading" if "EngineVersion" in heavy else "modifying", modify_seconds(), heavy)]
            if any(k in heavy for k in STORAGE_FIELDS):
                phases.append(Phase("storage-optimization", storage_optimization_seconds()))
                life.storage_changed = now()
            else:
                phases += remaining
            self._start(context, db, phases)
        return moto_render(context, {"DBInstance": db})

    def _move_to(self, context: RequestContext, db, name: str) -> str:
        """ModifyDBInstance DBSubnetGroupName: "You can use this parameter to move your DB
        instance to a different VPC." RDS refuses a group of the instance's own VPC and the
        group it is in (InvalidVPCNetworkStateFault). Returns the group's name."""
        group = self._subnet_group(context, name)
        current = getattr(db, "db_subnet_group", None)
        if current is not None and current.name.lower() == group.name.lower():
            raise AwsError(
                "InvalidVPCNetworkStateFault", "The specified DB instance is already in the target DB subnet group.", 400
            )
        if current is not None and current.vpc_id == group.vpc_id:
            raise AwsError(
                "InvalidVPCNetworkStateFault",
                f"You cannot move DB instance {db.db_instance_identifier} to subnet group {group.name}. "
                "The specified DB subnet group and DB instance are in the same VPC. Choose a DB subnet group in "
                "different VPC than the specified DB instance and try again.",
                400,
            )
        return group.name

    @operation("RebootDBInstance")
    def reboot_db_instance(self, context: RequestContext, request: dict):
        db = self._backend(context).databases.get((request.get("DBInstanceIdentifier") or "").lower())
        if db is not None and db.status not in MODIFIABLE:
            raise self._busy(db)
        return forward_to_moto(context)

    @operation("DeleteDBInstance")
    def delete_db_instance(self, context: RequestContext, request: dict):
        from moto.rds.models import rds_backends

        backend = self._backend(context)
        db = backend.databases.get((request.get("DBInstanceIdentifier") or "").lower())
        if db is None or db.deletion_protection:
            return forward_to_moto(context)  # moto's DBInstanceNotFound / InvalidParameterCombination
        if not request.get("SkipFinalSnapshot") and db.status not in MODIFIABLE:
            raise AwsError(
                "InvalidDBInstanceState",
                f"Instance {db.db_instance_identifier} is currently {db.status} - a final snapshot cannot be taken.",
                400,
            )
        if db.is_replica:
            # moto looks the source up again (failing once it is gone) and removes the replica
            # from it by identifier (failing for cross-Region replicas, listed by ARN)
            source = db.source_db_instance_identifier or ""
            try:
                primary = backend.find_db_from_id(source)
            except Exception:
                primary = None
            if primary is not None:
                for ref in (db.db_instance_identifier, db.db_instance_arn):
                    if ref in primary.replicas:
                        primary.replicas.remove(ref)
            db.is_replica = False
        else:
            # AWS promotes the read replicas of a deleted source to standalone instances
            for ref in list(getattr(db, "replicas", []) or []):
                region = ref.split(":")[3] if ref.startswith("arn:") else context.region
                name = ref.split(":")[-1]
                replica = rds_backends[context.account_id][region].databases.get(name)
                if replica is not None:
                    replica.is_replica = False
                    replica.source_db_instance_identifier = None
            db.replicas = []
        response = forward_to_moto(context)
        if isinstance(response, dict):
            stores(context).instances.pop(db.db_instance_identifier, None)
        return response

    # ------------------------------------------------------------------ parameter groups
    def _parameter_group(self, context: RequestContext, name: str):
        groups = self._backend(context).db_parameter_groups
        return _named(groups, name, AwsError("DBParameterGroupNotFound", f"DBParameterGroup not found: {name}", 404))

    @operation("CreateDBParameterGroup")
    def create_db_parameter_group(self, context: RequestContext, request: dict):
        family = (request.get("DBParameterGroupFamily") or "").lower()
        if any(family.startswith(engine) for engine in ENGINE_VERSIONS) and family not in known_families():
            # moto accepts any family
            raise AwsError(
                "InvalidParameterValue",
                f"ParameterGroupFamily {request.get('DBParameterGroupFamily')} is not a valid parameter group family",
                400,
            )
        return forward_to_moto(context)

    @operation("DeleteDBParameterGroup")
    def delete_db_parameter_group(self, context: RequestContext, request: dict):
        group = self._parameter_group(context, request.get("DBParameterGroupName"))
        if group.name.startswith("default."):
            raise AwsError("InvalidDBParameterGroupState", f"Default parameter group {group.name} cannot be deleted.", 400)
        users = [
            db.db_instance_identifier
            for db in self._backend(context).databases.values()
            if (getattr(db, "db_parameter_group_name", None) or "").lower() == group.name
        ]
        if users:
            # moto deletes it, after which every call that renders those instances fails
            raise AwsError(
                "InvalidDBParameterGroupState",
                "One or more database instances are still members of this parameter group "
                f"{group.name}, so the group cannot be deleted",
                400,
            )
        return forward_to_moto(context)

    @operation("ModifyDBParameterGroup")
    def modify_db_parameter_group(self, context: RequestContext, request: dict):
        group = self._parameter_group(context, request.get("DBParameterGroupName"))
        known = catalogue(group.family)
        params = request.get("Parameters") or []
        if not params:
            raise AwsError("InvalidParameterValue", "Parameters must contain at least one parameter.", 400)
        if len(params) > 20:
            raise AwsError("InvalidParameterValue", "A maximum of 20 parameters can be modified in a single request.", 400)
        if known is not None:
            by_name = {p[0]: p for p in known}
            for param in params:
                name = param.get("ParameterName")
                spec = by_name.get(name)
                if spec is None:
                    raise AwsError("InvalidParameterValue", f"Could not find parameter with name: {name}", 400)
                if spec[4] == "static" and param.get("ApplyMethod") == "immediate":
                    raise AwsError(
                        "InvalidParameterCombination",
                        f"cannot use immediate apply method for static parameter {name}",
                        400,
                    )
        return forward_to_moto(context)

    @operation("ResetDBParameterGroup")
    def reset_db_parameter_group(self, context: RequestContext, request: dict):
        """Filled in (moto has none): back to the engine defaults, for the named
        parameters or, with ResetAllParameters, all of them (AWS API reference)."""
        group = self._parameter_group(context, request.get("DBParameterGroupName"))
        if group.name.startswith("default."):
            raise AwsError("InvalidDBParameterGroupState", f"Default parameter group {group.name} cannot be modified.", 400)
        reset_all = bool(request.get("ResetAllParameters"))
        params = request.get("Parameters") or []
        if reset_all == bool(params):
            raise AwsError(
                "InvalidParameterCombination",
                "Specify either ResetAllParameters or a list of Parameters, not both and not neither.",
                400,
            )
        if len(params) > 20:
            raise AwsError("InvalidParameterValue", "A maximum of 20 parameters can be reset in a single request.", 400)
        current = group.parameters if group.parameters is not None else {}
        if reset_all:
            current.clear()
        else:
            known = catalogue(group.family)
            names = {p[0] for p in known} if known is not None else None
            for param in params:
                name = param.get("ParameterName")
                if names is not None and name not in names:
                    raise AwsError("InvalidParameterValue", f"Could not find parameter with name: {name}", 400)
                current.pop(name, None)
        return {"DBParameterGroupName": group.name}

    @operation("DescribeDBParameters")
    def describe_db_parameters(self, context: RequestContext, request: dict):
        group = self._parameter_group(context, request.get("DBParameterGroupName"))
        known = catalogue(group.family)
        if known is None:
            return forward_to_moto(context)
        source = request.get("Source")
        if source and source not in ("user", "system", "engine-default"):
            raise AwsError("InvalidParameterValue", f"Invalid source: {source}", 400)
        user = {}
        for name, value in (group.parameters or {}).items():
            user[name] = value
        out = []
        for name, default, data_type, allowed, apply_type, description in known:
            set_by_user = name in user
            p_source = "user" if set_by_user else "engine-default"
            if source and source != p_source:
                continue
            entry: dict[str, Any] = {
                "ParameterName": name,
                "Description": description,
                "Source": p_source,
                "ApplyType": apply_type,
                "DataType": data_type,
                "AllowedValues": allowed,
                "IsModifiable": True,
                "ApplyMethod": "pending-reboot",
            }
            if set_by_user:
                entry["ParameterValue"] = user[name].get("ParameterValue")
                entry["ApplyMethod"] = user[name].get("ApplyMethod") or "pending-reboot"
            elif default:
                entry["ParameterValue"] = default
            out.append(entry)
        marker = request.get("Marker")
        start = int(marker) if marker and marker.isdigit() else 0
        size = int(request.get("MaxRecords") or 100)
        result: dict[str, Any] = {"Parameters": out[start : start + size]}
        if start + size < len(out):
            result["Marker"] = str(start + size)
        return result
