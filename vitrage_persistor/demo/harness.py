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

"""Real Vitrage 15.0.1 drivers, driver_exec, consistency, Processor, evaluator.

No vitrage-graph, no OpenStack: the configuration is built the way
Vitrage's own unit tests do (``vitrage.tests.base.BaseTest`` plus
``TestEntityGraphUnitBase.load_datasources``), the OpenStack clients are
replaced by fakes serving ``vitrage.tests.mocks`` data, and everything else
is Vitrage's code: ``DriverExec``, ``DriversNotificationEndpoint``,
``ConsistencyEnforcer``, ``EventsCoordination`` and ``Processor`` on an
``NXGraph`` and, with templates, the ``ScenarioEvaluator``
(:class:`Evaluation`).
Used by the functional tests, the demo and ``tools/bench/hooks.py``.
"""

import atexit
import copy
import datetime
import logging
import os
import shutil
import tempfile
import types

from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_db.sqlalchemy import enginefacade
from oslo_utils import timeutils
from vitrage import opts as vitrage_opts
from vitrage import storage
from vitrage.common import config as vitrage_config
from vitrage.common.constants import (
    DatasourceAction,
    TemplateStatus,
    TemplateTypes,
)
from vitrage.datasources import utils as ds_utils
from vitrage.datasources.nagios import driver as nagios_driver
from vitrage.entity_graph import driver_exec, graph_init
from vitrage.entity_graph.consistency import consistency_enforcer
from vitrage.entity_graph.processor import processor
from vitrage.evaluator import scenario_evaluator, scenario_repository
from vitrage.evaluator.template_db import template_repository
from vitrage.graph.driver.networkx_graph import NXGraph
from vitrage.storage.sqlalchemy import models
from vitrage.tests.mocks import mock_driver as md
from vitrage.tests.mocks import utils as mock_utils
from vitrage.utils import file as vitrage_file

CONF = cfg.CONF
DATASOURCES = ['nova.zone', 'nova.host', 'nova.instance', 'cinder.volume',
               'static', 'aodh', 'doctor', 'nagios']
RES = mock_utils.get_resources_dir()
TEMPLATES = os.path.join(os.path.dirname(__file__), 'templates')

NAGIOS_ALARMS = []


class MockNagiosDriver(nagios_driver.NagiosDriver):
    """The real NagiosDriver with the HTTP scrape replaced.

    As in Vitrage's own ``MockNagiosDriver`` test.
    """

    def _get_alarms(self):
        return [dict(a) for a in NAGIOS_ALARMS]


class Opaque:
    """A value JSON cannot encode (and oslo's to_primitive refuses)."""

    __slots__ = ()


def raw(event: dict) -> dict:
    """Strip ``vitrage_*`` from an already-enriched mock trace event.

    The real driver then has to add them again.
    """
    return {k: v for k, v in event.items() if not k.startswith('vitrage_')}


def gen(generators) -> list:
    return md.generate_sequential_events_list(generators)


class Resource:
    """A novaclient/cinderclient-like resource (vars(), to_dict())."""

    def __init__(self, data):
        self.__dict__.update(copy.deepcopy(data))

    def to_dict(self):
        return copy.deepcopy(self.__dict__)


