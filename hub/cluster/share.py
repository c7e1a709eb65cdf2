"""Which cameras a node should take or hand back: a pure function of the lease table.

Every node runs the same rule on the same table, so no coordinator is needed: shares are
filled by capacity (water-filling), free cameras are ranked per node by rendezvous hashing
(nodes reach for different cameras first), and a node over its share hands back one camera
per round, so a node that joins takes its share without a storm of reconnects.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Plan", "fair_shares", "plan", "rendezvous_rank"]


@dataclass(frozen=True, slots=True)
class Plan:
    acquire: tuple[str, ...]  # free cameras to lease, best first
    release: tuple[str, ...]  # owned cameras to hand back


def fair_shares(total: int, capacities: Mapping[str, int]) -> dict[str, float]:
    """Each live node's share of `total` cameras: even, except that no node gets more than
    its capacity and what a small node cannot take is spread over the others."""
    shares: dict[str, float] = {}
    left, open_nodes = float(total), sorted(capacities, key=lambda n: capacities[n])
    while open_nodes:
        even = left / len(open_nodes)
        node = open_nodes[0]
        if capacities[node] <= even:
            shares[node] = float(capacities[node])
            left -= capacities[node]
            open_nodes.pop(0)
            continue
        for node in open_nodes:
            shares[node] = even
        break
    return shares


def rendezvous_rank(node: str, cameras: Collection[str]) -> list[str]:
    """`cameras` in this node's order of preference (highest random weight first)."""

    def weight(camera: str) -> bytes:
        return hashlib.blake2b(f"{node}\0{camera}".encode(), digest_size=8).digest()

    return sorted(cameras, key=weight, reverse=True)


def plan(
    node: str,
    cameras: Sequence[str],
    owners: Mapping[str, str],
    capacities: Mapping[str, int],
    *,
    may_release: bool,
    avoid: Collection[str] = (),
) -> Plan:
    """What `node` does this round. `owners`: camera -> node holding its lease; `capacities`:
    live nodes (this one included); `may_release`: the rebalance rate limit allows a hand-back;
    `avoid`: cameras this node handed back lately (not taken again at once, or they would
    bounce between nodes)."""
    if node not in capacities:
        return Plan((), ())
    shares = fair_shares(len(cameras), capacities)
    held = Counter(owners[c] for c in cameras if c in owners)
    mine = [c for c in cameras if owners.get(c) == node]
    ceiling = min(capacities[node], math.ceil(shares[node]))
    free = [c for c in cameras if c not in owners and c not in avoid]
    take = rendezvous_rank(node, free)[: max(0, ceiling - len(mine))]
    release: list[str] = []
    if may_release and not take:
        someone_short = any(held[n] < math.floor(shares[n]) for n in capacities if n != node)
        over = len(mine) > ceiling or (someone_short and len(mine) > math.floor(shares[node]))
        if over:
            release = rendezvous_rank(node, mine)[-1:]  # the camera this node wants least
    return Plan(tuple(take), tuple(release))
