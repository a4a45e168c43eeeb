"""Create the sandbox's admin user and API tokens in a NetBox database.

Runs inside NetBox's own venv (`python -m` is not possible there, so the server module passes this
file's path to NetBox's interpreter). The token values are chosen by the caller and read from stdin as
JSON, so nothing secret passes through the command line or the logs.

stdin: {"username": "admin", "password": "...",
        "tokens": [{"version": 2, "key": "<12>", "secret": "<40>", "write_enabled": true}, ...]}
"""

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "netbox.settings")
    import django

    django.setup()
    from users.models import Token, User

    wanted = json.load(sys.stdin)
    user, created = User.objects.get_or_create(username=wanted["username"])
    if created:
        user.is_superuser = True
        user.set_password(wanted["password"])
        user.save()
    for spec in wanted["tokens"]:
        extra = {"key": spec["key"]} if spec["version"] == 2 else {}
        Token(user=user, version=spec["version"], token=spec["secret"], write_enabled=spec["write_enabled"],
              enabled=spec.get("enabled", True), description=spec.get("description", ""), **extra).save()
    print(json.dumps({"user_id": user.pk, "tokens": Token.objects.filter(user=user).count()}))


if __name__ == "__main__":
    main()
