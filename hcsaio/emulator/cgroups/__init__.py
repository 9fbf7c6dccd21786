"""One cgroup per container: limits, statistics, the freezer, on cgroup v2
or v1 hierarchies."""
