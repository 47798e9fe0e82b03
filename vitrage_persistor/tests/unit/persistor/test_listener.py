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

"""The guard in front of oslo.messaging's dispatcher, and what it relies on.

The library tests fail loudly when oslo.messaging changes what
``persistor/listener.py`` works around: then the workaround must be
revisited (or dropped, if upstream fixed the bug).
"""

import itertools
from unittest import mock

from oslo_messaging._drivers import amqp as rpc_amqp
from oslo_messaging._drivers import common as rpc_common
from oslo_messaging.notify import dispatcher as notify_dispatcher

from vitrage_persistor.persistor import listener
from vitrage_persistor.tests import base

_ids = itertools.count()


class Incoming:
    """What the server hands the dispatcher: ``.ctxt`` and ``.message``."""

    def __init__(self, priority=..., message=None):
        self.ctxt = {}
        if message is None:
            message = {'publisher_id': 'p', 'event_type': 'e',
                       'payload': {'n': next(_ids)},
                       'message_id': 'm-%d' % next(_ids)}
            if priority is not ...:
                message['priority'] = priority
        self.message = message


class Endpoint:
    def __init__(self, result=None):
        self.batches = []
        self.result = result

    def sample(self, messages):
        self.batches.append(messages)
        return self.result


class TestLibrary(base.TestCase):

    def test_what_the_guard_relies_on_is_there(self):
        listener.check_library()

    def test_stock_dispatcher_still_fails_a_batch_on_a_null_priority(self):
        # If this stops raising, oslo.messaging fixed the bug the guard
        # works around; the guard can then go.
        stock = notify_dispatcher.BatchNotificationDispatcher(
            [Endpoint()], None)
        self.assertRaises(AttributeError, stock.dispatch,
                          [Incoming('sample'), Incoming(None)])

    def test_duplicate_cache_skips_repeats_unless_turned_off(self):
        self.addCleanup(setattr, rpc_amqp._MsgIdCache, 'DUP_MSG_CHECK_SIZE',
                        rpc_amqp._MsgIdCache.DUP_MSG_CHECK_SIZE)
        cache = rpc_amqp._MsgIdCache()
        cache.add('u1')
        self.assertRaises(rpc_common.DuplicateMessageError,
                          cache.check_duplicate_message,
                          {rpc_amqp.UNIQUE_ID: 'u1'})
        self.assertTrue(listener.disable_duplicate_cache())
        cache = rpc_amqp._MsgIdCache()
        cache.add('u1')
        self.assertEqual('u1', cache.check_duplicate_message(
            {rpc_amqp.UNIQUE_ID: 'u1'}))

    def test_check_library_names_what_is_missing(self):
        with mock.patch.object(listener, 'REQUIRED',
                               ('oslo_messaging.notify.dispatcher.Nope',)):
            exc = self.assertRaises(listener.LibraryChanged,
                                    listener.check_library)
        self.assertIn('dispatcher.Nope', str(exc))


class TestGuard(base.TestCase):

    def setUp(self):
        super().setUp()
        self.endpoint = Endpoint()
        self.stored = []
        self.db_ok = True

        def quarantine(rows):
            if self.db_ok:
                self.stored.extend(rows)
            return self.db_ok
        self.guard = listener.GuardedBatchDispatcher([self.endpoint],
                                                     quarantine)

    def test_bad_priorities_are_quarantined_the_rest_dispatched(self):
        good = [Incoming('SAMPLE'), Incoming('sample')]
        bad = [Incoming(None), Incoming(7), Incoming('INFO'), Incoming(),
               Incoming(message=['not', 'a', 'dict'])]
        requeue = self.guard.dispatch(good[:1] + bad + good[1:])
        self.assertEqual(set(), requeue)
        self.assertEqual(1, len(self.endpoint.batches))
        self.assertEqual([g.message['message_id'] for g in good],
                         [m['metadata']['message_id']
                          for m in self.endpoint.batches[0]])
        self.assertEqual(['bad_priority'] * 5,
                         [r.reason for r in self.stored])
        self.assertEqual({'dispatcher'}, {r.source for r in self.stored})
        self.assertIn("priority None is a NoneType", self.stored[0].detail)
        self.assertEqual(bad[0].message['message_id'],
                         self.stored[0].message_id)

    def test_database_down_requeues_only_the_bad_ones(self):
        self.db_ok = False
        bad = Incoming(None)
        requeue = self.guard.dispatch([Incoming('sample'), bad])
        self.assertEqual({bad}, requeue)
        self.assertEqual(1, len(self.endpoint.batches))

    def test_endpoint_requeue_still_requeues_the_good_ones(self):
        self.endpoint.result = 'requeue'
        good = Incoming('sample')
        self.assertEqual({good}, self.guard.dispatch([good, Incoming(1)]))
        self.assertEqual(1, len(self.stored))

    def test_all_bad_never_calls_the_endpoint(self):
        self.assertEqual(set(), self.guard.dispatch([Incoming(None)]))
        self.assertEqual([], self.endpoint.batches)
