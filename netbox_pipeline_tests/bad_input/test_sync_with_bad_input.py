"""End to end against the NetBox stand-in: bad records beside good ones, in one sync."""



def test_bad_records_are_left_out_and_every_good_record_reaches_netbox(make_estate):
    good = {"name": "good-1", "site": "home", "interfaces": [
        {"name": "eth0", "mac": "02:00:00:00:00:01", "ip_addresses": ["192.0.2.1/24"]}], "primary_ip4": "192.0.2.1"}
    estate = make_estate(files={"rack": {
        "sites": [{"name": "東京"}],
        "devices": [
            good,
            {"name": "tokyo-1", "site": "東京"},
            {"site": "home"},  # no name: fails alone
            {"name": "shared-mac", "site": "home", "interfaces": [{"name": "eth0", "mac": "02:00:00:00:00:01"}]},
            {"name": "wrong-primary", "site": "home", "primary_ip4": "192.0.2.1",
             "interfaces": [{"name": "eth0", "ip_addresses": ["192.0.2.50/24"]}]},
        ],
    }})
    outcome = estate.sync()
    assert outcome.success, [run.error for run in outcome.runs]
    assert estate.by_name("sites")["東京"]["slug"] == "dongjing"
    devices = estate.by_name("devices")
    assert set(devices) == {"good-1", "tokyo-1", "shared-mac", "wrong-primary"}
    assert devices["good-1"]["primary_ip4"]["address"] == "192.0.2.1/24"
    assert devices["wrong-primary"]["primary_ip4"] is None
    macs = {m["mac_address"] for m in estate.objects("mac_addresses")}
    assert "02:00:00:00:00:01" not in macs  # claimed twice: neither claim written, both reported
    with estate.staging().session() as session:
        from netbox_pipeline.staging import store

        rows = store.plan_for_run(session, store.latest_plan_run_id(session))
    skipped = {r["natural_key"]: r["reason"] for r in rows if r["action"] == "skip"}
    inventory = estate.inventory_path()
    assert any(reason.startswith(f"excluded: {inventory}:") and "MAC 02:00:00:00:00:01 is claimed by 2" in reason
               for reason in skipped.values())
