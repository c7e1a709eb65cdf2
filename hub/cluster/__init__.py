"""Several hub nodes sharing one district: camera leases, fair shares, hand-over."""
