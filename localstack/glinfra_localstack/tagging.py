"""Resource Groups Tagging API: LocalStack's own provider (served by its bundled moto),
with GetResources also returning LocalStack's own S3 buckets and KMS keys.

AWS (API reference, GetResources,
https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html)
returns the tagged resources of the caller's account in the Region of the call,
S3 buckets and KMS keys among them. moto's GetResources looks for buckets and keys
in moto's S3 and KMS backends, but LocalStack serves S3 and KMS with its own
providers, whose state is in ``localstack.services.s3.models.s3_stores`` and
``localstack.services.kms.models.kms_stores``; moto's backends stay empty, so
GetResources never returned a bucket or a key made through the emulator.

Here moto's resource generator (``ResourceGroupsTaggingAPIBackend._get_resources_generator``,
which GetResources pages through) goes on, after moto's own resources, with:

- the buckets of the caller's account located in the Region of the call (the
  bucket's region: its LocationConstraint, us-east-1 for none), ARN
  ``arn:aws:s3:::<bucket>``, for no ``ResourceTypeFilters`` or one of ``s3``,
  ``s3:bucket``;
- the KMS keys of the account and Region, ARN ``arn:aws:kms:<region>:<account>:key/<id>``,
  for no ``ResourceTypeFilters`` or one of ``kms``, ``kms:key``.

``TagFilters`` are applied as moto applies them to its own resources (a filter
matches a resource with its key and, when it names values, one of them; filters are
ANDed). As moto does for its S3 buckets (and nearly all its resource types), a
resource without tags is left out. moto's own pagination (``ResourcesPerPage``,
``TagsPerPage``, ``PaginationToken``) applies to all of it.

Known difference: AWS also returns a resource that had tags and has none left (with an
empty tag list); here, as in moto, it is left out.
"""

from __future__ import annotations

from typing import Any, Iterator

from localstack.services.resourcegroupstaggingapi.provider import ResourcegroupstaggingapiProvider

S3_TYPES = ("s3", "s3:bucket")
KMS_TYPES = ("kms", "kms:key")


def matches(tags: list[dict[str, str]], tag_filters: list[dict[str, Any]] | None) -> bool:
    """Whether ``tags`` pass ``tag_filters``, as moto's GetResources decides it: every
    filter needs a tag with its ``Key`` and, when it lists ``Values``, one of them."""
    return all(
        any(
            tag["Key"] == tag_filter["Key"]
            and (not tag_filter.get("Values") or tag["Value"] in tag_filter["Values"])
            for tag in tags
        )
        for tag_filter in tag_filters or []
    )


def _selected(types: tuple[str, ...], resource_type_filters: list[str] | None) -> bool:
    return not resource_type_filters or any(t in resource_type_filters for t in types)


def _tag_list(tag_map: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tag_map.items()]


def native_resources(
    account_id: str,
    region: str,
    tag_filters: list[dict[str, Any]] | None,
    resource_type_filters: list[str] | None,
) -> list[dict[str, Any]]:
    """GetResources items for LocalStack's own buckets and keys of ``account_id`` in
    ``region``, read once (so a change between two pages cannot break the iteration)."""
    found = []
    if _selected(S3_TYPES, resource_type_filters):
        from localstack.services.s3.models import s3_stores

        store = s3_stores[account_id][region]
        # ``buckets`` holds the account's buckets of every region (a cross-region
        # attribute); a bucket's tags are in the store of its own region, by bucket ARN.
        for bucket in list(store.buckets.values()):
            if bucket.bucket_region == region:
                found.append((bucket.bucket_arn, store.tags.get_tags(bucket.bucket_arn)))
    if _selected(KMS_TYPES, resource_type_filters):
        from localstack.services.kms.models import kms_stores

        store = kms_stores[account_id][region]
        for key in list(store.keys.values()):
            arn = key.metadata["Arn"]
            found.append((arn, store.tags.get_tags(arn)))
    items = []
    for arn, tag_map in found:
        tags = _tag_list(tag_map)
        if tags and matches(tags, tag_filters):
            items.append({"ResourceARN": arn, "Tags": tags})
    return items


def include_native_resources() -> None:
    """Makes moto's GetResources generator yield LocalStack's buckets and keys after
    moto's own resources (once)."""
    from moto.resourcegroupstaggingapi.models import ResourceGroupsTaggingAPIBackend

    original = ResourceGroupsTaggingAPIBackend._get_resources_generator
    if getattr(original, "glinfra", False):
        return

    def _get_resources_generator(self, tag_filters=None, resource_type_filters=None) -> Iterator[dict[str, Any]]:
        yield from original(self, tag_filters=tag_filters, resource_type_filters=resource_type_filters)
        yield from native_resources(self.account_id, self.region_name, tag_filters, resource_type_filters)

    _get_resources_generator.glinfra = True
    ResourceGroupsTaggingAPIBackend._get_resources_generator = _get_resources_generator


class GlinfraResourcegroupstaggingapiProvider(ResourcegroupstaggingapiProvider):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        include_native_resources()
