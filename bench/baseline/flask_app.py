"""The Flask seed: the classic flask_jwt_extended tutorial tokengate grew from.

`POST /login` checks a JSON username/password against one fixed user and
answers `create_access_token(identity=username)`; `GET /protected` sits
behind `@jwt_required()` and answers `{"logged_in_as": username}`. Tokens
live 15 minutes. The one addition is `/healthz`, so the harness can time the
cold start the same way for every server.

Run by bench/run.mjs from Debian's packages (python3-flask,
python3-python-flask-jwt-extended, gunicorn) as
`gunicorn -w 1 -k sync -b 127.0.0.1:PORT flask_app:app`; with
BENCH_FLASK_JWT_EXTENDED set, that folder's flask_jwt_extended comes first
on PYTHONPATH instead (see docs/benchmarks.md).

Env: JWT_SECRET_KEY, BENCH_USERNAME, BENCH_PASSWORD.
"""

import os
from datetime import timedelta

from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity, jwt_required

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["JWT_SECRET_KEY"]
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=15)
jwt = JWTManager(app)

USERNAME = os.environ.get("BENCH_USERNAME", "test")
PASSWORD = os.environ.get("BENCH_PASSWORD", "test")


@app.route("/login", methods=["POST"])
def login():
    username = request.json.get("username", None)
    password = request.json.get("password", None)
    if username != USERNAME or password != PASSWORD:
        return jsonify({"msg": "Bad username or password"}), 401

    access_token = create_access_token(identity=username)
    return jsonify(access_token=access_token)


@app.route("/protected", methods=["GET"])
@jwt_required()
def protected():
    current_user = get_jwt_identity()
    return jsonify(logged_in_as=current_user), 200


@app.route("/healthz", methods=["GET"])
def healthz():
    return jsonify(status="ok")
