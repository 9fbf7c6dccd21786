"""What runs a compute system's processes: the namespace runtime (real Linux
containers through hcsemu-shim), the host runtime (host processes), how one is
chosen, stdio, process waiting and the base layer builder."""
