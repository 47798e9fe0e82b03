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

"""oslo.policy rules of the API: every route is a read, guarded by a rule.

Defaults follow the secure-RBAC personas: a project ``reader`` may read the
history of its own project; Vitrage's tenant rules decide which events
(see ``doc/source/api.rst``). Deployers can tighten or loosen each rule in
a policy file; ``oslopolicy-sample-generator --namespace vitrage_persistor``
writes the defaults out.
"""

from oslo_config import cfg
from oslo_policy import policy

from vitrage_persistor import service

RULES = [
    policy.RuleDefault('context_is_admin', 'role:admin'),
    policy.RuleDefault('reader', 'role:reader or role:admin'),
    policy.DocumentedRuleDefault(
        'persistor:event:get', 'rule:reader',
        'Read stored events.',
        [{'method': 'GET', 'path': '/v1/events'},
         {'method': 'GET', 'path': '/v1/events/{id}'}]),
    policy.DocumentedRuleDefault(
        'persistor:event:get:all_tenants', 'rule:context_is_admin',
        'Read the events of every project (all_tenants=true), as '
        "Vitrage's all_tenants needs admin. A caller with no project in "
        'its token (noauth, system scope) who passes this rule reads every '
        'project without asking.',
        [{'method': 'GET', 'path': '/v1/events?all_tenants=true'},
         {'method': 'GET', 'path': '/v1/events/{id}?all_tenants=true'}]),
    policy.DocumentedRuleDefault(
        'persistor:event:get:no_project', 'rule:context_is_admin',
        "Read, besides one's own project's, the events that belong to no "
        'project (hosts, zones, switches, alarms not on a tenant '
        'resource), as Vitrage shows them to an admin only.',
        [{'method': 'GET', 'path': '/v1/events'},
         {'method': 'GET', 'path': '/v1/events/{id}'}]),
    policy.DocumentedRuleDefault(
        'persistor:quarantine:get', 'rule:context_is_admin',
        'Read quarantined notifications; they may hold anything.',
        [{'method': 'GET', 'path': '/v1/quarantine'}]),
    policy.DocumentedRuleDefault(
        'persistor:graph:get', 'rule:context_is_admin',
        'Read whole replayed graphs and their diffs: every project\'s '
        'entities, as Vitrage\'s all_tenants topology shows them.',
        [{'method': 'GET', 'path': '/v1/graph'},
         {'method': 'GET', 'path': '/v1/graph/diff'},
         {'method': 'GET', 'path': '/v1/history/times'},
         {'method': 'GET', 'path': '/v1/history/graph'}]),
    policy.DocumentedRuleDefault(
        'persistor:vitrage:get', 'rule:reader',
        "Ask Vitrage's own questions (topology, resources, alarms, RCA) "
        'at a past time, scoped to the caller\'s project as Vitrage '
        'scopes them.',
        [{'method': 'POST', 'path': '/v1/at/{at}/v1/topology'},
         {'method': 'POST', 'path': '/v1/at/{at}/v1/resources'},
         {'method': 'GET', 'path': '/v1/at/{at}/v1/resources/{vitrage_id}'},
         {'method': 'GET', 'path': '/v1/at/{at}/v1/alarm'},
         {'method': 'GET', 'path': '/v1/at/{at}/v1/alarm/{vitrage_id}'},
         {'method': 'GET', 'path': '/v1/at/{at}/v1/rca/{alarm_id}'}]),
    policy.DocumentedRuleDefault(
        'persistor:vitrage:get:all_tenants', 'rule:context_is_admin',
        'The same questions over every project (all_tenants), as '
        "Vitrage's ...:all_tenants rules need admin.",
        [{'method': 'POST', 'path': '/v1/at/{at}/v1/topology'},
         {'method': 'GET', 'path': '/v1/at/{at}/v1/alarm'},
         {'method': 'GET', 'path': '/v1/at/{at}/v1/rca/{alarm_id}'}]),
    policy.DocumentedRuleDefault(
        'persistor:status:get', 'rule:reader',
        'Read counts and the newest event.',
        [{'method': 'GET', 'path': '/v1/status'}]),
]


def make_enforcer(conf: cfg.ConfigOpts) -> policy.Enforcer:
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(RULES)
    return enforcer


def list_rules():
    return RULES


def get_enforcer() -> policy.Enforcer:
    """The enforcer for ``oslopolicy-policy-generator`` and friends.

    They call it without arguments; it reads the usual configuration
    files of the project, as the API would.
    """
    conf = service.make_conf()
    conf([], project='vitrage-persistor')
    return make_enforcer(conf)
