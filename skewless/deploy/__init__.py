"""Deploying jobs beyond the local mini-cluster: manifests rendered from the registry."""
