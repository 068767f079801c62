"""The local Flink session cluster, and deploying jobs to it (or to a local mini-cluster)."""
