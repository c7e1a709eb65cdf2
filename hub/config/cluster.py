"""Several hub nodes sharing one district: camera leases on NATS JetStream key-value."""

from __future__ import annotations

import re
import socket
from typing import Annotated, Self

from pydantic import AfterValidator, Field, HttpUrl, model_validator

from ._base import Section, check_slug
from .web import WebConfig

__all__ = ["ClusterConfig", "advertised_url", "node_name"]

_NATS_SCHEMES = ("nats://", "tls://")


def _check_nats_url(value: str) -> str:
    if not value.startswith(_NATS_SCHEMES) or value.endswith("//"):
        raise ValueError(f"not a nats:// URL: {value!r}")
    return value


class ClusterConfig(Section):
    """Off (no `nats_url`): one node owns every camera, as on the embedded defaults."""

    nats_url: Annotated[str, AfterValidator(_check_nats_url)] | None = Field(
        default=None,
        repr=False,  # may carry a user and password
        description="NATS server with JetStream, e.g. nats://10.0.0.5:4222.",
    )
    node: Annotated[str, AfterValidator(check_slug)] | None = Field(
        default=None, description="This node's name (`bkhub serve --node NAME` overrides it)."
    )
    advertise_url: HttpUrl | None = Field(
        default=None,
        description=(
            "This node's console as the other nodes reach it (they forward live views of its"
            " cameras there), e.g. http://10.0.0.11:8000; default from web.host and web.port."
        ),
    )
    capacity: int = Field(default=64, ge=1, le=4096, description="Most cameras this node takes.")
    bucket: Annotated[str, AfterValidator(check_slug)] = Field(
        default="bkhub-leases", description="JetStream key-value bucket of leases and nodes."
    )
    lease_ttl_s: float = Field(
        default=10.0, ge=2.0, le=120.0, description="A lease not renewed this long lapses."
    )
    renew_every_s: float = Field(
        default=2.0, gt=0.0, le=30.0, description="How often a node renews and rebalances."
    )
    rebalance_every_s: float = Field(
        default=5.0,
        gt=0.0,
        le=600.0,
        description="A node over its share hands back at most one camera this often.",
    )
    nats_down_grace_s: float = Field(
        default=90.0,
        ge=0.0,
        le=3600.0,
        description="NATS unreachable this long: the node stops its cameras (until back).",
    )

    @property
    def enabled(self) -> bool:
        return self.nats_url is not None

    @model_validator(mode="after")
    def _renew_well_inside_ttl(self) -> Self:
        # Three renewals per lease lifetime: one lost reply must not cost a camera.
        if self.renew_every_s * 3 > self.lease_ttl_s:
            raise ValueError("cluster.renew_every_s must be at most a third of lease_ttl_s")
        return self


def node_name(cfg: ClusterConfig) -> str:
    """This node's name: the configured one, else the host name made an id."""
    if cfg.node is not None:
        return cfg.node
    host = re.sub(r"[^a-z0-9_-]+", "-", socket.gethostname().lower()).strip("-_")
    return check_slug(host[:63] or "node")


def advertised_url(cfg: ClusterConfig, web: WebConfig) -> str:
    """Where the other nodes reach this node's console, without a trailing slash."""
    if cfg.advertise_url is not None:
        return str(cfg.advertise_url).rstrip("/")
    # A wildcard listener is reachable at the machine's name; a loopback one only from here.
    host = socket.gethostname() if web.host in ("0.0.0.0", "::") else web.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{web.port}"
