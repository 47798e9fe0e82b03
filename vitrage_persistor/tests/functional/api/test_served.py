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

"""The API as deployed: uWSGI over a real database, probed by schemathesis.

schemathesis (from PyPI) reads the OpenAPI document the API serves and
sends generated requests, valid and invalid, to every operation; the run
fails on any 5xx and on any response that breaks the document. Its budget
is bounded (``VP_SCHEMATHESIS_EXAMPLES`` per operation, a fixed seed that
``VP_SCHEMATHESIS_SEED`` overrides), so each backend takes well under a
minute.
"""

import json
import os
import re
import subprocess

import sqlalchemy as sa
from oslo_db.sqlalchemy import test_fixtures
from testtools import content

from vitrage_persistor.storage import records
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import replay_base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.api import server
from vitrage_persistor.tests.functional.db import test_store
from vitrage_persistor.tests.functional.persistor import helpers

SCHEMATHESIS = os.path.join(helpers.BIN_DIR, 'schemathesis')
EXAMPLES = os.environ.get('VP_SCHEMATHESIS_EXAMPLES', '25')
SEED = os.environ.get('VP_SCHEMATHESIS_SEED', '20261202')
MAX_LIMIT = 200
# Rules OpenAPI cannot state, so a schema-valid request may be a 400 there:
# Vitrage's graph query is its own grammar in JSON text, filter_vals pairs
# with filter_by, a topology depth needs a root, at excludes event_id.
# Every other check, no 5xx first, still runs on those routes.
SCHEMATHESIS_CONFIG = """
[[operations]]
include-path-regex = "^/v1/(at/|graph|history/graph)"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401",
                                                     "403", "404"]
"""
_ACCESS = re.compile(r'\] (\w+) (\S+) => generated .*\(HTTP/1\.\d (\d{3})\)')


def _history():
    """Events of two projects and of none, and a few quarantined rows."""
    events = []
    for i in range(30):
        payload = {'name': 'entity-%d' % i, 'vitrage_entity_type':
                   ('nova.instance', 'nova.host', 'aodh')[i % 3]}
        if i % 3 != 1:
            payload['tenant_id'] = 'project-%d' % (i % 2)
        events.append(test_store.make_event(
            i, payload=payload, entity_type=payload['vitrage_entity_type']))
    quarantined = [records.QuarantineRecord(
        reason='not_a_dict', detail='a list', raw='[%d]' % i,
        message_id='q-%d' % i) for i in range(5)]
    return events, quarantined


class ServedAPI:
    """Assertions against the API served from one backend."""

    def setUp(self):
        super().setUp()
        self.store.add_batch(*_history())
        self.api = self.start_api(self.db_url)

    def start_api(self, db_url, **api_opts):
        api_opts.setdefault('max_limit', MAX_LIMIT)
        config = server.write_config(
            os.path.join(self.state_dir, 'api.conf'), db_url, **api_opts)
        # the graph and /v1/at/ routes replay through Vitrage's processor
        with open(config, 'a') as f:
            f.write('[replay]\ndatasources_values_dir = %s\n'
                    % replay_base.datasources_values_dir())
        return self.useFixture(server.UwsgiAPI(
            config, os.path.join(self.state_dir, 'uwsgi.log')))

    def _json(self, path, status=200, **headers):
        code, body = self.api.get(path, headers)
        self.assertEqual(status, code, body[:2000])
        return json.loads(body)

    def test_reads_the_config_the_environment_names(self):
        document = self._json('/v1/openapi.json')
        self.assertEqual(MAX_LIMIT, document['components']['parameters'][
            'Limit']['schema']['maximum'])
        self._json('/v1/events?limit=%d' % (MAX_LIMIT + 1), status=400)
        self.assertEqual(30, len(self._json(
            '/v1/events?limit=%d' % MAX_LIMIT)['events']))

    def test_tenant_scoping_over_http(self):
        reader = {'X-Roles': 'reader', 'X-Project-Id': 'project-1'}
        events = self._json('/v1/events', **reader)['events']
        self.assertEqual(10, len(events))
        self.assertEqual({'project-1'}, {e['project_id'] for e in events})
        self._json('/v1/events?all_tenants=true', status=403, **reader)

    def test_schemathesis_finds_no_5xx_and_no_schema_violation(self):
        before = len(_ACCESS.findall(self.api.log()))
        config = os.path.join(self.state_dir, 'schemathesis.toml')
        with open(config, 'w') as f:
            f.write(SCHEMATHESIS_CONFIG)
        result = subprocess.run(
            [SCHEMATHESIS, '--config-file', config, 'run',
             self.api.url + '/v1/openapi.json',
             '--url', self.api.url, '--checks', 'all',
             '--max-examples', EXAMPLES, '--seed', SEED, '--workers', '1',
             '--no-color', '--generation-database', 'none',
             '--request-timeout', '30'],
            capture_output=True, text=True, timeout=300, check=False,
            cwd=self.state_dir)  # its crash cache goes there
        self.addDetail('schemathesis', content.text_content(
            result.stdout[-30000:] + result.stderr[-5000:]))
        self.assertEqual(0, result.returncode, result.stdout[-5000:])
        served = _ACCESS.findall(self.api.log())[before:]
        statuses = [status for _method, _path, status in served]
        # schemathesis's own lines give the figures for the report.
        self.addDetail('served', content.text_content(
            '%d requests, %d x 5xx, %d x 4xx' % (
                len(statuses), sum(s[0] == '5' for s in statuses),
                sum(s[0] == '4' for s in statuses))))
        self.assertGreater(len(statuses), 200)
        self.assertEqual([], [s for s in served if s[2][0] == '5'])


class TestServedAPISQLite(ServedAPI, func_fixtures.OpportunisticDB,
                          base.TestCase):
    FIXTURE = test_fixtures.OpportunisticDbFixture


class TestServedAPIPostgreSQL(ServedAPI, func_fixtures.OpportunisticDB,
                              base.TestCase):
    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture

    def test_database_outage_is_503_then_recovers(self):
        url = sa.engine.make_url(self.db_url)
        proxy = func_fixtures.TcpProxy(url.host or '127.0.0.1',
                                       url.port or 5432).start()
        self.addCleanup(proxy.close)
        through = url.set(host='127.0.0.1', port=proxy.port)
        self.api = self.start_api(through.render_as_string(
            hide_password=False))
        self._json('/v1/events')
        proxy.close()
        error = self._json('/v1/events', status=503)['error']
        self.assertIn('database is unavailable', error['message'])
        status, _ = self.api.get('/healthcheck')
        self.assertEqual(503, status)
        proxy.reopen()
        helpers.wait_for(lambda: self.api.get('/v1/events')[0] == 200, 30,
                         what='the API back after the outage')
        self.assertNotIn('HTTP/1.1 500', self.api.log())


class TestWsgiRefusesBadAuth(base.TestCase):

    def test_keystone_mode_without_authtoken_does_not_start(self):
        config = server.write_config(
            os.path.join(self.state_dir, 'api.conf'),
            'sqlite:///%s/x.sqlite' % self.state_dir,
            auth_strategy='keystone')
        api = self.useFixture(server.UwsgiAPI(
            config, os.path.join(self.state_dir, 'uwsgi.log'), wait=False))
        self.assertNotEqual(0, api.proc.wait(60))
        self.assertIn('[keystone_authtoken]', api.log())