class FakeCloud:
    """Fake nova, cinder and aodh clients, fed from vitrage.tests.mocks."""

    def __init__(self, scale: int = 1):
        self.zones = [Resource(raw(e)) for e in gen(
            md.simple_zone_generators(2, 4, snapshot_events=2 * scale))]
        self.hosts = [Resource(raw(e)) for e in gen(
            md.simple_host_generators(2, 4, snapshot_events=4 * scale))]
        self.vms = [Resource(raw(e)) for e in gen(
            md.simple_instance_generators(4, 8,
                                          snapshot_events=8 * scale))]
        self.volumes = [Resource(raw(e)) for e in gen(
            md.simple_volume_generators(3, 8, snapshot_events=3 * scale))]
        self.alarms = [{
            'alarm_id': 'aodh-alarm-1', 'name': 'cpu_high',
            'description': 'test', 'enabled': True, 'state': 'alarm',
            'type': 'event', 'severity': 'critical', 'project_id': 'p1',
            'user_id': 'u1', 'timestamp': '2016-11-09T01:39:13.839584',
            'state_timestamp': '2016-11-09T01:39:13.839584',
            'repeat_actions': False, 'state_reason': 'x',
            'event_rule': {'query': [], 'event_type': 'compute.*'}}]
        NAGIOS_ALARMS[:] = [raw(e) for e in gen(
            md.simple_nagios_alarm_generators(
                host_num=2, events_num=2 * scale,
                snap_vals={'status': 'CRITICAL',
                           'resource_name': 'compute-1'}))]
        ns = types.SimpleNamespace
        self.nova = ns(
            availability_zones=ns(list=lambda: self.zones),
            services=ns(list=lambda binary=None: self.hosts),
            servers=ns(list=lambda search_opts=None: self.vms))
        self.cinder = ns(
            volumes=ns(list=lambda search_opts=None: self.volumes))
        self.aodh = ns(alarm=ns(
            list=lambda: [dict(a) for a in self.alarms]))

    def clients(self) -> dict:
        return {'nova.zone': self.nova, 'nova.host': self.nova,
                'nova.instance': self.nova, 'cinder.volume': self.cinder,
                'aodh': self.aodh}


def configure_vitrage(values_dir: str | None = None
                      ) -> config_fixture.Config:
    """Build Vitrage's global CONF as its unit tests do.

    ``values_dir`` is the datasources_values directory (states and
    severities); Vitrage's test resources by default, which give doctor
    and aodh alarms "undefined datasource" states. Undo with ``cleanUp()``
    of the returned fixture.
    """
    fixture = config_fixture.Config(CONF)
    fixture.setUp()
    if getattr(CONF, '_args', None) is not None:
        # replay's processor parsed the global CONF earlier in this test
        # process; parse_config registers CLI options and needs it unparsed
        CONF.clear()
    vitrage_config.parse_config([])
    logging.getLogger('vitrage').setLevel(logging.ERROR)
    CONF.set_override('types', DATASOURCES, 'datasources')
    for datasource in DATASOURCES:
        vitrage_opts.register_opts(datasource, CONF.datasources.path)
    static_dir = tempfile.mkdtemp(prefix='vp_static_')
    fixture.addCleanup(shutil.rmtree, static_dir, True)
    # the only file of the test resources that passes the current schema
    shutil.copy(RES + '/static_datasources/switch_to_host.yaml', static_dir)
    CONF.set_override('directory', static_dir, 'static')
    CONF.set_override('config_file', os.path.join(
        os.path.dirname(__file__), 'nagios_conf.yaml'), 'nagios')
    CONF.set_override('driver', __name__ + '.MockNagiosDriver', 'nagios')
    CONF.set_override('datasources_values_dir',
                      values_dir or RES + '/datasources_values',
                      'entity_graph')
    ds_utils.drivers.clear()   # driver instances are cached globally
    fixture.addCleanup(ds_utils.drivers.clear)
    return fixture


class StubPersist:
    """driver_exec calls ``store_graph()`` after a snapshot; no DB here."""

    def store_graph(self):
        pass


