# SPDX-License-Identifier: MIT
"""A client module as the user's rule file (perf-async.yaml) expects them:
its file name matches the rules' file_pattern "**/*client*.py|**/service*.py".
The tests find lines by their "# @name" markers."""
import requests


def fetch_data(url):
    response = requests.get(url)                # @seed_get
    return response.status_code


def fetch_data_with_timeout(url):
    s = requests.Session()
    response = s.get(url, timeout=5)            # @seed_get_timeout
    return response.status_code
