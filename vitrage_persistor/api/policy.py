"""oslo.policy rules of the API: every route is a read, guarded by a rule.

Defaults follow the secure-RBAC personas: a project ``reader`` may read the
history; deployers can tighten or loosen each rule in a policy file.
"""

from oslo_config import cfg
from oslo_policy import policy

RULES = [
    policy.RuleDefault('context_is_admin', 'role:admin'),
    policy.RuleDefault('reader', 'role:reader or role:admin'),
    policy.DocumentedRuleDefault(
        'persistor:event:get', 'rule:reader',
        'Read stored events.',
        [{'method': 'GET', 'path': '/v1/events'},
         {'method': 'GET', 'path': '/v1/events/{id}'}]),
    policy.DocumentedRuleDefault(
        'persistor:quarantine:get', 'rule:context_is_admin',
        'Read quarantined notifications; they may hold anything.',
        [{'method': 'GET', 'path': '/v1/quarantine'}]),
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
