"""S3: LocalStack's own provider, with conditional deletes as AWS does them.

LocalStack's S3 implements conditional writes (``If-None-Match: *`` and
``If-Match: <etag>`` on PutObject, answering 412 PreconditionFailed), which glinfra's
S3 state backend relies on for its state and lock objects. It answers DeleteObject
with ``If-Match`` 501 NotImplemented ("only supported for directory buckets"), which
was AWS's rule until 2025-09-16; since then general purpose buckets honour it too
(user guide, "How to perform conditional deletes"; API reference, DeleteObject):

- ``If-Match: <etag>``: the current version is deleted only when its ETag is that one;
  otherwise 412 PreconditionFailed (Condition ``If-Match``) and the object stays.
- ``If-Match: *``: deleted only when the object exists.
- With ``If-Match``, a key whose current version is absent or a delete marker answers
  404 NoSuchKey. "Conditional delete evaluations only apply to the current version of
  the object."

glinfra releases a stack lock with ``DeleteObject If-Match: <its lock's ETag>``, so
that a holder whose lock was taken over can never delete its successor's lock.

Here the precondition is checked under the same per-key lock LocalStack's PutObject
checks its own preconditions under, and the delete then runs as LocalStack does it
(a delete marker in a versioned bucket). ``x-amz-if-match-size`` and
``x-amz-if-match-last-modified-time`` stay LocalStack's (directory buckets only, as
on AWS); DeleteObjects' per-object ETag is not filled in (glinfra does not use it).
"""

from __future__ import annotations

from localstack.aws.api import RequestContext
from localstack.aws.api.s3 import NoSuchKey, PreconditionFailed
from localstack.services.s3.models import S3DeleteMarker
from localstack.services.s3.provider import S3Provider


class GlinfraS3Provider(S3Provider):
    def delete_object(self, context: RequestContext, bucket, key, *args, if_match=None, **kwargs):
        if not if_match:
            return super().delete_object(context, bucket, key, *args, **kwargs)
        _store, s3_bucket = self._get_cross_account_bucket(context, bucket)
        lock = self._preconditions_locks[bucket][key]
        with lock:
            current = s3_bucket.objects.get(key)
            if current is None or isinstance(current, S3DeleteMarker):
                raise NoSuchKey("The specified key does not exist.", Key=key)
            if if_match.strip() != "*" and current.etag != if_match.strip().strip('"'):
                raise PreconditionFailed(
                    "At least one of the pre-conditions you specified did not hold",
                    Condition="If-Match",
                )
            return super().delete_object(context, bucket, key, *args, **kwargs)
