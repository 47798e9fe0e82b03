"""Graph replay: the entity graph at any time, from snapshots and events.

``graph_at`` (:mod:`.engine`) starts from the newest usable JSON snapshot
at or before the target and feeds the stored events after it, in the
documented total order, through Vitrage's own entity-graph processor
(:mod:`.processor`). The rest of the package turns graphs into pictures
and diffs, keeps a warm standby current and expires history safely.
"""