class Evaluation:
    """Vitrage's ``ScenarioEvaluator`` on a pipeline's graph, with templates.

    Wired as ``vitrage/tests/functional/evaluator`` does it: the templates
    go into Vitrage's own database (``add_templates_to_db``, then ACTIVE),
    the evaluator subscribes to the entity graph, and its actions come back
    to the processor the way vitrage-graph's evaluator workers send them:
    one notification per evaluation, carrying the list of events, received
    by ``PushNotificationsEndpoint`` around the coordination's high-priority
    work. The evaluator reacts inside the processor's call, under the
    coordination lock, so its notifications are queued and delivered by
    :meth:`settle`, as the evaluator topic delivers them after the lock is
    released in vitrage-graph.

    Vitrage's storage is one global enginefacade per process, so its
    database is one SQLite file per process, emptied for each evaluation.
    """

    def __init__(self, graph, coordination, templates: list[str]):
        CONF.set_override('connection', _vitrage_db_url(), 'database')
        self.db = storage.get_connection_from_config()
        engine = enginefacade.writer.get_engine()
        models.Base.metadata.drop_all(engine)
        models.Base.metadata.create_all(engine)
        documents = []
        for path in templates:
            names = sorted(os.listdir(path)) if os.path.isdir(path) else [
                os.path.basename(path)]
            folder = path if os.path.isdir(path) else os.path.dirname(path)
            for name in names:
                if name.endswith('.yaml'):
                    # as Vitrage reads them: every scalar a string
                    documents.append(vitrage_file.load_yaml_file(
                        os.path.join(folder, name), with_exception=True))
        loaded = template_repository.add_templates_to_db(
            self.db, documents, TemplateTypes.STANDARD)
        for template in loaded:
            if template.status == TemplateStatus.ERROR:
                raise ValueError('template %s refused: %s' % (
                    template.name, template.status_details))
            self.db.templates.update(template.uuid, 'status',
                                     TemplateStatus.ACTIVE)
        self.templates = [t.name for t in loaded]
        self.pending = []
        self.notifications = 0
        self.evaluator = scenario_evaluator.ScenarioEvaluator(
            graph, scenario_repository.ScenarioRepository(),
            self._actions_callback, enabled=True)
        # vitrage-graph builds this endpoint in EventsCoordination.start()
        # around the same method, for EVALUATOR_TOPIC; the harness has no
        # topic, so it builds the endpoint the same way.
        self.endpoint = graph_init.PushNotificationsEndpoint(
            coordination._do_high_priority_work)

    def _actions_callback(self, event_type, events):
        self.pending.append((event_type, events))

    def settle(self) -> int:
        """Deliver the evaluator's notifications until it has no more."""
        delivered = 0
        while self.pending:
            event_type, events = self.pending.pop(0)
            self.endpoint.info({}, 'vitrage.evaluator', event_type,
                               events, {})
            delivered += 1
        self.notifications += delivered
        return delivered


_VITRAGE_DB = {}


def _vitrage_db_url() -> str:
    """One SQLite file per process for Vitrage's own tables."""
    if os.getpid() not in _VITRAGE_DB:
        # in memory where there is a tmpfs: the evaluator commits often
        # (mkdtemp makes a private directory, so a shared parent is fine)
        shm = '/dev/shm'  # noqa: S108
        folder = tempfile.mkdtemp(prefix='vp_vitrage_db_',
                                  dir=shm if os.path.isdir(shm) else None)
        atexit.register(shutil.rmtree, folder, True)
        _VITRAGE_DB[os.getpid()] = 'sqlite:///%s/vitrage.db' % folder
    return _VITRAGE_DB[os.getpid()]


