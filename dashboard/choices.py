"""The option lists of the shared filter sidebar (agencies, domains, datasets).

Drawn on every rerun of every page, so kept per version of the warehouse's data
(warehouse.cache): a load shows its agencies and datasets on the next click.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from warehouse.cache import cached

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


@cached
def agencies(client: Client) -> list[dict]:
    return list(client.query(AGENCIES).named_results())


@cached
def domains(client: Client, agency_id: str = "") -> list[str]:
    return [row[0] for row in client.query(DOMAINS, parameters={"agency_id": agency_id}).result_rows]


@cached
def datasets(client: Client, agency_id: str = "", domain: str = "") -> list[dict]:
    params = {"agency_id": agency_id, "domain": domain}
    return list(client.query(DATASETS, parameters=params).named_results())
