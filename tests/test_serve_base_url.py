"""The service description names the endpoint by the configured base URL (or the server's own address), never
by the request's Host header, which any client can set (issue 14, defect 14)."""

import pytest
from fastapi.testclient import TestClient

from mscev.serve import Settings, create_app

SD_ENDPOINT = "<http://www.w3.org/ns/sparql-service-description#endpoint>"


def endpoint_of(client: TestClient, **headers) -> str:
    response = client.get("/sparql", headers={"Accept": "application/n-triples", **headers})
    assert response.status_code == 200, response.text
    [line] = [line for line in response.text.splitlines() if f" {SD_ENDPOINT} " in line]
    return line.split(" ", 1)[0].strip("<>")


@pytest.mark.parametrize("base_url, expected", [(None, "http://testserver/sparql"),
                                                ("https://kg.example.org/mscev/", "https://kg.example.org/mscev/sparql")])
def test_service_description_does_not_echo_the_host_header(built, base_url, expected):
    with TestClient(create_app(Settings(build_dir=built.out, workers=1, base_url=base_url))) as client:
        assert endpoint_of(client) == expected
        assert endpoint_of(client, Host="attacker.example:666") == expected
        response = client.get("/sparql", headers={"Accept": "text/turtle", "Host": "attacker.example"})
        assert "attacker.example" not in response.text
