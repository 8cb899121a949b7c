"""glinfra's LocalStack community providers for eks, rds, elasticache and kafka.

The providers send every operation to the moto build bundled with LocalStack and
fill, in this package, the operations the glinfra topology needs that moto lacks
or gets wrong. See localstack/README.md for the list.
"""