class Pipeline:
    """Vitrage's collector path and processor, wired like VitrageGraphInit.

    ``received`` holds a deep copy of every event as the processor got it
    (taken right before ``Processor.process_event``) when ``record`` is on.
    With ``templates`` (files or folders of Vitrage templates), Vitrage's
    evaluator runs too (:class:`Evaluation`), and every scenario step ends
    when the evaluator has nothing more to say.
    """

    def __init__(self, cloud: FakeCloud, record: bool = True,
                 templates: list[str] | None = None):
        self.cloud = cloud
        self.record = record
        self.received = []
        self.graph = NXGraph('Entity Graph')
        self.processor = processor.Processor(self.graph)
        self.coordination = graph_init.EventsCoordination(self.process_event)
        self.driver_exec = driver_exec.DriverExec(
            self.coordination.handle_multiple_low_priority, StubPersist(),
            self.graph)
        self.consistency = consistency_enforcer.ConsistencyEnforcer(
            self.graph, self.coordination.handle_multiple_high_priority)
        clients = cloud.clients()
        drivers = ds_utils.get_drivers_by_name(DATASOURCES)
        for name, drv in zip(DATASOURCES, drivers, strict=True):
            if name in clients:
                drv._client = clients[name]
        self.endpoint = driver_exec.DriversNotificationEndpoint(
            self.coordination.handle_multiple_low_priority).init()
        self.evaluation = None
        if templates:
            self.evaluation = Evaluation(self.graph, self.coordination,
                                         templates)

    def process_event(self, event):
        """What ``VitrageGraphInit.process_event`` does, minus the DB."""
        if isinstance(event, list):
            for item in event:
                self._process_one(item)
        elif event.get('template_action'):
            pass  # vitrage-graph hands it to its evaluator workers
        else:
            self._process_one(event)

    def _process_one(self, event):
        if self.record:
            self.received.append(copy.deepcopy(event))
        self.processor.process_event(event)

    def settle(self) -> None:
        if self.evaluation is not None:
            self.evaluation.settle()

    # --------------------------------------------------------- scenario
    def init_snapshot(self):
        self.driver_exec.snapshot_get_all(DatasourceAction.INIT_SNAPSHOT)
        self.settle()

    def snapshot(self):
        self.driver_exec.snapshot_get_all(DatasourceAction.SNAPSHOT)
        self.settle()

    def get_changes(self, names=('static', 'nova.instance', 'aodh',
                                 'nagios')):
        for name in names:
            self.driver_exec.get_changes(name)
        self.settle()

    def push(self, scale: int = 1):
        info = self.endpoint.info
        for e in gen(md.simple_instance_generators(2, 2 * scale,
                                                   update_events=2 * scale)):
            info({}, 'nova-compute:host-0', 'instance.create.end', raw(e),
                 {})
        for e in gen(md.simple_volume_generators(2, 2 * scale,
                                                 update_events=2 * scale)):
            info({}, 'volume.host', 'volume.create.end', raw(e), {})
        doctor = gen(md.simple_doctor_alarm_generators())[0]
        info({}, 'vitrage.api', 'vitrage.custom.event.down', doctor, {})
        info({}, 'aodh', 'alarm.creation', {
            'alarm_id': 'aodh-alarm-2', 'project_id': 'p1',
            'user_id': 'u1', 'severity': 'low',
            'timestamp': '2016-11-29T08:05:37.877253',
            'detail': {'description': 'test', 'enabled': True,
                       'name': 'mem_high', 'state': 'alarm',
                       'type': 'event', 'severity': 'low',
                       'repeat_actions': False,
                       'timestamp': '2016-11-29T08:05:37.877253',
                       'state_timestamp': '2016-11-29T08:05:37Z',
                       'rule': {'query': [], 'event_type': '*'}}}, {})
        self.settle()

    def delete_some(self):
        """Delete entities the ways Vitrage does.

        A pushed ``instance.delete.end`` (driver-enriched delete), then a
        snapshot after one VM and one volume vanished from the cloud
        (driver_exec's outdated-entity ``delete_entity`` events).
        """
        vm = self.cloud.vms[0]
        payload = copy.deepcopy(vars(vm))
        payload['state'] = 'deleted'
        self.endpoint.info({}, 'nova-compute:host-0',
                           'instance.delete.end', payload, {})
        del self.cloud.vms[1]
        del self.cloud.volumes[0]
        self.snapshot()

    def consistency_check(self, days_later: float = 1.0):
        """Run the ConsistencyEnforcer as if ``days_later`` had passed.

        Stale entities get ``delete_entity``, already deleted ones
        ``remove_deleted_entity`` (the events bypass driver_exec).
        """
        later = timeutils.utcnow() + datetime.timedelta(days=days_later)
        timeutils.set_time_override(later)
        try:
            self.consistency.periodic_process()
        finally:
            timeutils.clear_time_override()
        self.settle()

    # ---------------------------------------------------------- incident
    def instances_on(self, host: str) -> list[dict]:
        return [vars(vm) for vm in self.cloud.vms
                if vars(vm).get('OS-EXT-SRV-ATTR:host') == host]

    def host_down(self, host: str, up: bool = False):
        """A doctor monitor reports ``host`` down (or up again)."""
        now = timeutils.utcnow().strftime('%Y-%m-%dT%H:%M:%S.%f')
        event_type = 'vitrage.custom.event.%s' % ('up' if up else 'down')
        self.endpoint.info({}, 'vitrage.api', event_type, {
            'time': now, 'type': 'compute.host.down',
            'details': {'hostname': host, 'source': 'sample_monitor',
                        'cause': 'link-down', 'severity': 'critical',
                        'status': 'up' if up else 'down',
                        'monitor_id': 'monitor-1',
                        'monitor_event_id': 'incident-%s' % host}}, {})
        self.settle()

    def nagios_alarm(self, host: str, service: str, status: str):
        """Nagios reports ``service`` on ``host`` (OK clears it)."""
        alarms = [a for a in NAGIOS_ALARMS
                  if (a['resource_name'], a['service']) != (host, service)]
        alarms.append({
            'resource_type': 'nova.host', 'resource_name': host,
            'service': service, 'status': status,
            'last_check': timeutils.utcnow().strftime('%Y-%m-%d %H:%M:%S'),
            'duration': '0d 0h 1m 0s', 'attempt': '1/1',
            'status_info': '%s - %s' % (status, service)})
        NAGIOS_ALARMS[:] = alarms
        self.get_changes(('nagios',))

    def aodh_alarm(self, alarm_id: str, instance_id: str, clear=False):
        """An aodh event alarm on an instance is created (or deleted)."""
        now = timeutils.utcnow().isoformat()
        detail = {'description': 'instance errors', 'enabled': True,
                  'name': 'instance_errors', 'state': 'alarm',
                  'type': 'event', 'severity': 'moderate',
                  'repeat_actions': False, 'timestamp': now,
                  'state_timestamp': now,
                  'rule': {'event_type': 'compute.instance.*', 'query': [
                      {'field': 'traits.resource_id', 'type': '',
                       'value': instance_id, 'op': 'eq'}]}}
        self.endpoint.info({}, 'aodh', 'alarm.deletion' if clear
                           else 'alarm.creation', {
                               'alarm_id': alarm_id, 'project_id': 'p1',
                               'user_id': 'u1', 'severity': 'moderate',
                               'timestamp': now, 'detail': detail}, {})
        self.settle()

    def incident(self, host: str = 'host-1'):
        """A host goes down: nagios, doctor and aodh alarms arrive."""
        self.nagios_alarm(host, 'Check_MK', 'CRITICAL')
        self.host_down(host)
        vms = self.instances_on(host)
        if vms:
            self.aodh_alarm('aodh-incident-%s' % host, vms[0]['id'])

    def recovery(self, host: str = 'host-1'):
        """The alarms clear, one by one, and the evaluator undoes."""
        vms = self.instances_on(host)
        if vms:
            self.aodh_alarm('aodh-incident-%s' % host, vms[0]['id'],
                            clear=True)
        self.host_down(host, up=True)
        self.nagios_alarm(host, 'Check_MK', 'OK')

    def full_scenario(self, scale: int = 1):
        self.init_snapshot()
        self.get_changes()
        self.push(scale)
        self.snapshot()
        self.delete_some()
        self.consistency_check(1)
        self.consistency_check(30)
