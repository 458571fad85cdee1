# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Sphinx configuration of the shmlink guides. The version is read from the top-level
# meson.build, so the guides and the build never disagree about it.

import os
import re

_top = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))


def _meson_version():
    with open(os.path.join(_top, 'meson.build'), encoding='utf-8') as f:
        text = f.read()
    m = re.search(r"project\([^)]*?\bversion\s*:\s*'([^']+)'", text, re.S)
    if m is None:
        raise RuntimeError('no project version in meson.build')
    return m.group(1)


project = 'shmlink'
author = 'The shmlink authors'
copyright = '2026, The shmlink authors'
release = _meson_version()
version = '.'.join(release.split('.')[:2])

extensions = []
master_doc = 'index'
source_suffix = '.rst'
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path = []
html_show_sourcelink = False
html_copy_source = False
# Pages link to the Doxygen reference, which is built next to the html, not by Sphinx.
linkcheck_ignore = [r'(\.\./)+api/']
