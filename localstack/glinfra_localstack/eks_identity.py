"""Amazon EKS add-ons and Pod Identity associations (moto has neither).

Served from our own store, after the EKS API reference:

* CreateAddon, DescribeAddon, ListAddons, UpdateAddon, DeleteAddon. An add-on is
  ``CREATING`` then ``ACTIVE`` after ``GLINFRA_EMULATOR_EKS_UPDATE_SECONDS`` (default 1);
  UpdateAddon returns an ``AddonUpdate`` that DescribeUpdate (with ``addonName``) follows,
  the add-on ``UPDATING`` meanwhile; DeleteAddon leaves it ``DELETING`` as long. A second
  add-on of a name is ResourceInUseException (409), a change of a busy add-on too; an
  unknown add-on, a malformed version or ``resolveConflicts``, or an association for a
  service account the add-on does not use is InvalidParameterException; what is missing
  is ResourceNotFoundException (404).
* ``podIdentityAssociations`` of an add-on are associations the add-on owns (``ownerArn``
  is the add-on's ARN): listed by DescribeAddon as ARNs, replaced as a whole by
  UpdateAddon, deleted with the add-on; UpdatePodIdentityAssociation and
  DeletePodIdentityAssociation refuse them (InvalidRequestException).
* CreatePodIdentityAssociation, DescribePodIdentityAssociation,
  UpdatePodIdentityAssociation, DeletePodIdentityAssociation, ListPodIdentityAssociations
  (filters ``namespace``, ``serviceAccount``; ``maxResults`` 1 to 100, ``nextToken``): one
  association per service account of a cluster (ResourceInUseException), role ARNs must
  be IAM role ARNs (InvalidParameterException).
* TagResource, UntagResource, ListTagsForResource of add-on and association ARNs (other
  ARNs go to moto). DeleteCluster removes the cluster's add-ons and associations.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from localstack.aws.api import RequestContext

from glinfra_localstack.base import RegionStores, forward_to_moto, new_id, now, operation
from glinfra_localstack.eks_errors import in_use, invalid_parameter, invalid_request, not_found

# The add-ons served: their default version and the service accounts they run as.
ADDONS = {
    "vpc-cni": ("v1.19.2-eksbuild.1", ("aws-node",)),
    "eks-pod-identity-agent": ("v1.3.4-eksbuild.1", ()),
    "coredns": ("v1.11.4-eksbuild.2", ()),
    "kube-proxy": ("v1.31.3-eksbuild.2", ()),
    "aws-ebs-csi-driver": ("v1.38.1-eksbuild.1", ("ebs-csi-controller-sa",)),
    "aws-efs-csi-driver": ("v2.1.4-eksbuild.1", ("efs-csi-controller-sa",)),
}
VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
RESOLVE = ("OVERWRITE", "NONE", "PRESERVE")


@dataclass
class Association:
    id: str
    arn: str
    cluster: str
    namespace: str
    service_account: str
    role_arn: str
    tags: dict = field(default_factory=dict)
    owner: str | None = None
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)

    def view(self) -> dict:
        out = {
            "clusterName": self.cluster,
            "namespace": self.namespace,
            "serviceAccount": self.service_account,
            "roleArn": self.role_arn,
            "associationArn": self.arn,
            "associationId": self.id,
            "tags": dict(self.tags),
            "createdAt": self.created,
            "modifiedAt": self.modified,
            "disableSessionTags": False,
        }
        if self.owner:
            out["ownerArn"] = self.owner
        return out

    def summary(self) -> dict:
        out = {k: v for k, v in self.view().items() if k in ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId", "ownerArn")}
        return out


@dataclass
class Addon:
    name: str
    arn: str
    cluster: str
    version: str
    role_arn: str | None
    tags: dict
    status: str = "CREATING"
    until: datetime | None = None  # when the status in progress ends
    associations: list[str] = field(default_factory=list)  # association ids
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)

    def view(self, store: "IdentityStore") -> dict:
        out = {
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": []},
            "addonArn": self.arn,
            "createdAt": self.created,
            "modifiedAt": self.modified,
            "tags": dict(self.tags),
            "publisher": "eks",
            "owner": "aws",
            "podIdentityAssociations": [store.associations[i].arn for i in self.associations if i in store.associations],
        }
        if self.role_arn:
            out["serviceAccountRoleArn"] = self.role_arn
        return out


class IdentityStore:
    def __init__(self) -> None:
        self.addons: dict[tuple[str, str], Addon] = {}
        self.associations: dict[str, Association] = {}


stores = RegionStores(IdentityStore)


def _association_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "a-" + "".join(secrets.choice(alphabet) for _ in range(17))


def _page(items: list, request: dict) -> tuple[list, str | None]:
    size = request.get("maxResults")
    if size is not None and not 1 <= int(size) <= 100:
        raise invalid_parameter("maxResults must be between 1 and 100.")
    size = int(size or 100)
    start = int(request.get("nextToken") or 0)
    token = str(start + size) if start + size < len(items) else None
    return items[start : start + size], token


def _check_role(role_arn: Any, what: str = "roleArn") -> str:
    if not isinstance(role_arn, str) or not ROLE_ARN.match(role_arn):
        raise invalid_parameter(f"{what} {role_arn!r} is not a valid IAM role ARN.")
    return role_arn


class IdentityOps:
    """The add-on and Pod Identity operations of the EKS provider (mixed into it: it
    has ``_cluster`` and the update records)."""

    # ------------------------------------------------------------------ helpers
    def _settle(self, context: RequestContext) -> None:
        """Ends the add-on states whose time has come (CREATING, DELETING)."""
        store = stores(context)
        t = now()
        for key, addon in list(store.addons.items()):
            if addon.until is None or addon.until > t:
                continue
            if addon.status == "CREATING":
                addon.status, addon.until = "ACTIVE", None
            elif addon.status == "DELETING":
                for aid in addon.associations:
                    store.associations.pop(aid, None)
                del store.addons[key]

    def _addon(self, context: RequestContext, cluster: str, name: str) -> Addon:
        self._settle(context)
        self._cluster(context, cluster)
        addon = stores(context).addons.get((cluster, name or ""))
        if addon is None:
            raise not_found(f"No addon: {name} found in cluster: {cluster}")
        return addon

    def _new_association(self, context, cluster, namespace, sa, role_arn, tags, owner=None) -> Association:
        store = stores(context)
        for a in store.associations.values():
            if a.cluster == cluster and a.namespace == namespace and a.service_account == sa:
                raise in_use(f"Association already exists: {a.id}")
        aid = _association_id()
        association = Association(
            id=aid,
            arn=f"arn:aws:eks:{context.region}:{context.account_id}:podidentityassociation/{cluster}/{aid}",
            cluster=cluster,
            namespace=namespace,
            service_account=sa,
            role_arn=_check_role(role_arn),
            tags=dict(tags or {}),
            owner=owner,
        )
        store.associations[aid] = association
        return association

    def _addon_associations(self, context, cluster, name: str, arn: str, requested: list | None) -> list[str]:
        """Makes the associations an add-on asks for; returns their ids."""
        allowed = ADDONS[name][1]
        ids = []
        seen = set()
        for p in requested or []:
            sa, role = p.get("serviceAccount"), p.get("roleArn")
            if sa not in allowed:
                raise invalid_parameter(f"Service account {sa} is not used by addon {name}.")
            if sa in seen:
                raise invalid_parameter(f"Service account {sa} appears more than once.")
            seen.add(sa)
            _check_role(role)
        for p in requested or []:
            # add-ons run in kube-system
            ids.append(self._new_association(context, cluster, "kube-system", p["serviceAccount"], p["roleArn"], {}, owner=arn).id)
        return ids

    # ------------------------------------------------------------------ add-ons
    @operation("CreateAddon")
    def create_addon(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        cluster = self._cluster(context, request.get("clusterName")).name
        name = request.get("addonName") or ""
        if name not in ADDONS:
            raise invalid_parameter(f"Addon {name} specified is not supported")
        version = request.get("addonVersion") or ADDONS[name][0]
        if not VERSION.match(version):
            raise invalid_parameter(f"Addon version {version} specified is not supported")
        if request.get("resolveConflicts") not in (None, *RESOLVE):
            raise invalid_parameter(f"Invalid resolveConflicts {request.get('resolveConflicts')!r}.")
        role = request.get("serviceAccountRoleArn")
        if role is not None:
            _check_role(role, "serviceAccountRoleArn")
        store = stores(context)
        if (cluster, name) in store.addons:
            raise in_use("Addon already exists.")
        arn = f"arn:aws:eks:{context.region}:{context.account_id}:addon/{cluster}/{name}/{new_id()}"
        ids = self._addon_associations(context, cluster, name, arn, request.get("podIdentityAssociations"))
        addon = Addon(
            name=name,
            arn=arn,
            cluster=cluster,
            version=version,
            role_arn=role,
            tags=dict(request.get("tags") or {}),
            until=now() + timedelta(seconds=self._seconds()),
            associations=ids,
        )
        store.addons[(cluster, name)] = addon
        return {"addon": addon.view(store)}

    def _seconds(self) -> float:
        from glinfra_localstack.eks import update_seconds

        return update_seconds()

    @operation("DescribeAddon")
    def describe_addon(self, context: RequestContext, request: dict) -> dict:
        addon = self._addon(context, request.get("clusterName"), request.get("addonName"))
        return {"addon": addon.view(stores(context))}

    @operation("ListAddons")
    def list_addons(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        cluster = self._cluster(context, request.get("clusterName")).name
        names = sorted(n for (c, n) in stores(context).addons if c == cluster)
        page, token = _page(names, request)
        return {"addons": page, **({"nextToken": token} if token else {})}

    @operation("UpdateAddon")
    def update_addon(self, context: RequestContext, request: dict) -> dict:
        cluster = self._cluster(context, request.get("clusterName"))
        addon = self._addon(context, cluster.name, request.get("addonName"))
        if addon.status not in ("ACTIVE", "DEGRADED"):
            raise in_use(f"Addon {addon.name} cannot be updated as it is currently in {addon.status} state")
        if request.get("resolveConflicts") not in (None, *RESOLVE):
            raise invalid_parameter(f"Invalid resolveConflicts {request.get('resolveConflicts')!r}.")
        version = request.get("addonVersion")
        if version is not None and not VERSION.match(version):
            raise invalid_parameter(f"Addon version {version} specified is not supported")
        role = request.get("serviceAccountRoleArn")
        if role:
            _check_role(role, "serviceAccountRoleArn")
        pods = request.get("podIdentityAssociations")
        params = []
        if version is not None:
            params.append({"type": "AddonVersion", "value": version})
        if role is not None:
            params.append({"type": "ServiceAccountRoleArn", "value": role})
        if pods is not None:
            params.append({"type": "PodIdentityAssociations", "value": ",".join(p.get("serviceAccount", "") for p in pods)})
            # validated now, applied when the update ends
            for p in pods:
                if p.get("serviceAccount") not in ADDONS[addon.name][1]:
                    raise invalid_parameter(f"Service account {p.get('serviceAccount')} is not used by addon {addon.name}.")
                _check_role(p.get("roleArn"))
        store = stores(context)

        def apply() -> None:
            if version is not None:
                addon.version = version
            if role is not None:
                addon.role_arn = role or None
            if pods is not None:
                for aid in addon.associations:
                    store.associations.pop(aid, None)
                addon.associations = self._addon_associations(context, cluster.name, addon.name, addon.arn, pods)
            addon.modified = now()
            addon.status = "ACTIVE"

        result = self._record(context, cluster, "AddonUpdate", params, apply, addon=addon.name)
        addon.status = "UPDATING"
        return result

    @operation("DeleteAddon")
    def delete_addon(self, context: RequestContext, request: dict) -> dict:
        addon = self._addon(context, request.get("clusterName"), request.get("addonName"))
        if addon.status != "DELETING":
            addon.status = "DELETING"
            addon.until = now() + timedelta(seconds=self._seconds())
        return {"addon": addon.view(stores(context))}

    # ------------------------------------------------------------------ associations
    def _association(self, context: RequestContext, cluster: str, aid: str) -> Association:
        self._cluster(context, cluster)
        a = stores(context).associations.get(aid or "")
        if a is None or a.cluster != cluster:
            raise not_found(f"No Pod Identity Association found for id: {aid}")
        return a

    @operation("CreatePodIdentityAssociation")
    def create_pod_identity_association(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        cluster = self._cluster(context, request.get("clusterName")).name
        namespace, sa = request.get("namespace"), request.get("serviceAccount")
        if not namespace or not sa:
            raise invalid_parameter("namespace and serviceAccount are required.")
        a = self._new_association(context, cluster, namespace, sa, request.get("roleArn"), request.get("tags"))
        return {"association": a.view()}

    @operation("DescribePodIdentityAssociation")
    def describe_pod_identity_association(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        return {"association": self._association(context, request.get("clusterName"), request.get("associationId")).view()}

    @operation("UpdatePodIdentityAssociation")
    def update_pod_identity_association(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        a = self._association(context, request.get("clusterName"), request.get("associationId"))
        if a.owner:
            raise invalid_request(f"Association {a.id} is owned by {a.owner}: update the add-on instead.")
        if request.get("roleArn") is not None:
            a.role_arn = _check_role(request.get("roleArn"))
            a.modified = now()
        return {"association": a.view()}

    @operation("DeletePodIdentityAssociation")
    def delete_pod_identity_association(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        a = self._association(context, request.get("clusterName"), request.get("associationId"))
        if a.owner:
            raise invalid_request(f"Association {a.id} is owned by {a.owner}: delete the add-on instead.")
        del stores(context).associations[a.id]
        return {"association": a.view()}

    @operation("ListPodIdentityAssociations")
    def list_pod_identity_associations(self, context: RequestContext, request: dict) -> dict:
        self._settle(context)
        cluster = self._cluster(context, request.get("clusterName")).name
        ns, sa = request.get("namespace"), request.get("serviceAccount")
        found = [
            a.summary()
            for a in sorted(stores(context).associations.values(), key=lambda a: a.created)
            if a.cluster == cluster and (ns is None or a.namespace == ns) and (sa is None or a.service_account == sa)
        ]
        page, token = _page(found, request)
        return {"associations": page, **({"nextToken": token} if token else {})}

    # ------------------------------------------------------------------ tags
    def _tagged(self, context: RequestContext, arn: str):
        if ":addon/" not in arn and ":podidentityassociation/" not in arn:
            return None
        self._settle(context)
        store = stores(context)
        for item in [*store.addons.values(), *store.associations.values()]:
            if item.arn == arn:
                return item
        raise not_found(f"Resource {arn} not found.")

    @operation("TagResource")
    def tag_resource(self, context: RequestContext, request: dict):
        item = self._tagged(context, request.get("resourceArn") or "")
        if item is None:
            return forward_to_moto(context)
        item.tags.update(request.get("tags") or {})
        return {}

    @operation("UntagResource")
    def untag_resource(self, context: RequestContext, request: dict):
        item = self._tagged(context, request.get("resourceArn") or "")
        if item is None:
            return forward_to_moto(context)
        for key in request.get("tagKeys") or []:
            item.tags.pop(key, None)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, context: RequestContext, request: dict):
        item = self._tagged(context, request.get("resourceArn") or "")
        if item is None:
            return forward_to_moto(context)
        return {"tags": dict(item.tags)}

    def _forget_cluster(self, context: RequestContext, cluster: str) -> None:
        store = stores(context)
        for key in [k for k in store.addons if k[0] == cluster]:
            del store.addons[key]
        for aid in [i for i, a in store.associations.items() if a.cluster == cluster]:
            del store.associations[aid]
