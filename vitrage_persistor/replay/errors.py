# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

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
