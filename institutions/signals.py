"""Signals other modules listen to, so the registry never imports them."""

from django.dispatch import Signal

# Sent inside ``institution_merge``'s transaction, before the duplicate's records
# are re-pointed to the survivor (kwargs: duplicate, survivor, actor). A module
# whose rows cannot simply follow (e.g. one active maintenance plan per
# institution) settles them here.
institution_merging = Signal()

# Sent inside ``institution_reassign``'s transaction after the new owner is
# saved (kwargs: institution, moved_branch, actor): work that belonged to the
# old owner follows or ends.
institution_reassigned = Signal()
