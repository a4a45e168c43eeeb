"""NetBox's conf/configuration.py for a local sandbox instance.

One instance root serves every database of a version: the database name and Redis database numbers
come from the environment of each process (`netbox migrate` on the template, gunicorn on a clone),
so preparing the template and serving clones need no second configuration. SECRET_KEY and the token
pepper are generated once per machine and stay in the file (mode 600); they protect only sandboxes.
"""

import secrets
import string
from pathlib import Path

ENV_DB_NAME = "NETBOX_PIPELINE_NETBOX_DB"
ENV_REDIS_TASKS = "NETBOX_PIPELINE_NETBOX_REDIS_TASKS_DB"
ENV_REDIS_CACHING = "NETBOX_PIPELINE_NETBOX_REDIS_CACHING_DB"
MARKER = "# written by netbox_pipeline.sandbox.real_netbox"

TEMPLATE = '''{marker}: a local sandbox, not a production configuration.
import os

ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["{env_db}"],
        "USER": {pg_user!r},
        "PASSWORD": "",
        "HOST": {pg_host!r},
        "PORT": {pg_port!r},
        "CONN_MAX_AGE": 300,
        # Tests drop and re-clone the database under running workers; without the health check the
        # first request on a pooled connection to the dropped database answers 500.
        "CONN_HEALTH_CHECKS": True,
    }}
}}

REDIS = {{
    "tasks": {{"HOST": "127.0.0.1", "PORT": 6379, "USERNAME": "", "PASSWORD": "",
               "DATABASE": int(os.environ.get("{env_tasks}", "12")), "SSL": False}},
    "caching": {{"HOST": "127.0.0.1", "PORT": 6379, "USERNAME": "", "PASSWORD": "",
                 "DATABASE": int(os.environ.get("{env_caching}", "13")), "SSL": False}},
}}

SECRET_KEY = {secret_key!r}
# v2 tokens need a pepper of at least 50 characters.
API_TOKEN_PEPPERS = {{1: {pepper!r}}}

# Loopback only: no census report, no release check, no plugin catalogue download.
CENSUS_REPORTING_ENABLED = False
ISOLATED_DEPLOYMENT = True
RELEASE_CHECK_URL = None
DEBUG = False
'''


def _random(length: int) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def write_configuration(root: Path, pg_host: str, pg_port: int, pg_user: str) -> Path:
    """Write root/conf/configuration.py unless ours is already there (keeps the secrets stable)."""
    path = root / "conf" / "configuration.py"
    if path.exists() and path.read_text().startswith(MARKER):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    text = TEMPLATE.format(
        marker=MARKER, env_db=ENV_DB_NAME, env_tasks=ENV_REDIS_TASKS, env_caching=ENV_REDIS_CACHING,
        pg_user=pg_user, pg_host=pg_host, pg_port=str(pg_port), secret_key=_random(60), pepper=_random(60),
    )
    path.write_text(text)
    path.chmod(0o600)
    return path
