"""Errors a replay reports to a person: one line each, no traceback."""


class ReplayError(Exception):
    """Base class: the message is shown as is by the command line."""


class EmptyHistory(ReplayError):
    def __init__(self):
        super().__init__('the event table is empty: nothing to replay')


class BeforeHistory(ReplayError):
    def __init__(self, target, first):
        super().__init__('%s is before the first replayable point %s' % (
            target, first))


class UnknownEvent(ReplayError):
    def __init__(self, event_id):
        super().__init__('no stored event has id %s' % event_id)


class ProcessorUnavailable(ReplayError):
    pass
