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

"""Sphinx configuration: ``tox -e docs`` builds it with ``-W``.

The configuration reference comes from the options themselves
(``oslo_config.sphinxext``), the API reference from the committed
OpenAPI document (``sphinxcontrib.openapi``). openstackdocstheme when it
is installed, Sphinx's own theme otherwise.
"""

import importlib.util

project = 'vitrage-persistor'
copyright = '2026, vitrage-persistor developers'
extensions = [
    'oslo_config.sphinxext',
    'sphinxcontrib.openapi',
]
if importlib.util.find_spec('openstackdocstheme') is not None:
    extensions.append('openstackdocstheme')
    html_theme = 'openstackdocs'
    openstackdocs_repo_name = 'x/vitrage-persistor'
    openstackdocs_use_storyboard = False
    openstackdocs_bug_project = 'vitrage-persistor'
    openstackdocs_bug_tag = ''
    openstackdocs_auto_name = False
else:
    html_theme = 'alabaster'

source_suffix = '.rst'
master_doc = 'index'
exclude_patterns = []
pygments_style = 'native'
html_static_path = ['_static']
# oslo_config.sphinxext: the namespace of setup.cfg's oslo.config.opts
config_generator_config_file = None
