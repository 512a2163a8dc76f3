-- Agencies' annual opening plans (公共数据开放年度计划): how many datasets each plans to open in a
-- year. Every version loaded is kept, as the catalog's history is (0800): a year is evaluated on the
-- plan as it stood at the year's end, or on the newest one when none was loaded by then
-- (reports/evaluation.py, PLANS_AS_OF).

CREATE TABLE IF NOT EXISTS opening_plans (
    agency_id         String,
    year              UInt16,
    planned_datasets  UInt32,
    note              String,
    updated_at        DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY (agency_id, year, updated_at);
