"""The errors of the EKS API reference that both EKS gap fills (eks.py for clusters,
node groups and updates, eks_identity.py for add-ons and Pod Identity) answer with."""

from __future__ import annotations

from glinfra_localstack.base import AwsError


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, 400)


def invalid_request(message: str) -> AwsError:
    # "The request is invalid given the state of the cluster."
    return AwsError("InvalidRequestException", message, 400)


def in_use(message: str) -> AwsError:
    return AwsError("ResourceInUseException", message, 409)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404)
