"""Ralph's LRS for the tests, run by the python of Ralph's own venv (tests/lrs.py makes it).

`serve PORT`: the LRS on 127.0.0.1:PORT (file-system backend, basic auth for
LRS_TEST_USER / LRS_TEST_PASSWORD). `validate`: statements (a JSON list on stdin)
checked against Ralph's strict xAPI 1.0.3 statement model; prints the problems.
"""

import json
import os
import sys
from pathlib import Path


def serve(port: int) -> None:
    import bcrypt

    user, password = os.environ["LRS_TEST_USER"], os.environ["LRS_TEST_PASSWORD"]
    Path(os.environ["RALPH_AUTH_FILE"]).write_text(json.dumps([{
        "username": user, "scopes": ["all"],
        "hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode(),
        "agent": {"mbox": "mailto:coach-tests@example.org", "objectType": "Agent"},
    }]))
    import uvicorn
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    # Ralph 5.1's file-system LRS backend writes every POST with "create", which refuses a
    # file that exists: each POST after the first would answer 500. A statement store
    # appends; the rest of Ralph (validation, duplicate ids, 409, queries) is unchanged.
    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    from ralph.api import app

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def validate() -> None:
    from pydantic import ValidationError
    from ralph.models.xapi.base.statements import BaseXapiStatement

    problems = []
    for statement in json.load(sys.stdin):
        try:
            BaseXapiStatement.model_validate(statement)
        except ValidationError as err:
            problems.append(f"{statement.get('id')}: {err}")
    print(json.dumps(problems))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        validate()
