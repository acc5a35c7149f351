"""The monitors' schedules: written in prefect.yaml and registered, active, by the start-up
path (deployments.local.deploy_all, which `madoguchi up` runs) on a real Prefect server."""

import pytest
import yaml

from deployments import local

SCHEDULES = {  # deployment → (cron, timezone)
    "sla-monitor": ("*/15 * * * *", "Asia/Tokyo"),
    "daily-digest": ("0 9 * * *", "Asia/Tokyo"),
}


def test_prefect_yaml_schedules_the_monitors_on_the_process_pool():
    config = yaml.safe_load(local.PREFECT_FILE.read_text())
    found = {d["name"]: d for d in config["deployments"] if d["name"] in SCHEDULES}
    for name, (cron, timezone) in SCHEDULES.items():
        (schedule,) = found[name]["schedules"]
        assert (schedule["cron"], schedule["timezone"], schedule["active"]) == (cron, timezone, True)
        assert found[name]["work_pool"]["name"] == local.WORK_POOL
        assert found[name]["parameters"] == {}  # nothing to pass, no personal data to leak


@pytest.mark.deployment
def test_deploy_all_registers_the_monitor_schedules(prefect_server, tmp_path):
    local.ensure_work_pool(prefect_server.url)
    ids = local.deploy_all(prefect_server.url, prefect_home=tmp_path)
    with local._api(prefect_server.url) as client:
        for name, (cron, timezone) in SCHEDULES.items():
            deployment = client.read_deployment(ids[name])
            (schedule,) = deployment.schedules
            assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
                cron,
                timezone,
                True,
            )
            assert deployment.work_pool_name == local.WORK_POOL and not deployment.paused
            assert deployment.global_concurrency_limit.limit == 1  # one run at a time; a late one
            assert deployment.concurrency_options.collision_strategy == "CANCEL_NEW"  # is dropped
