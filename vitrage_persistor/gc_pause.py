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

"""Pausing Python's cyclic garbage collector while building a big graph.

Decoding a snapshot and building its graph allocates millions of dicts,
lists and strings, none of them garbage. Each allocation counts towards
the collector's thresholds, so it runs over and over, and its full
collections walk the whole growing heap: at 30,000 vertices that was a
third of a ``graph_at``. Reference counting still frees everything as
usual while the collector is paused; it resumes as it was afterwards.
"""

import contextlib
import gc


@contextlib.contextmanager
def paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
