"""On-disk records of FAT12/16/32 in the specification's vocabulary. Pure: stdlib only, no I/O."""
