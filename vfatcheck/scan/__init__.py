"""`vfatcheck scan`: examine an image someone else wrote (docs/scan.md).

partitions (what the image holds), forms (form statistics, NT bits, dummy collision risk),
disagree (back-ends against the reference reader), fsck (what a repair would lose) and report /
render are pure; run does the I/O.
"""
