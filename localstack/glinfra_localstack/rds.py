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
"""

from __future__ import annotations

from typing import Any

from localstack.aws.api import RequestContext

from glinfra_localstack.base import (
    AwsError,
    GapFillProvider,
    forward_to_moto,
    forward_with,
    moto_render,
    new_id,
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


class RdsProvider(GapFillProvider):
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
        group = groups.get(name or "") or groups.get((name or "").lower())
        if group is None:
            raise AwsError("DBSubnetGroupNotFoundFault", f"DBSubnetGroup {name} not found.", 404)
        return group

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
            sg_name = getattr(sg, "name", sg) if sg is not None else getattr(db, "db_subnet_group_name", None)
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

    # ------------------------------------------------------------------ instances
    def _default_rds_key(self, account: str, region: str) -> str:
        key = (account, region)
        if key not in self._default_keys:
            self._default_keys[key] = f"arn:aws:kms:{region}:{account}:key/{new_id()}"
        return self._default_keys[key]

    def _fix_instance(self, context: RequestContext, identifier: str | None) -> None:
        db = self._backend(context).databases.get(identifier or "")
        if db is None:
            return
        if getattr(db, "kms_key_id", None) == "default_kms_key_id":
            # moto's placeholder; AWS reports the ARN of the account's aws/rds key
            db.kms_key_id = self._default_rds_key(context.account_id, context.region) if db.storage_encrypted else None

    @operation("CreateDBInstance")
    def create_db_instance(self, context: RequestContext, request: dict):
        if request.get("DBSubnetGroupName"):
            self._subnet_group(context, request["DBSubnetGroupName"])
        if request.get("DBParameterGroupName"):
            self._parameter_group(context, request["DBParameterGroupName"])
        response = forward_to_moto(context)
        if isinstance(response, dict):
            self._fix_instance(context, request.get("DBInstanceIdentifier"))
            db = self._backend(context).databases.get(request.get("DBInstanceIdentifier"))
            if db is not None:
                response = moto_render(context, {"DBInstance": db})
        return response

    @operation("CreateDBInstanceReadReplica")
    def create_db_instance_read_replica(self, context: RequestContext, request: dict):
        from moto.rds.models import DBParameterGroup, rds_backends

        params = dict(request)
        source = params.get("SourceDBInstanceIdentifier") or ""
        parts = source.split(":")
        if source.startswith("arn:") and len(parts) >= 7 and parts[3] != context.region:
            source_region, db_name = parts[3], parts[-1]
            primary = rds_backends[context.account_id][source_region].databases.get(db_name)
            if primary is None:
                raise AwsError("DBInstanceNotFound", f"DBInstance {source} not found.", 404)
            if primary.storage_encrypted and not params.get("KmsKeyId"):
                raise AwsError(
                    "InvalidParameterCombination",
                    "For an encrypted cross-Region read replica, KmsKeyId must name a KMS key in the destination Region.",
                    400,
                )
            target = self._backend(context)
            if params.get("DBParameterGroupName"):
                self._parameter_group(context, params["DBParameterGroupName"])
            else:
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
            if params.get("DBSubnetGroupName"):
                self._subnet_group(context, params["DBSubnetGroupName"])
            if not params.get("AvailabilityZone"):
                # moto would report the source's AZ (in the source Region)
                params["AvailabilityZone"] = f"{context.region}a"
        response = forward_with(context, params)
        if isinstance(response, dict):
            self._fix_instance(context, params.get("DBInstanceIdentifier"))
            replica = self._backend(context).databases.get(params.get("DBInstanceIdentifier"))
            if replica is not None:
                # moto's replica is a shallow copy of the source: it inherits the source's deletion
                # protection (AWS: the replica's own DeletionProtection, default false) and shares
                # its managed master-user secret (deleting the replica would delete the secret)
                replica.deletion_protection = bool(params.get("DeletionProtection", False))
                if getattr(replica, "manage_master_user_password", False):
                    replica.manage_master_user_password = False
                    replica.master_user_secret = None
                response = moto_render(context, {"DBInstance": replica})
        return response

    @operation("DeleteDBInstance")
    def delete_db_instance(self, context: RequestContext, request: dict):
        from moto.rds.models import rds_backends

        backend = self._backend(context)
        db = backend.databases.get(request.get("DBInstanceIdentifier") or "")
        if db is None or db.deletion_protection:
            return forward_to_moto(context)  # moto's DBInstanceNotFound / InvalidParameterCombination
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
        return forward_to_moto(context)

    # ------------------------------------------------------------------ parameter groups
    def _parameter_group(self, context: RequestContext, name: str):
        groups = self._backend(context).db_parameter_groups
        group = groups.get(name or "") or groups.get((name or "").lower())
        if group is None:
            raise AwsError("DBParameterGroupNotFound", f"DBParameterGroup not found: {name}", 404)
        return group

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
