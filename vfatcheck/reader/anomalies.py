"""Anomalies of a whole volume that need the finished walk: clusters the FAT allocates that no walked
chain reached (`lost-clusters`, what fsck.fat reclaims or turns into FSCKnnnn.REC files). Pure.

Kept apart from the walk itself (vfatcheck.reader.__init__), which stays one pass over the tree:
this is one more pass over the FAT, done only when asked (`vfatcheck scan`).
"""

from __future__ import annotations

from vfatcheck.layout.fat import BAD, FREE
from vfatcheck.reader import Anomaly, Volume
from vfatcheck.reader.volume import NO_OWNER
from vfatcheck.reader.work import CHECK_EVERY_CLUSTERS

LOST_CODE = "lost-clusters"
LISTED = 8  # cluster numbers named in the detail


def lost_clusters(volume: Volume) -> Anomaly | None:
    """One `lost-clusters` anomaly for every cluster whose FAT entry is neither free nor bad and that
    no chain of the walk took (the walk takes a file's chain only as far as its size needs plus one
    cluster, and does not enter a directory it refused); None when there is none. Its offset is the
    first lost cluster's place in the image. Checks the volume's deadline as the walk does."""
    fat = volume._fat
    table, owners, mask, bad = fat.raw_table, fat.owners, fat.mask, BAD[fat.fat_type]
    top = min(fat.geometry.max_cluster, len(owners) - 1, len(table) - 1)
    count, first = 0, 0
    named: list[int] = []
    for start in range(2, top + 1, CHECK_EVERY_CLUSTERS):
        fat.work.check()
        for cluster in range(start, min(start + CHECK_EVERY_CLUSTERS, top + 1)):
            if owners[cluster] != NO_OWNER:
                continue
            value = table[cluster] & mask
            if value in (FREE, bad):
                continue
            count += 1
            if len(named) < LISTED:
                named.append(cluster)
            first = first or cluster
    if not count:
        return None
    more = f" and {count - len(named)} more" if count > len(named) else ""
    size = fat.geometry.cluster_size
    detail = (
        f"{count} cluster(s) ({count * size} bytes) allocated in the FAT but reached by no chain: "
        f"{', '.join(map(str, named))}{more}"
    )
    return Anomaly(LOST_CODE, None, detail, fat.geometry.data_offset + (first - 2) * size)
