"""The option lists of the shared filter sidebar (agencies, domains, datasets)."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

AGENCIES = """
SELECT agency_id, name, name_en
FROM agencies FINAL
ORDER BY agency_id
"""

DOMAINS = """
SELECT DISTINCT domain
FROM datasets FINAL
WHERE domain != ''
  AND ({agency_id:String} = '' OR agency_id = {agency_id:String})
ORDER BY domain
"""

DATASETS = """
SELECT dataset_id, name, agency_id
FROM datasets FINAL
WHERE ({agency_id:String} = '' OR agency_id = {agency_id:String})
  AND ({domain:String} = '' OR domain = {domain:String})
ORDER BY dataset_id
"""


def agencies(client: Client) -> list[dict]:
    return list(client.query(AGENCIES).named_results())


def domains(client: Client, agency_id: str = "") -> list[str]:
    return [row[0] for row in client.query(DOMAINS, parameters={"agency_id": agency_id}).result_rows]


def datasets(client: Client, agency_id: str = "", domain: str = "") -> list[dict]:
    params = {"agency_id": agency_id, "domain": domain}
    return list(client.query(DATASETS, parameters=params).named_results())
