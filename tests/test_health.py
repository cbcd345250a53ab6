from tests.conftest import REDIS_URL, make_app


def test_healthz_needs_no_login_and_shows_no_data(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_reports_database_and_redis(app, tmp_path_factory, backend):
    ready = make_app(backend, tmp_path_factory, REDIS_URL=REDIS_URL,
                     SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    response = ready.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_names_the_failing_part(app, tmp_path_factory, backend):
    broken = make_app(backend, tmp_path_factory, REDIS_URL="redis://127.0.0.1:1/0",
                      SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["redis"]
    assert response.json["checks"]["database"] == "ok"


def test_readyz_names_an_unreachable_database(tmp_path_factory):
    broken = make_app("postgresql", tmp_path_factory,
                      SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["database"]
