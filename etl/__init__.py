"""parley ETL stages: fetch, ingest, extract, ledger, alerts; plain typed Python."""
